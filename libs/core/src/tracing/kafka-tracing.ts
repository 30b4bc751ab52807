/**
 * OpenTelemetry tracing of sends and deliveries, on `@opentelemetry/api` alone: the application registers a
 * tracer provider and a propagator (an SDK's `NodeTracerProvider.register()` does both); without one, every
 * call here goes to the API's no-op implementations.
 *
 * - `KafkaTemplate.send`/`sendBatch`: a PRODUCER span `send <topic>`, child of the active context, whose
 *   context the configured propagator (W3C `traceparent`/`tracestate`, baggage) writes into each record's
 *   headers, replacing what a forwarded record carried.
 * - A record delivery: a CONSUMER span `process <topic>` around the listener call and its error handling,
 *   child of the context extracted from the record's headers (or, with `consumerParent: 'link'`, a new trace
 *   linked to it). A failure is recorded on it as an exception. Each retry delivery is a span of its own,
 *   and the dead-letter publish or retry-topic forward made by the error handler is a producer span under
 *   it, whose context the forwarded record carries on: one trace from the first send to the DLT.
 * - A batch delivery: one CONSUMER span `process <topic>`, the root of a trace, with a link to each record's
 *   context.
 * Attributes follow the OpenTelemetry messaging semantic conventions (`messaging.system=kafka`, ...).
 * Spring Kafka's counterpart is Micrometer observations (`observationEnabled`).
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { KafkaConfigurationError } from '../kafka.errors.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';

/** A record as `KafkaTemplate` sends it, as tracing options see it. */
export interface TracedProducerRecord {
  readonly key?: Buffer | string | number | null;
  readonly partition?: number;
}

/** Options of `KafkaModuleOptions.tracing`. */
export interface KafkaTracingOptions {
  /** Trace sends and deliveries. @default true (costs nothing measurable until a tracer provider is registered) */
  readonly enabled?: boolean;
  /** Name of the tracer (instrumentation scope). @default '@kafka-nest/core' */
  readonly tracerName?: string;
  /**
   * How a delivery's span relates to the context the record carries: `'parent'` continues the producer's
   * trace; `'link'` starts a trace of its own with a link to it (both are allowed by the messaging
   * semantic conventions). A batch's span always links. @default 'parent'
   */
  readonly consumerParent?: 'parent' | 'link';
  /** Record the key as `messaging.kafka.message.key` (UTF-8). Turn off when keys are personal data. @default true */
  readonly recordKey?: boolean;
  /** Name of a producer span. @default `send ${topic}` */
  readonly producerSpanName?: (topic: string) => string;
  /** Name of a delivery's span. @default `process ${topic}` */
  readonly consumerSpanName?: (topic: string, listenerId: string) => string;
  /** Attributes added to each producer span. @default none */
  readonly producerAttributes?: (topic: string, records: readonly TracedProducerRecord[]) => Attributes;
  /** Attributes added to each delivery's span (one record, or the records of a batch). @default none */
  readonly consumerAttributes?: (records: readonly ConsumedRecord[], listener: { id: string; groupId: string }) => Attributes;
}

/** What a traced delivery reports to its span. */
export interface DeliverySpan {
  /** The listener threw: records it on the span as an exception, status ERROR. */
  failed(error: Error): void;
}

const NO_SPAN: DeliverySpan = { failed() {} };

const HEADERS_GETTER: TextMapGetter<Readonly<Record<string, Buffer | undefined>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key]?.toString('utf8'),
};

/** Headers of a record to send, as `KafkaTemplate` hands them to the transport (a value may repeat). */
type SendHeaders = Record<string, Buffer | string | readonly (Buffer | string)[]>;

const HEADERS_SETTER: TextMapSetter<SendHeaders> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/** The API's no-op provider: what the global provider delegates to until an SDK registers one. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

function keyString(key: Buffer | string | number | null | undefined): string | undefined {
  if (key === null || key === undefined) return undefined;
  return Buffer.isBuffer(key) ? key.toString('utf8') : String(key);
}

/** Internal: the tracing of one application, made from `KafkaModuleOptions.tracing`. */
export class KafkaTracing {
  private readonly tracer: Tracer;
  private readonly link: boolean;
  private readonly recordKey: boolean;

  private constructor(private readonly options: KafkaTracingOptions) {
    this.tracer = trace.getTracer(options.tracerName ?? '@kafka-nest/core');
    this.link = options.consumerParent === 'link';
    this.recordKey = options.recordKey ?? true;
  }

  /**
   * Whether a tracer provider is registered. Until one is, sends and deliveries skip tracing altogether (no
   * span, no context extracted or injected): that is what makes it free in an application without an SDK.
   */
  active(): boolean {
    const provider = trace.getTracerProvider();
    return !(provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_PROVIDER);
  }

  /** The tracing `option` asks for, or undefined when it is turned off; throws on a malformed option. */
  static of(option: boolean | KafkaTracingOptions | undefined): KafkaTracing | undefined {
    if (option === false) return undefined;
    if (option === undefined || option === true) return new KafkaTracing({});
    if (typeof option !== 'object' || option === null) {
      throw new KafkaConfigurationError(`kafka-nest tracing: 'tracing' must be true, false or an options object, got ${String(option)}`);
    }
    if (option.enabled === false) return undefined;
    if (option.consumerParent !== undefined && option.consumerParent !== 'parent' && option.consumerParent !== 'link') {
      throw new KafkaConfigurationError(`kafka-nest tracing: 'consumerParent' must be 'parent' or 'link', got ${JSON.stringify(option.consumerParent)}`);
    }
    for (const fn of ['producerSpanName', 'consumerSpanName', 'producerAttributes', 'consumerAttributes'] as const) {
      if (option[fn] !== undefined && typeof option[fn] !== 'function') {
        throw new KafkaConfigurationError(`kafka-nest tracing: '${fn}' must be a function, got ${typeof option[fn]}`);
      }
    }
    return new KafkaTracing(option);
  }

