// A commit the broker refuses is logged, counted, and does not stop the listener; the next commit covers
// the records of the failed one (at least once: nothing is marked done that was not processed).
import { Injectable } from '@nestjs/common';
import { ApiKey, ErrorCode } from '@kafka-nest/broker';
import { AckMode, Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForCommit } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, CapturingLogger, startApp } from '../fixtures/kafka-app.js';

const env = brokerPerTest();

describe('commit failures', () => {
  for (const syncCommits of [true, false]) {
    it(`${syncCommits ? 'sync' : 'async'} commits: a refused commit is logged and the listener goes on`, async () => {
      const name = `commit-fail-${syncCommits ? 'sync' : 'async'}`;
      env.broker.createTopics({ name, partitions: 1 });
      const handled: number[] = [];
      @Injectable()
      class Listener {
        @KafkaListener({ id: name, topics: [name], fromBeginning: true, autoStartup: false, ackMode: AckMode.RECORD, syncCommits })
        handle(@Ctx() ctx: KafkaContext) {
          handled.push(ctx.offset);
        }
      }
      const logger = new CapturingLogger();
      env.app = await startApp(env.broker, { providers: [Listener], logger });
      await env.app.get(KafkaTemplate).sendBatch(name, [{ value: 0 }, { value: 1 }, { value: 2 }]);
      // Not retriable: kafkajs gives the error to the container instead of retrying it.
      const fault = env.broker.injectFault({ apiKey: ApiKey.OffsetCommit, errorCode: ErrorCode.OFFSET_METADATA_TOO_LARGE, count: 1 });
      await env.app.get(KafkaListenerEndpointRegistry).start(name);

      await fault.exhausted;
      await waitFor(() => handled.length === 3, { message: 'the three records handled' });
      await waitForCommit(env.broker, name, name, 0, 3);
      expect(handled).toEqual([0, 1, 2]);
      await waitFor(() => logger.lines('error').some((l) => l.includes(`commit of offset 1 on ${name}-0 failed`)), {
        message: 'the failed commit logged',
      });
      expect(logger.lines('error').find((l) => l.includes('commit of offset'))).toMatch(/records after the last commit will be delivered again/);
    });
  }
});
