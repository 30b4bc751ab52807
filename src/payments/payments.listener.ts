import { Injectable, Logger } from '@nestjs/common';
import { Ctx, KafkaContext, KafkaListener, Payload } from '@kafka-nest/core';
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
 * back: this listener commits per fetch (AckMode.BATCH, the default).
 */
@Injectable()
export class PaymentsListener {
  private readonly logger = new Logger(PaymentsListener.name);
  private readonly gateway = new PaymentGateway();

  constructor(private readonly stats: OrderStats) {}

  @KafkaListener({ id: 'payments', topics: ['payments'], groupId: 'payments-service', fromBeginning: true })
  async charge(@Payload() payment: PaymentRequest, @Ctx() ctx: KafkaContext): Promise<void> {
    if (ctx.deliveryAttempt > 1) this.stats.paymentRetries++;
    this.gateway.charge(payment);
    this.stats.paymentsCharged++;
    this.logger.debug(`charged ${payment.amountCents} cents for order ${payment.orderId}`);
  }
}
