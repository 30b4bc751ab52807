// Spring's request-reply on both sides: ReplyingKafkaTemplate sends requests with kafka_replyTopic and a
// 16-byte kafka_correlationId; @KafkaListener methods with @SendTo answer them.
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KafkaListener, KafkaReplyTimeoutError, KafkaTemplate, Payload, ReplyingKafkaTemplate, SendTo } from '@kafka-nest/core';
import { createKafkaTestBroker, getRecords, KafkaTestingModule, kafkaTestOptions } from '@kafka-nest/testing';
import { afterAll, describe, expect, it } from 'vitest';

@Injectable()
class Calculator {
  readonly silent: unknown[] = [];

  @KafkaListener({ id: 'sums', topics: ['sums'], concurrency: 2, fromBeginning: true })
  @SendTo()
  async sum(@Payload() numbers: number[]) {
    await new Promise((resolve) => setImmediate(resolve));
    return { total: numbers.reduce((a, b) => a + b, 0) };
  }

  @KafkaListener({ id: 'shout', topics: ['shout'], fromBeginning: true, deserializer: 'string' })
  @SendTo('shouted')
  shout(@Payload() text: string) {
    return text.toUpperCase();
  }

  @KafkaListener({ id: 'silent', topics: ['silent'], fromBeginning: true })
  @SendTo()
  ignore(@Payload() value: unknown) {
    this.silent.push(value);
  }
}

const broker = await createKafkaTestBroker({
  topics: [
    { name: 'sums', partitions: 3 },
    { name: 'sums.replies', partitions: 4 },
    { name: 'shout', partitions: 1 },
    { name: 'shouted', partitions: 2 },
    { name: 'silent', partitions: 1 },
  ],
});
const app = await Test.createTestingModule({
  imports: [KafkaTestingModule.forBroker(broker, { deserializer: 'json' })],
  providers: [Calculator, ReplyingKafkaTemplate.provide({ replyTopic: 'sums.replies' })],
}).compile();
await app.init();
const replying = app.get(ReplyingKafkaTemplate);
const options = kafkaTestOptions(broker);
const toPartition3 = new ReplyingKafkaTemplate(app.get(KafkaTemplate), options, { replyTopic: 'sums.replies', replyPartition: 3, sharedReplyTopic: true });
const shouted = new ReplyingKafkaTemplate(app.get(KafkaTemplate), options, { replyTopic: 'shouted' });
await Promise.all([toPartition3.start(), shouted.start()]);

afterAll(async () => {
  await Promise.all([toPartition3.beforeApplicationShutdown(), shouted.beforeApplicationShutdown()]);
  await app.close();
  await broker.stop();
});

const json = (b: Buffer | null) => JSON.parse(b!.toString());

describe('ReplyingKafkaTemplate and @SendTo', () => {
  it("round-trips a request with Spring's headers: replyTopic as UTF-8, a 16-byte correlation id copied onto the reply", async () => {
    const reply = await replying.sendAndReceive({ topic: 'sums', value: [1, 2, 3] }, { timeout: 10_000 });
    expect(json(reply.value)).toEqual({ total: 6 });
    const [request] = broker.allRecords('sums');
    const header = (name: string) => request.headers.find((h) => h.key === name)?.value;
    expect(header('kafka_replyTopic')?.toString()).toBe('sums.replies');
    expect(header('kafka_correlationId')).toHaveLength(16);
    expect(reply.headers.kafka_correlationId?.equals(header('kafka_correlationId')!)).toBe(true);
  });

  it('answers many concurrent requests, each with its own reply, from every partition of the reply topic', async () => {
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => replying.sendAndReceive({ topic: 'sums', value: [i, 1000] }, { timeout: 15_000 })));
    expect(replies.map((r) => json(r.value).total)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1000));
    expect(new Set(replies.map((r) => r.partition)).size).toBeGreaterThan(1);
    expect(replying.pendingCount).toBe(0);
  });

  it("asks for a reply partition with kafka_replyPartition as Spring encodes it (4-byte big-endian int), and @SendTo() replies there", async () => {
    const reply = await toPartition3.sendAndReceive({ topic: 'sums', key: 'k', value: [40, 2] }, { timeout: 10_000 });
    expect(json(reply.value)).toEqual({ total: 42 });
    expect(reply.partition).toBe(3);
    const request = broker.allRecords('sums').find((r) => r.headers.some((h) => h.key === 'kafka_replyPartition'));
    expect(request?.headers.find((h) => h.key === 'kafka_replyPartition')?.value).toEqual(Buffer.from([0, 0, 0, 3]));
  });

  it("@SendTo('topic') replies to its own topic, with the correlation id", async () => {
    const reply = await shouted.sendAndReceive({ topic: 'shout', value: 'hello' }, { timeout: 10_000 });
    expect(reply.topic).toBe('shouted');
    expect(reply.value?.toString()).toBe('HELLO');
  });

  it('rejects with KafkaReplyTimeoutError when no reply comes in time (a listener returning nothing sends none)', async () => {
    const started = Date.now();
    const error = await replying.sendAndReceive({ topic: 'silent', value: { ping: 1 } }, { timeout: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KafkaReplyTimeoutError);
    expect((error as Error).message).toMatch(/no reply within 500 ms to the request sent to 'silent'/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    expect(app.get(Calculator).silent).toEqual([{ ping: 1 }]);
    expect(replying.pendingCount).toBe(0);
    expect(await getRecords(broker, 'silent', 1)).toHaveLength(1);
  });
});
