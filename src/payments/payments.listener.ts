import { Injectable, Logger } from '@nestjs/common';
import { Ctx, DltHandler, KafkaContext, KafkaListener, Payload, RetryableTopic } from '@kafka-nest/core';
import { OrderStats } from '../orders/order-stats.service.js';

export interface PaymentRequest {
  orderId: string;
  customerId: string;
  amountCents: number;
}

/** A pretend payment provider that times out on the first call for about one payment in four. */
export class PaymentGateway {
  private readonly seen = new Set<string>();

  charge(p: PaymentRequest): void {
    const flaky = p.orderId.charCodeAt(p.orderId.length - 1) % 4 === 0;
    if (flaky && !this.seen.has(p.orderId)) {
      this.seen.add(p.orderId);
      throw new Error(`payment provider timed out charging order ${p.orderId}`);
    }
  }
}

/**
 * Charges payments. Order between payments does not matter, so a failing one should not hold the others
 * back: it is moved aside to `payments-retry` and tried again 500 ms later, while the main topic keeps
 * flowing (non-blocking retries); after three attempts it lands in `payments-dlt`. Commits per fetch
 * (AckMode.BATCH, the default).
 */
@Injectable()
export class PaymentsListener {
  private readonly logger = new Logger(PaymentsListener.name);
  private readonly gateway = new PaymentGateway();

  constructor(private readonly stats: OrderStats) {}

  @RetryableTopic({ attempts: 3, backoff: { delay: 500 } })
  @KafkaListener({ id: 'payments', topics: ['payments'], groupId: 'payments-service', fromBeginning: true })
  async charge(@Payload() payment: PaymentRequest, @Ctx() ctx: KafkaContext): Promise<void> {
    if (ctx.deliveryAttempt > 1) this.stats.paymentRetries++;
    this.gateway.charge(payment);
    this.stats.paymentsCharged++;
    this.logger.debug(`charged ${payment.amountCents} cents for order ${payment.orderId}`);
  }

  @DltHandler()
  onPaymentDead(@Payload() payment: PaymentRequest, @Ctx() ctx: KafkaContext): void {
    this.stats.paymentsDeadLettered++;
    this.logger.error(`payment for order ${payment.orderId} failed ${ctx.deliveryAttempt - 1} times; left in ${ctx.topic} for a person to look at`);
  }
}
