import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { KafkaTemplate } from '@kafka-nest/core';
import { FRAUD_LIMIT_CENTS } from '../orders/orders.listener.js';

/**
 * Sends a stream of demo orders through `KafkaTemplate`: mostly good ones, every 10th malformed (as a
 * buggy upstream producer would send it) and every 15th above the fraud limit.
 */
/** Time between two demo orders. */
export const DEMO_INTERVAL_MS = 500;
/**
 * The first order goes this long after start-up, so orders go at 250, 750, 1250 ms...: the progress line,
 * every 2 s from start-up, falls between two orders and shows the lag the listeners leave (zero), not an
 * order sent on the same tick.
 */
export const DEMO_OFFSET_MS = 250;

@Injectable()
export class DemoProducer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('demo');
  private timer: NodeJS.Timeout | undefined;
  private n = 0;

  constructor(private readonly kafka: KafkaTemplate) {}

  onApplicationBootstrap(): void {
    this.logger.log(`sending a demo order every ${DEMO_INTERVAL_MS} ms (every 10th malformed, every 15th above the fraud limit); set DEMO=false to stop it`);
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => void this.sendOne(), DEMO_INTERVAL_MS);
      this.timer.unref();
      void this.sendOne();
    }, DEMO_OFFSET_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.timer);
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
