/**
 * A commit refused because the member's generation is over (ILLEGAL_GENERATION): the rest of the fetch is
 * not handled by this member. The container ends the loop and kafkajs rejoins; the records come again from
 * the committed offset, from whoever owns the partition in the new generation.
 */
import { Injectable } from '@nestjs/common';
import { ApiKey, ErrorCode } from '@kafka-nest/broker';
import { AckMode, Ctx, KafkaBatchContext, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitForCommit } from '@kafka-nest/testing';
import { expect, it } from 'vitest';
import { brokerPerTest, startApp } from '../../fixtures/kafka-app.js';

const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 1 }] });

for (const batch of [false, true]) {
  it(`after a fenced commit the rest of the fetch is left to the new generation (${batch ? 'batch' : 'record'} listener)`, async () => {
    const handled: number[] = [];
    @Injectable()
    class Orders {
      @KafkaListener({
        id: 'orders',
        topics: ['orders'],
        fromBeginning: true,
        autoStartup: false,
        batch,
        ackMode: AckMode.RECORD,
        properties: { 'max.poll.records': 1 },
      })
      on(@Ctx() ctx: KafkaContext | KafkaBatchContext) {
        handled.push(ctx instanceof KafkaBatchContext ? ctx.records[0]!.offset : ctx.offset);
      }
    }
    env.app = await startApp(env.broker, { providers: [Orders] });
    const template = env.app.get(KafkaTemplate);
    for (const n of [0, 1, 2]) await template.send('orders', { n });
    const fault = env.broker.injectFault({ apiKey: ApiKey.OffsetCommit, errorCode: ErrorCode.ILLEGAL_GENERATION });
    const registry = env.app.get(KafkaListenerEndpointRegistry);
    await registry.start('orders');

    await fault.exhausted;
    await waitForCommit(env.broker, 'orders', 'orders', 0, 3);

    // Offset 0 was handled, its commit refused; 1 and 2 were not handled from that fetch, but after the rejoin.
    expect(handled).toEqual([0, 0, 1, 2]);
  });
}
