// KafkaNestServer options and Nest semantics at the edges: parser.keepBinary, per-pattern ack mode with
// ctx.getAcknowledgment(), and a KafkaRetriableException from a @MessagePattern retried by the error handler
// before the caller gets its answer.
import { Controller, Scope } from '@nestjs/common';
import { ClientKafka, Ctx, EventPattern, KafkaRetriableException, MessagePattern, Payload } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { AckMode, DefaultErrorHandler, FixedBackOff } from '@kafka-nest/core';
import { KafkaNestContext, KafkaNestServer, MicroserviceHandlerError } from '@kafka-nest/core/microservices';
import { createKafkaTestBroker, KafkaTestingModule, waitFor, waitForCommit } from '@kafka-nest/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, expect, it } from 'vitest';

@Controller()
class EdgeController {
  readonly raw: unknown[] = [];
  readonly manual: string[] = [];
  flaky = 0;

  @EventPattern('raw')
  onRaw(@Payload() value: unknown) {
    this.raw.push(value);
  }

  @EventPattern<string>('manual', { kafka: { ackMode: AckMode.MANUAL_IMMEDIATE } })
  async onManual(@Payload() raw: Buffer, @Ctx() ctx: KafkaNestContext): Promise<void> {
    const value = JSON.parse(raw.toString()) as { n: number }; // the server keeps values binary
    this.manual.push(`${value.n}@${ctx.getKafkaContext().offset}`);
    if (value.n === 1) await ctx.getAcknowledgment().acknowledge();
  }

  @MessagePattern('flaky')
  onFlaky(@Payload() raw: Buffer) {
    if (++this.flaky < 3) throw new KafkaRetriableException('not yet');
    return { n: Number(raw.toString()), attempts: this.flaky };
  }
}

/** Request-scoped: Nest makes an instance per message, so KafkaNestServer calls it through Nest's own callback. */
@Controller({ scope: Scope.REQUEST })
class ScopedController {
  static readonly seen: string[] = [];

  @EventPattern('scoped')
  onScoped(@Payload() raw: Buffer) {
    if (raw.toString() === 'fail') throw new Error('scoped handler failed');
    ScopedController.seen.push(raw.toString());
  }
}

const recovered: Error[] = [];
const SCOPED_ERRORS = 'scoped-errors';
const broker = await createKafkaTestBroker({ topics: ['raw', 'manual', 'flaky', 'flaky.reply', 'scoped'].map((name) => ({ name })) });
const moduleRef = await Test.createTestingModule({
  imports: [KafkaTestingModule.forBroker(broker)],
  controllers: [EdgeController, ScopedController],
  providers: [{ provide: SCOPED_ERRORS, useValue: new DefaultErrorHandler((_record, error) => void recovered.push(error), new FixedBackOff(0, 1)) }],
}).compile();
const app = moduleRef.createNestMicroservice({ strategy: new KafkaNestServer({ parser: { keepBinary: true }, defaults: { fromBeginning: true }, patterns: { scoped: { errorHandler: SCOPED_ERRORS } } }), logger: false });
await app.listen();
const client = new ClientKafka({ client: { clientId: 'edge', brokers: broker.brokers }, consumer: { groupId: 'edge' } });
client.subscribeToResponseOf('flaky');
await client.connect();
await waitFor(() => client.getConsumerAssignments()['flaky.reply'] !== undefined, { timeoutMs: 20_000 });
afterAll(async () => {
  await client.close();
  await app.close();
  await broker.stop();
});
const controller = app.get(EdgeController);

it('hands values over as Buffers with parser.keepBinary', async () => {
  await lastValueFrom(client.emit('raw', { a: 1 }));
  await waitFor(() => controller.raw.length === 1);
  expect(Buffer.isBuffer(controller.raw[0])).toBe(true);
  expect((controller.raw[0] as Buffer).toString()).toBe('{"a":1}');
});

it("commits only what the handler acknowledged in a pattern's MANUAL_IMMEDIATE ack mode", async () => {
  await lastValueFrom(client.emit('manual', { n: 1 }));
  await waitForCommit(broker, 'microservice.manual', 'manual', 0, 1);
  await lastValueFrom(client.emit('manual', { n: 2 }));
  await waitFor(() => controller.manual.length === 2);
  expect(controller.manual).toEqual(['1@0', '2@1']);
  expect(broker.committedOffsets('microservice.manual').find((c) => c.topic === 'manual')?.offset).toBe(1);
});

it("retries a @MessagePattern's KafkaRetriableException through the error handler, then answers", async () => {
  await expect(lastValueFrom(client.send('flaky', 7))).resolves.toEqual({ n: 7, attempts: 3 });
});

it("serves a request-scoped controller through Nest's callback; its failure reaches the error handler as Nest left it", async () => {
  await lastValueFrom(client.emit('scoped', 'ok'));
  await lastValueFrom(client.emit('scoped', 'fail'));
  await waitFor(() => ScopedController.seen.length === 1 && recovered.length === 1);
  expect(ScopedController.seen).toEqual(['ok']); // Nest's client sends a string as it is
  expect(recovered[0]).toBeInstanceOf(MicroserviceHandlerError);
  expect(recovered[0].message).toBe(`the handler of pattern 'scoped' failed: {"status":"error","message":"Internal server error"}`);
});
