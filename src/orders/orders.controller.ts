import { Body, Controller, HttpCode, Post, ValidationPipe } from '@nestjs/common';
import { KafkaTemplate } from '@kafka-nest/core';
import { OrderDto } from './order.dto.js';

@Controller('orders')
export class OrdersController {
  constructor(private readonly kafka: KafkaTemplate) {}

  /** Validates the order (400 and nothing produced when invalid) and publishes it keyed by customer. */
  @Post()
  @HttpCode(202)
  async create(@Body(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true })) order: OrderDto) {
    const meta = await this.kafka.send('orders', order, { key: order.customerId });
    return { accepted: order.id, topic: meta.topic, partition: meta.partition, offset: meta.offset };
  }
}
