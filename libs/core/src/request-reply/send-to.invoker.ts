/**
 * What `@SendTo` does around a listener method: waits for its result and publishes it as the reply,
 * before the container counts the request as processed. Internal.
 */
import { isObservable, lastValueFrom } from 'rxjs';
import type { SendToMetadata } from '../decorators/send-to.decorator.js';
import type { ListenerEndpoint } from '../listener/listener-endpoint.js';
import type { KafkaTemplate } from '../producer/kafka.template.js';
import { KafkaReplyError } from './request-reply.errors.js';
import { ReplyHeaders, replyAddressOf } from './request-reply.headers.js';

/** Waits for a handler's result: a promise, an Observable's last value (undefined when it emits none), or the value. */
export async function resultOf(result: unknown): Promise<unknown> {
  const value = await result;
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}

/** The invoker of a `@SendTo` listener: the method's, then the reply. */
export function sendToInvoker(
  invoke: ListenerEndpoint['invoke'],
  sendTo: SendToMetadata,
  template: KafkaTemplate,
  listener: string,
): ListenerEndpoint['invoke'] {
  return async (payload, ctx, invocation) => {
    const value = await resultOf(invoke(payload, ctx, invocation));
    if (value === undefined || value === null) return;
    const request = invocation.records[0];
    const address = replyAddressOf(request);
    const topic = sendTo.topic ?? address.topic;
    if (topic === undefined) {
      throw new KafkaReplyError(
        `@SendTo() on ${listener}: the request ${request.topic}-${request.partition}@${request.offset} has no '${ReplyHeaders.REPLY_TOPIC}' header, so there is nowhere to reply; name the topic (@SendTo('replies')) or send requests with ReplyingKafkaTemplate`,
        listener,
      );
    }
    const headers: Record<string, Buffer> = {};
    if (address.correlationId) headers[ReplyHeaders.CORRELATION_ID] = address.correlationId;
    // The requested partition belongs to the requested topic: a fixed @SendTo topic leaves it to the partitioner.
    const partition = sendTo.topic === undefined ? address.partition : undefined;
    await template.send(topic, value, { headers, ...(partition !== undefined && { partition }) });
  };
}
