import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { KafkaTemplate } from '@kafka-nest/core';
import { FRAUD_LIMIT_CENTS } from '../orders/orders.listener.js';

/**
 * Sends a stream of demo orders through `KafkaTemplate`: mostly good ones, every 10th malformed (as a
 * buggy upstream producer would send it) and every 15th above the fraud limit.
 */
@Injectable()
export class DemoProducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('demo');
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(private readonly kafka: KafkaTemplate) {}

  onApplicationBootstrap(): void {
    this.logger.log('sending a demo order every 500 ms (every 10th malformed, every 15th above the fraud limit); set DEMO=false to stop it');
    this.timer = setInterval(() => void this.sendOne(), 500);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private async sendOne(): Promise<void> {
    const n = ++this.n;
    const customerId = `customer-${n % 7}`;
    const order =
      n % 10 === 0
        ? { id: `demo-${n}`, amountCents: 'twelve euros' } // fails validation: straight to orders.DLT
        : { id: `demo-${n}`, customerId, amountCents: n % 15 === 0 ? FRAUD_LIMIT_CENTS + 1 : 1_000 + n, quantity: 1 };
    try {
      await this.kafka.send('orders', order, { key: customerId });
    } catch (err) {
      this.logger.warn(`demo order ${n} not sent: ${(err as Error).message}`);
    }
  }
}
