// An application written for @nestjs/microservices' Kafka transport (@EventPattern / @MessagePattern
// controllers, Nest's own KafkaContext, RpcException, an interceptor reading getType()) runs on
// KafkaNestServer with only the bootstrap changed; Nest's own ClientKafka talks to it unchanged.
import { type CallHandler, Controller, type ExecutionContext, Injectable, type NestInterceptor, UseInterceptors } from '@nestjs/common';
import { ClientKafka, Ctx, EventPattern, KafkaContext, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { DeadLetterPublishingRecoverer, DefaultErrorHandler, DltHandler, FixedBackOff, RetryableTopic, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { KafkaNestServer } from '@kafka-nest/core/microservices';
import { createKafkaTestBroker, getRecords, KafkaTestingModule, waitFor } from '@kafka-nest/testing';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';

const ERRORS = 'payments-error-handler';

@Injectable()
class TypeRecorder implements NestInterceptor {
  static readonly types: string[] = [];
  intercept(context: ExecutionContext, next: CallHandler) {
    TypeRecorder.types.push(context.getType());
    return next.handle();
  }
}

/** Written for Nest's Kafka transport; not a line of it knows kafka-nest. */
@Controller()
class OrdersController {
  readonly created: { order: unknown; topic: string; partition: number; offset: string; key: unknown; isNestContext: boolean }[] = [];
  readonly paymentAttempts: number[] = [];
  readonly paymentTimes: number[] = [];
  consumerError: unknown;

  @UseInterceptors(TypeRecorder)
  @EventPattern<string>('orders.created') // Nest 12 types a handler taking a context this way
  onCreated(@Payload() order: { id: number }, @Ctx() ctx: KafkaContext): void {
    const message = ctx.getMessage();
    this.created.push({ order, topic: ctx.getTopic(), partition: ctx.getPartition(), offset: message.offset, key: message.key, isNestContext: ctx instanceof KafkaContext });
    try {
      ctx.getConsumer();
    } catch (err) {
      this.consumerError = err;
    }
  }

  @EventPattern('payments', { kafka: { errorHandler: ERRORS, groupId: 'payments-service' } })
  onPayment(@Payload() payment: { id: number }) {
    this.paymentAttempts.push(payment.id);
    this.paymentTimes.push(performance.now());
    throw new Error(`payment ${payment.id} declined`);
  }

  readonly refundAttempts: number[] = [];
  readonly deadRefunds: unknown[] = [];

  @RetryableTopic({ attempts: 3, backoff: { delay: 100 } })
  @EventPattern('refunds')
  onRefund(@Payload() refund: { id: number }) {
    this.refundAttempts.push(refund.id);
    throw new Error(`refund ${refund.id} failed`);
  }

  @DltHandler()
  onDeadRefund(refund: unknown) {
    this.deadRefunds.push(refund);
  }

  @MessagePattern('math.sum')
  sum(@Payload() numbers: number[]) {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('math.slow-double')
  async slowDouble(@Payload() n: number) {
    await new Promise((resolve) => setImmediate(resolve));
    return { doubled: n * 2 };
  }

  @MessagePattern('math.count')
  count(@Payload() n: number) {
    return from(Array.from({ length: n }, (_, i) => i + 1));
  }

  @MessagePattern('math.divide')
  divide(@Payload() { a, b }: { a: number; b: number }) {
    if (b === 0) throw new RpcException({ status: 'error', message: 'division by zero' });
    return a / b;
  }
}

const topics = ['orders.created', 'payments', 'payments.DLT', 'refunds', 'refunds-retry', 'refunds-dlt', 'math.sum', 'math.slow-double', 'math.count', 'math.divide'];
const broker = await createKafkaTestBroker({
  topics: [
    ...topics.map((name) => ({ name, partitions: 2 })),
    ...['math.sum', 'math.slow-double', 'math.count', 'math.divide'].map((p) => ({ name: `${p}.reply`, partitions: 2 })),
  ],
});

const moduleRef = await Test.createTestingModule({
  imports: [KafkaTestingModule.forBroker(broker)],
  controllers: [OrdersController],
  providers: [
    TypeRecorder,
    {
      provide: ERRORS,
      inject: [KafkaTemplate],
      useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(50, 2)),
    },
  ],
}).compile();
const app = moduleRef.createNestApplication({ logger: false });
// The only change from an application on Nest's transport: the strategy instead of `transport: Transport.KAFKA`.
app.connectMicroservice({ strategy: new KafkaNestServer({ defaults: { fromBeginning: true } }) });
await app.startAllMicroservices();
await app.init();

const client = new ClientKafka({ client: { clientId: 'caller', brokers: broker.brokers }, consumer: { groupId: 'caller', sessionTimeout: 6_000, heartbeatInterval: 1_000 } });
for (const p of ['math.sum', 'math.slow-double', 'math.count', 'math.divide']) client.subscribeToResponseOf(p);
await client.connect();
await waitFor(() => Object.keys(client.getConsumerAssignments()).length === 4, { timeoutMs: 20_000 });

afterAll(async () => {
  await client.close();
  await app.close();
  await broker.stop();
});

const controller = app.get(OrdersController);

describe('KafkaNestServer serving handlers written for Nest', () => {
  it("delivers events emitted by Nest's ClientKafka with Nest's payload and KafkaContext, as 'rpc'", async () => {
    await lastValueFrom(client.emit('orders.created', { key: 'o-1', value: { id: 1 } }));
    await lastValueFrom(client.emit('orders.created', { id: 2 }));
    await waitFor(() => controller.created.length === 2);
    const byId = new Map(controller.created.map((c) => [(c.order as { id: number }).id, c]));
    expect(byId.get(1)).toMatchObject({ order: { id: 1 }, topic: 'orders.created', key: 'o-1', isNestContext: true });
    expect(typeof byId.get(1)?.offset).toBe('string');
    expect([0, 1]).toContain(byId.get(2)?.partition);
    expect(TypeRecorder.types).toEqual(['rpc', 'rpc']);
    expect(String(controller.consumerError)).toMatch(/getConsumer\(\) is not available under KafkaNestServer.*getAcknowledgment/);
  });

  it('runs each pattern in its own container and group, listed in the registry', () => {
    const registry = app.get(KafkaListenerEndpointRegistry);
    expect(registry.getListenerContainerIds()).toEqual(expect.arrayContaining(['microservice.orders.created', 'microservice.payments', 'microservice.math.sum']));
    expect(registry.getListenerContainer('microservice.payments').groupId).toBe('payments-service');
    expect(registry.getListenerContainer('microservice.orders.created').groupId).toBe('microservice.orders.created');
  });

  it('retries a failing event handler with back-off, then publishes it to the dead-letter topic', async () => {
    await lastValueFrom(client.emit('payments', { key: 'p', value: { id: 7 } }));
    const [dead] = await getRecords(broker, 'payments.DLT', 1, 15_000);
    expect(controller.paymentAttempts).toEqual([7, 7, 7]);
    const [t1, t2, t3] = controller.paymentTimes;
    expect(t2 - t1).toBeGreaterThanOrEqual(45); // FixedBackOff(50, 2), less timer granularity
    expect(t3 - t2).toBeGreaterThanOrEqual(45);
    expect(JSON.parse(dead.value!.toString())).toEqual({ id: 7 });
    const header = (name: string) => dead.headers.find((h) => h.key === name)?.value?.toString();
    expect(header('kafka_dlt-original-topic')).toBe('payments');
    expect(header('kafka_dlt-exception-message')).toBe('payment 7 declined');
  });

  // Nest's client decodes a reply as its parser does: JSON objects and arrays, everything else as a string.
  it('applies @RetryableTopic to an @EventPattern handler: retry topic, then the dead-letter topic and its @DltHandler', async () => {
    await lastValueFrom(client.emit('refunds', { id: 9 }));
    await waitFor(() => controller.deadRefunds.length === 1, { timeoutMs: 20_000 });
    expect(controller.refundAttempts).toEqual([9, 9, 9]);
    expect(controller.deadRefunds).toEqual([{ id: 9 }]);
    expect(broker.allRecords('refunds-retry')).toHaveLength(2);
    const [dead] = broker.allRecords('refunds-dlt');
    expect(dead.headers.find((h) => h.key === 'kafka_dlt-exception-message')?.value?.toString()).toBe('refund 9 failed');
  });

  it("answers ClientKafka.send() requests: values, promises and streams", async () => {
    await expect(lastValueFrom(client.send('math.sum', [1, 2, 3]))).resolves.toBe('6');
    await expect(lastValueFrom(client.send('math.slow-double', 21))).resolves.toEqual({ doubled: 42 });
    await expect(lastValueFrom(client.send('math.count', 3).pipe(toArray()))).resolves.toEqual(['1', '2', '3']);
  });

  it('answers many concurrent requests, each with its own reply', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => lastValueFrom(client.send('math.sum', [i, 100]))));
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 100)));
  });

  it("turns a handler's RpcException into the error ClientKafka.send() rejects with", async () => {
    await expect(lastValueFrom(client.send('math.divide', { a: 1, b: 0 }))).rejects.toEqual({ status: 'error', message: 'division by zero' });
    await expect(lastValueFrom(client.send('math.divide', { a: 1, b: 4 }))).resolves.toBe('0.25');
  });
});
