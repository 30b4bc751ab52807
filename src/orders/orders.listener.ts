import { Injectable, Logger, ValidationPipe } from '@nestjs/common';
import { AckMode, Ctx, KafkaContext, KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { OrderDto } from './order.dto.js';
import { OrderStats } from './order-stats.service.js';

/** DI token of the orders listener's error handler (see app.module.ts). */
export const ORDERS_ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');

/** Orders above this amount are refused by the (pretend) fraud check, every time: they end in orders.DLT. */
export const FRAUD_LIMIT_CENTS = 500_000;

export class FraudCheckFailedError extends Error {
  override name = 'FraudCheckFailedError';
}

/**
 * Processes orders one at a time, committing after each record (AckMode.RECORD). Invalid payloads are
 * rejected by the validation pipe and go straight to the DLT; a fraud-check failure is retried with
 * back-off, then dead-lettered.
 */
@Injectable()
export class OrdersListener {
  private readonly logger = new Logger(OrdersListener.name);

  constructor(
    private readonly kafka: KafkaTemplate,
    private readonly stats: OrderStats,
  ) {}

  @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', ackMode: AckMode.RECORD, errorHandler: ORDERS_ERROR_HANDLER, fromBeginning: true })
  async onOrder(@Payload(new ValidationPipe({ transform: true, forbidUnknownValues: true })) order: OrderDto, @Ctx() ctx: KafkaContext): Promise<void> {
    if (order.amountCents > FRAUD_LIMIT_CENTS) {
      this.stats.failedDeliveries++;
      throw new FraudCheckFailedError(`order ${order.id}: ${order.amountCents} cents is above the fraud limit (attempt ${ctx.deliveryAttempt})`);
    }
    await this.kafka.send('payments', { orderId: order.id, customerId: order.customerId, amountCents: order.amountCents * order.quantity }, { key: order.customerId });
    this.stats.processed++;
    this.logger.debug(`order ${order.id} accepted from ${ctx.topic}-${ctx.partition}@${ctx.offset}`);
  }
}
