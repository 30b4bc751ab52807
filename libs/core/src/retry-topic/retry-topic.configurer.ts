/**
 * Turns a `@RetryableTopic` listener into its containers' endpoints: the main one, one per retry topic and
 * one for the dead-letter topic (Spring Kafka's `RetryTopicConfigurer`). Asked by the explorer for every
 * `@KafkaListener`. Internal.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MetadataScanner } from '@nestjs/core';
import { DltHeaders } from '../error-handling/dead-letter-headers.js';
import { describeRecord } from '../error-handling/default-error-handler.js';
import { KAFKA_MODULE_OPTIONS } from '../kafka.constants.js';
import { KafkaConfigurationError } from '../kafka.errors.js';
import { KafkaMetadataAccessor } from '../kafka-metadata.accessor.js';
import type { KafkaModuleOptions } from '../kafka-module-options.interface.js';
import { deserializerFn } from '../listener/deserializers.js';
import type { KafkaContext } from '../listener/kafka-context.js';
import type { KafkaListenerOptions } from '../listener/kafka-listener-options.js';
import type { ListenerEndpoint } from '../listener/listener-endpoint.js';
import { KafkaTemplate } from '../producer/kafka.template.js';
import { resolveRetryTopicConfiguration, RetryTopicChain } from './retry-topic-configuration.js';
import { RetryTopicErrorHandler } from './retry-topic-error-handler.js';
import { dueTimeOf } from './retry-topic.headers.js';

/** The method behind an endpoint, as the explorer found it. */
export interface ListenerMethod {
  readonly instance: object;
  readonly methodName: string;
  /** The `@KafkaListener` options as written. */
  readonly options: KafkaListenerOptions;
  /** Makes the invoker of another method of `instance` (the `@DltHandler`), the way listeners are invoked. */
  readonly invoker: (methodName: string) => ListenerEndpoint['invoke'];
}

const raw = deserializerFn('buffer');

@Injectable()
export class RetryTopicConfigurer {
  private readonly logger = new Logger('RetryTopic');
  /** The `@DltHandler` method name of each prototype, or null. */
  private readonly dltHandlers = new WeakMap<object, string | null>();

  constructor(
    @Inject(KAFKA_MODULE_OPTIONS) private readonly options: KafkaModuleOptions,
    private readonly accessor: KafkaMetadataAccessor,
    private readonly scanner: MetadataScanner,
    private readonly template: KafkaTemplate,
  ) {}

  /**
   * The endpoints of one listener: `[main]` without `@RetryableTopic`; with it, the main endpoint, an
   * endpoint per retry topic (id and group `<main><suffix>`, deliveries held until due) and one for the DLT
   * (the class's `@DltHandler`, or a logger), all sharing one `RetryTopicErrorHandler`. Throws a
   * `KafkaConfigurationError` naming the class and method on bad options.
   */
  expand(main: ListenerEndpoint, source: ListenerMethod): ListenerEndpoint[] {
    const method = (source.instance as Record<string, Function>)[source.methodName];
    const all = this.accessor.getRetryableTopics(method);
    if (all.length === 0) return [main];
    const problem = (message: string) =>
      new KafkaConfigurationError(`@RetryableTopic on ${main.listener}${source.options.id ? ` (id '${source.options.id}')` : ''}: ${message}`, main.listener);
    if (all.length > 1) throw problem(`a method takes one @RetryableTopic, this one has ${all.length}; remove all but one`);
    if (main.batch) {
      throw problem(`retry topics need a record listener (Spring does not support batch listeners either); remove 'batch: true', or keep it and use an 'errorHandler' with blocking retries instead`);
    }
    if (!main.topics) throw problem(`retry topics are named after the listener's topics; give 'topics: [...]' instead of 'topicPattern'`);
    if (source.options.errorHandler !== undefined) {
      throw problem(`the listener also names an 'errorHandler', but retry topics bring their own; remove 'errorHandler', or remove @RetryableTopic for blocking retries`);
    }

    const config = resolveRetryTopicConfiguration(all[0], this.options.retryTopic, main.topics, problem);
    const chain = new RetryTopicChain(main.topics, config);
    const errorHandler = new RetryTopicErrorHandler(chain, this.template);
    const dltMethod = this.dltHandlerOf(source.instance);
    const topics = main.topics;
    const derived = (suffix: string, extra: Partial<ListenerEndpoint>): ListenerEndpoint => ({
      ...main,
      id: `${main.id}${suffix}`,
      groupId: `${main.groupId}${suffix}`,
      topics: topics.map((t) => `${t}${suffix}`),
      concurrency: config.concurrency ?? main.concurrency,
      // Records are forwarded as soon as the main listener runs: never miss those sent before this group's first join.
      fromBeginning: true,
      errorHandler,
      ...extra,
    });

    const endpoints: ListenerEndpoint[] = [{ ...main, errorHandler }];
    for (const suffix of chain.retrySuffixes) endpoints.push(derived(suffix, { notBefore: dueTimeOf }));
    const className = source.instance.constructor?.name ?? 'Object';
    if (config.dltSuffix) {
      endpoints.push(
        derived(
          config.dltSuffix,
          dltMethod
            ? { listener: `${className}.${dltMethod}`, invoke: source.invoker(dltMethod) }
            : { valueDeserializer: raw, keyDeserializer: raw, invoke: (_payload, ctx) => this.logDeadLetter(ctx as KafkaContext) },
        ),
      );
    } else if (dltMethod) {
      this.logger.warn(`${className}.${dltMethod} (@DltHandler) is not called for listener '${main.id}': its dltStrategy is NO_DLT`);
    }
    return endpoints;
  }

  /** The class's `@DltHandler` method, if it has one; two are a start-up error. */
  private dltHandlerOf(instance: object): string | undefined {
    const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
    let name = this.dltHandlers.get(prototype);
    if (name === undefined) {
      const names = this.scanner.getAllMethodNames(prototype).filter((m) => this.accessor.isDltHandler(prototype[m]));
      const className = instance.constructor?.name ?? 'Object';
      if (names.length > 1) {
        throw new KafkaConfigurationError(
          `class ${className} has ${names.length} @DltHandler methods (${names.map((m) => `${className}.${m}`).join(', ')}); keep one: it receives the dead-lettered records of every @RetryableTopic listener of the class`,
          `${className}.${names[1]}`,
        );
      }
      name = names[0] ?? null;
      this.dltHandlers.set(prototype, name);
    }
    return name ?? undefined;
  }

  /** What a DLT listener without `@DltHandler` does (Spring's `LoggingDltListenerHandlerMethod`). */
  private async logDeadLetter(ctx: KafkaContext): Promise<void> {
    const header = (name: string) => ctx.headers[name]?.toString('utf8');
    this.logger.error(
      `Received message in DLT listener: ${describeRecord(ctx.record)}, from ${header(DltHeaders.ORIGINAL_TOPIC) ?? 'unknown topic'}, ` +
        `after ${ctx.deliveryAttempt - 1} attempt(s); ${header(DltHeaders.EXCEPTION_CAUSE_FQCN) ?? header(DltHeaders.EXCEPTION_FQCN) ?? 'Error'}: ${header(DltHeaders.EXCEPTION_MESSAGE) ?? ''}. ` +
        `Add a @DltHandler method to the listener's class to handle these records.`,
    );
  }
}
