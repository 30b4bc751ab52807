// KafkaNestClient, a ClientProxy for ClientKafka users, against KafkaNestServer (bootstrapped with
// createNestMicroservice) and against Nest's own ServerKafka; and ReplyingKafkaTemplate asking a
// @MessagePattern handler.
import { Controller, Inject, Injectable } from '@nestjs/common';
import { ClientProxy, ClientsModule, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { ReplyingKafkaTemplate } from '@kafka-nest/core';
import { KafkaNestClient, KafkaNestServer } from '@kafka-nest/core/microservices';
import { createKafkaTestBroker, KafkaTestingModule } from '@kafka-nest/testing';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';

@Controller()
class CalcController {
  @MessagePattern('calc.sum')
  sum(@Payload() numbers: number[]) {
    return { total: numbers.reduce((a, b) => a + b, 0) };
  }

  @MessagePattern('calc.broken')
  broken(): never {
    throw new Error('the calculator is broken');
  }
}

@Controller()
class LegacyController {
  @MessagePattern('legacy.echo')
  echo(@Payload() value: unknown) {
    return { echoed: value };
  }
}

@Injectable()
class Caller {
  constructor(@Inject('CALC') readonly client: ClientProxy) {}
}

const broker = await createKafkaTestBroker({
  topics: ['calc.sum', 'calc.broken', 'legacy.echo', 'calc.sum.reply', 'calc.broken.reply', 'legacy.echo.reply', 'asker.replies'].map((name) => ({ name, partitions: 2 })),
});

// The service: a standalone microservice on KafkaNestServer, with a ReplyingKafkaTemplate next to it.
const serviceModule = await Test.createTestingModule({
  imports: [KafkaTestingModule.forBroker(broker)],
  controllers: [CalcController],
  providers: [ReplyingKafkaTemplate.provide({ replyTopic: 'asker.replies' })],
}).compile();
const service = serviceModule.createNestMicroservice({ strategy: new KafkaNestServer({ defaults: { fromBeginning: true } }), logger: false });
await service.listen();

// A legacy service on Nest's own Kafka transport.
const legacyModule = await Test.createTestingModule({ controllers: [LegacyController] }).compile();
const legacy = legacyModule.createNestMicroservice({
  transport: Transport.KAFKA,
  options: { client: { clientId: 'legacy', brokers: [...broker.brokers] }, consumer: { groupId: 'legacy', sessionTimeout: 6_000, heartbeatInterval: 1_000 }, subscribe: { fromBeginning: true } },
  logger: false,
});
await legacy.listen();

// The caller: switched from ClientKafka by naming KafkaNestClient as the custom client class.
const callerModule = await Test.createTestingModule({
  imports: [ClientsModule.register([{ name: 'CALC', customClass: KafkaNestClient, options: { client: { clientId: 'caller', brokers: broker.brokers } } }])],
  providers: [Caller],
}).compile();
const callerApp = await callerModule.init();
const client = callerApp.get(Caller).client as KafkaNestClient;
for (const p of ['calc.sum', 'calc.broken', 'legacy.echo']) client.subscribeToResponseOf(p);
await client.connect();

afterAll(async () => {
  await callerApp.close();
  await legacy.close();
  await service.close();
  await broker.stop();
});

describe('KafkaNestClient', () => {
  it('gets replies from a @MessagePattern handler on KafkaNestServer, concurrently', async () => {
    const totals = await Promise.all(Array.from({ length: 10 }, (_, i) => lastValueFrom(client.send('calc.sum', [i, 10]))));
    expect(totals).toEqual(Array.from({ length: 10 }, (_, i) => ({ total: i + 10 })));
  });

  it("fails with the error Nest's RPC layer makes of an unexpected handler error", async () => {
    await expect(lastValueFrom(client.send('calc.broken', {}))).rejects.toEqual({ status: 'error', message: 'Internal server error' });
  });

  it("gets replies from Nest's own ServerKafka too", async () => {
    await expect(lastValueFrom(client.send('legacy.echo', { a: 1 }).pipe(toArray()))).resolves.toEqual([{ echoed: { a: 1 } }]);
  });

  it('refuses a request to a pattern whose replies it does not read, naming the fix', async () => {
    await expect(lastValueFrom(client.send('calc.other', 1))).rejects.toThrow(/subscribeToResponseOf\('calc.other'\) before connect\(\)/);
  });
});

describe('ReplyingKafkaTemplate asking a @MessagePattern handler', () => {
  it("gets Nest's reply record: the handler's value, the correlation id, kafka_nest-is-disposed", async () => {
    const replying = serviceModule.get(ReplyingKafkaTemplate);
    const reply = await replying.sendAndReceive({ topic: 'calc.sum', value: [20, 22] }, { timeout: 10_000 });
    expect(JSON.parse(reply.value!.toString())).toEqual({ total: 42 });
    expect(reply.headers['kafka_nest-is-disposed']).toBeDefined();
    expect(reply.headers.kafka_correlationId).toHaveLength(16);
  });
});
