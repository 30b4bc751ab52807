import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { KafkaListenerEndpointRegistry } from '@kafka-nest/core';
import { APP_CONFIG, type ResolvedAppConfig } from '../app.config.js';
import { OrderStats } from '../orders/order-stats.service.js';

/** How long a progress line waits for a lag figure before printing '?'. */
export const PROGRESS_LAG_TIMEOUT_MS = 1_000;

/** Prints what the listeners did and the current lag, every few seconds. */
@Injectable()
export class ProgressReporter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('progress');
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stats: OrderStats,
    private readonly registry: KafkaListenerEndpointRegistry,
    @Inject(APP_CONFIG) private readonly config: ResolvedAppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.progressIntervalMs <= 0) return;
    this.timer = setInterval(() => void this.report(), this.config.progressIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * Total lag of a listener's group over its partitions, or '?' while the broker does not answer (within
   * PROGRESS_LAG_TIMEOUT_MS: a broker that is down would otherwise hold the line through the client's retries).
   */
  private async lag(id: string): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (timer = setTimeout(resolve, PROGRESS_LAG_TIMEOUT_MS, '?')));
    const read = this.registry.lag(id).then(
      (parts) => String(parts.reduce((sum, p) => sum + p.lag, 0)),
      () => '?',
    );
    try {
      return await Promise.race([read, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async report(): Promise<void> {
    const s = this.stats;
    const [orders, payments] = await Promise.all([this.lag('orders'), this.lag('payments')]);
    this.logger.log(
      `orders: ${s.processed} processed, ${s.failedDeliveries} failed deliveries retried, ${s.deadLettered} dead-lettered | ` +
        `payments: ${s.paymentsCharged} charged, ${s.paymentRetries} retried, ${s.paymentsDeadLettered} dead-lettered | lag: orders-service ${orders}, payments-service ${payments}`,
    );
  }
}