  /**
   * Runs `send` (which sends `records` with the headers it is given) in a producer span; `headers[i]` is a
   * copy of record i's headers with the span's context written in.
   */
  async send<T extends readonly { offset: number; partition: number }[]>(
    topic: string,
    records: readonly (TracedProducerRecord & { headers?: Readonly<SendHeaders> })[],
    send: (headers: SendHeaders[]) => Promise<T>,
  ): Promise<T> {
    const o = this.options;
    const attributes: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': topic,
    };
    if (records.length > 1) attributes['messaging.batch.message_count'] = records.length;
    else {
      const [r] = records;
      if (r.partition !== undefined) attributes['messaging.destination.partition.id'] = String(r.partition);
      const key = this.recordKey ? keyString(r.key) : undefined;
      if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
    }
    if (o.producerAttributes) Object.assign(attributes, o.producerAttributes(topic, records));
    const span = this.tracer.startSpan(o.producerSpanName ? o.producerSpanName(topic) : `send ${topic}`, { kind: SpanKind.PRODUCER, attributes });
    const spanContext = trace.setSpan(context.active(), span);
    const headers = records.map((r) => {
      const h: SendHeaders = { ...r.headers };
      propagation.inject(spanContext, h, HEADERS_SETTER);
      return h;
    });
    try {
      const meta = await context.with(spanContext, () => send(headers));
      if (records.length === 1 && meta[0] && span.isRecording()) {
        span.setAttribute('messaging.destination.partition.id', String(meta[0].partition));
        if (meta[0].offset >= 0) span.setAttribute('messaging.kafka.offset', meta[0].offset);
      }
      return meta;
    } catch (err) {
      this.fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  /** Runs one delivery of `record` (the listener call and its error handling) in a consumer span. */
  async deliver<T>(record: ConsumedRecord, listener: { id: string; groupId: string }, deliver: (span: DeliverySpan) => Promise<T>): Promise<T> {
    const o = this.options;
    const carried = propagation.extract(ROOT_CONTEXT, record.headers, HEADERS_GETTER);
    const attributes = this.consumerAttributes(record.topic, listener, 1);
    attributes['messaging.destination.partition.id'] = String(record.partition);
    attributes['messaging.kafka.offset'] = record.offset;
    const key = this.recordKey ? keyString(record.key) : undefined;
    if (key !== undefined) attributes['messaging.kafka.message.key'] = key;
    if (record.value === null) attributes['messaging.kafka.message.tombstone'] = true;
    if (o.consumerAttributes) Object.assign(attributes, o.consumerAttributes([record], listener));
    let parent: Context = carried;
    let links: Link[] | undefined;
    if (this.link) {
      // A trace of its own: not whatever context the consumer loop happens to run in (a back-off timer's).
      parent = ROOT_CONTEXT;
      const carriedSpan = trace.getSpanContext(carried);
      if (carriedSpan) links = [{ context: carriedSpan }];
    }
    const name = o.consumerSpanName ? o.consumerSpanName(record.topic, listener.id) : `process ${record.topic}`;
    const span = this.tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes, ...(links && { links }) }, parent);
    return this.run(span, parent, deliver);
  }

  /** Runs one delivery of a batch listener in a consumer span linked to each record's context. */
  async deliverBatch<T>(
    records: readonly ConsumedRecord[],
    listener: { id: string; groupId: string },
    deliver: (span: DeliverySpan) => Promise<T>,
  ): Promise<T> {
    const o = this.options;
    const { topic, partition } = records[0];
    const attributes = this.consumerAttributes(topic, listener, records.length);
    attributes['messaging.destination.partition.id'] = String(partition);
    if (o.consumerAttributes) Object.assign(attributes, o.consumerAttributes(records, listener));
    const links: Link[] = [];
    for (const r of records) {
      const carried = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, r.headers, HEADERS_GETTER));
      if (carried) links.push({ context: carried, attributes: { 'messaging.kafka.offset': r.offset } });
    }
    const parent = ROOT_CONTEXT;
    const name = o.consumerSpanName ? o.consumerSpanName(topic, listener.id) : `process ${topic}`;
    const span = this.tracer.startSpan(name, { kind: SpanKind.CONSUMER, attributes, links }, parent);
    return this.run(span, parent, deliver);
  }

  private consumerAttributes(topic: string, listener: { groupId: string }, count: number): Attributes {
    const attributes: Attributes = {
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': topic,
      'messaging.consumer.group.name': listener.groupId,
    };
    if (count > 1) attributes['messaging.batch.message_count'] = count;
    return attributes;
  }

  private async run<T>(span: Span, parent: Context, deliver: (span: DeliverySpan) => Promise<T>): Promise<T> {
    const handle: DeliverySpan = span.isRecording() ? { failed: (error) => this.fail(span, error) } : NO_SPAN;
    try {
      return await context.with(trace.setSpan(parent, span), deliver, undefined, handle);
    } catch (err) {
      this.fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  private fail(span: Span, err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    span.recordException(error);
    span.setAttribute('error.type', error.name);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
}
