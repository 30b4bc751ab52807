// Request-reply in an application with transactions: the replier's @SendTo reply joins the delivery's
// transaction, and the requester's reply consumer reads read_committed (the default with transactionIdPrefix),
// so a reply whose transaction aborted never answers a request.
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApiKey, ErrorCode } from '@kafka-nest/broker';
import { Ctx, type KafkaContext, KafkaListener, Payload, ReplyingKafkaTemplate, SendTo } from '@kafka-nest/core';
import { createKafkaTestBroker, KafkaTestingModule } from '@kafka-nest/testing';
import { afterAll, expect, it } from 'vitest';

@Injectable()
class Quoter {
  @KafkaListener({ id: 'quotes', topics: ['quotes'], fromBeginning: true })
  @SendTo()
  quote(@Payload() _request: unknown, @Ctx() ctx: KafkaContext) {
    return { attempt: ctx.deliveryAttempt };
  }
}

const broker = await createKafkaTestBroker({ topics: [{ name: 'quotes' }, { name: 'quotes.replies' }] });
const app = await Test.createTestingModule({
  imports: [KafkaTestingModule.forBroker(broker, { deserializer: 'json', transactionIdPrefix: 'quotes-', producer: { allowNonTransactional: true } })],
  providers: [Quoter, ReplyingKafkaTemplate.provide({ replyTopic: 'quotes.replies' })],
}).compile();
await app.init();

afterAll(async () => {
  await app.close();
  await broker.stop();
});

it('answers with the reply of the transaction that committed, not the one written by an aborted attempt', async () => {
  // The first delivery's commit fails: its reply is in the log, in a transaction that is then aborted.
  broker.injectFault({ apiKey: ApiKey.EndTxn, errorCode: ErrorCode.INVALID_TXN_STATE });
  const reply = await app.get(ReplyingKafkaTemplate).sendAndReceive({ topic: 'quotes', value: { item: 'apples' } }, { timeout: 30_000 });
  expect(JSON.parse(reply.value!.toString())).toEqual({ attempt: 2 });
  expect(broker.records('quotes.replies')).toHaveLength(2);
});
