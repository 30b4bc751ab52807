import { Injectable, Logger } from '@nestjs/common';
import { Ack, type Acknowledgment, AckMode, Ctx, DltHeaders, KafkaContext, KafkaListener } from '@kafka-nest/core';
import { OrderStats } from './order-stats.service.js';

const text = (b: Buffer | undefined) => b?.toString('utf8');

/**
 * Audits what lands in orders.DLT, decoding the failure headers the DeadLetterPublishingRecoverer wrote.
 * Acknowledges each record itself (AckMode.MANUAL_IMMEDIATE).
 */
@Injectable()
export class OrdersDltListener {
  private readonly logger = new Logger('orders.DLT');

  constructor(private readonly stats: OrderStats) {}

  @KafkaListener({ id: 'orders-dlt', topics: ['orders.DLT'], groupId: 'orders-dlt-auditor', ackMode: AckMode.MANUAL_IMMEDIATE, deserializer: 'buffer', fromBeginning: true })
  async onDeadLetter(@Ctx() ctx: KafkaContext, @Ack() ack: Acknowledgment): Promise<void> {
    const h = ctx.headers;
    const partition = h[DltHeaders.ORIGINAL_PARTITION]?.readInt32BE(0);
    const offset = h[DltHeaders.ORIGINAL_OFFSET]?.readBigInt64BE(0);
    this.stats.deadLettered++;
    this.logger.warn(
      `dead letter from ${text(h[DltHeaders.ORIGINAL_TOPIC])}-${partition}@${offset} (group ${text(h[DltHeaders.ORIGINAL_CONSUMER_GROUP])}): ` +
        `${text(h[DltHeaders.EXCEPTION_CAUSE_FQCN])}: ${text(h[DltHeaders.EXCEPTION_MESSAGE])}; value ${text(ctx.value ?? undefined)}`,
    );
    await ack.acknowledge();
  }
}
