import { Inject, Injectable, type OnApplicationShutdown, Optional } from '@nestjs/common';
import { KAFKA_MODULE_OPTIONS } from '../kafka.constants.js';
import { KafkaProducerError, KafkaTransactionError } from '../kafka.errors.js';
import type { KafkaModuleOptions } from '../kafka-module-options.interface.js';
import { KAFKA_OBSERVER } from '../metrics/kafka-metrics.js';
import type { KafkaObserver } from '../metrics/kafka-observer.js';
import type { RecordMetadata, TopicPartitionOffset, TransportAdmin, TransportProducer, TransportProducerRecord } from '../transport/kafka-transport.js';
import { currentTransaction, sendOffsetsToTransaction, TransactionalProducers } from './kafka-transactions.js';
import { KafkajsTransport } from '../transport/kafkajs.transport.js';

/** Key, headers, partition and timestamp of one record. */
export interface RecordOptions {
  /** Strings are sent as UTF-8, Buffers as they are; numbers as their decimal string. @default null */
  key?: Buffer | string | number | null;
  /** Header values: strings as UTF-8, Buffers as they are; an array sends the header once per value, in order. */
  headers?: Record<string, Buffer | string | readonly (Buffer | string)[]>;
  /** @default chosen by the partitioner from the key (murmur2, as Java's), round robin without one */
  partition?: number;
  /** Record timestamp in ms since the epoch. @default now */
  timestamp?: number;
}

/** How a send is acknowledged. */
export interface AcksOption {
  /**
   * The acknowledgement this send waits for, instead of `producer.acks`: -1 (all in-sync replicas), 1 (the
   * leader) or 0 (none: the send resolves once written to the connection, with offset -1).
   * `DeadLetterPublishingRecoverer` sends with -1 whatever `producer.acks` says. With `producer.idempotent`
   * only -1 is accepted.
   * @default `producer.acks` (-1)
   */
  acks?: -1 | 0 | 1;
}

/** Options of one send. */
export interface SendOptions extends RecordOptions, AcksOption {}

/** One record of `sendBatch`. */
export interface ProducerRecord extends RecordOptions {
  value: unknown;
}

/**
 * Sends records to Kafka; mirrors Spring Kafka's `KafkaTemplate`. Values: Buffers as they are, strings as
 * UTF-8, `null` as a tombstone, anything else as JSON. Each send resolves once the broker acknowledged it
 * (acks = all by default, `producer.acks` or the send's `acks` otherwise). The producer connects on the
 * first send and disconnects on application shutdown, after the listeners have drained.
 *
 * With `transactionIdPrefix` in the module options the template is transactional: a send joins the
 * transaction bound to the calling code (`executeInTransaction`, a transactional listener's delivery) and is
 * refused outside one, unless `producer.allowNonTransactional` is set (Spring's behaviour).
 */
@Injectable()
export class KafkaTemplate implements OnApplicationShutdown {
  private producer: Promise<TransportProducer> | undefined;
  private admin: Promise<TransportAdmin> | undefined;
  private transactional: TransactionalProducers | undefined;

  constructor(
    @Inject(KAFKA_MODULE_OPTIONS) private readonly options: KafkaModuleOptions,
    /** Told of every send, and of dead-letter publishes made through this template (metrics); absent without metrics. */
    @Optional() @Inject(KAFKA_OBSERVER) readonly observer?: KafkaObserver,
  ) {
    const prefix = options.transactionIdPrefix;
    if (prefix !== undefined && (typeof prefix !== 'string' || prefix === '')) {
      throw new KafkaTransactionError(`KafkaModule option 'transactionIdPrefix' must be a non-empty string, got ${JSON.stringify(prefix)}; leave it out to turn transactions off`, '');
    }
  }

  /** Whether the template is transactional (`transactionIdPrefix` set); Spring's `isTransactional()`. */
  isTransactional(): boolean {
    return this.options.transactionIdPrefix !== undefined;
  }

  /** Whether the calling code runs in a transaction its sends join; Spring's `inTransaction()`. */
  inTransaction(): boolean {
    return currentTransaction() !== undefined;
  }

  /**
   * Runs `callback` in a new Kafka transaction: what it sends (through the template it gets, or this one)
   * is committed when it returns, and aborted, invisible to `read_committed` consumers, when it throws; the
   * error is then rethrown. Resolves to what the callback returned. Calls may run concurrently, each on a
   * producer of its own; a call inside a transaction is refused (Spring: nested calls are not allowed).
   * Spring's `KafkaTemplate.executeInTransaction`.
   */
  async executeInTransaction<T>(callback: (operations: KafkaTemplate) => T | Promise<T>): Promise<T> {
    if (!this.isTransactional()) {
      throw new KafkaTransactionError("KafkaTemplate.executeInTransaction: the template is not transactional; set 'transactionIdPrefix' in KafkaModule.forRoot", '');
    }
    const outer = currentTransaction();
    if (outer) {
      throw new KafkaTransactionError(
        `KafkaTemplate.executeInTransaction: nested calls are not allowed; this code already runs in the transaction of producer '${outer.transactionalId}', whose sends it joins`,
        outer.transactionalId,
      );
    }
    return this.transactionalProducers().execute(async () => callback(this));
  }

  /**
   * Commits a consumer group's offsets (next offset to read, per partition) with the transaction the calling
   * code runs in; they become visible only if it commits. Spring's `sendOffsetsToTransaction`.
   */
  sendOffsetsToTransaction(offsets: readonly TopicPartitionOffset[], groupId: string): Promise<void> {
    return sendOffsetsToTransaction(groupId, offsets);
  }

  /** @internal The transactional producers, for transactional listener containers. */
  transactionalProducers(): TransactionalProducers {
    if (!this.isTransactional()) throw new KafkaTransactionError("the template is not transactional; set 'transactionIdPrefix' in KafkaModule.forRoot", '');
    this.transactional ??= new TransactionalProducers(this.options.transactionIdPrefix!, (transactionalId) => {
      const p = this.options.producer ?? {};
      return this.transport().createProducer(this.options.client, {
        acks: -1,
        idempotent: true,
        allowAutoTopicCreation: p.allowAutoTopicCreation ?? true,
        ...(p.timeoutMs !== undefined && { timeoutMs: p.timeoutMs }),
        transactionalId,
        ...(p.transactionTimeoutMs !== undefined && { transactionTimeoutMs: p.transactionTimeoutMs }),
      });
    });
    return this.transactional;
  }

  /** Sends one record; resolves to where it was written. */
  async send(topic: string, value: unknown, options: SendOptions = {}): Promise<RecordMetadata> {
    const { acks, ...record } = options;
    const [meta] = await this.sendBatch(topic, [{ ...record, value }], acks === undefined ? {} : { acks });
    return meta;
  }

  /** Sends records to one topic in one request; resolves to where each was written, in order. */
  async sendBatch(topic: string, records: readonly ProducerRecord[], options: AcksOption = {}): Promise<RecordMetadata[]> {
    if (typeof topic !== 'string' || topic === '') {
      throw new KafkaProducerError(`KafkaTemplate: the topic must be a non-empty string, got ${JSON.stringify(topic)}`, String(topic));
    }
    const acks = this.acksOf(topic, options.acks);
    const scope = currentTransaction();
    if (scope && acks !== -1) {
      throw new KafkaProducerError(`KafkaTemplate: acks ${acks} inside a transaction; transactions need acks -1 (all), so leave acks out or give -1`, topic);
    }
    if (!scope && this.isTransactional() && !this.options.producer?.allowNonTransactional) {
      throw new KafkaProducerError(
        `KafkaTemplate: no transaction is in process for the send to '${topic}' and the template is transactional (transactionIdPrefix is set); ` +
          "send inside template.executeInTransaction(...) or a transactional listener, or set 'producer.allowNonTransactional' to send outside transactions",
        topic,
      );
    }
    if (records.length === 0) return [];
    const out = records.map((r) => this.toTransport(topic, r));
    const producer = scope ? undefined : await this.connected();
    try {
      const meta = producer ? await producer.send(topic, out, { acks }) : await scope!.transaction.send(topic, out);
      this.observer?.send({ topic, count: records.length, ok: true });
      return meta;
    } catch (err) {
      this.observer?.send({ topic, count: records.length, ok: false });
      throw new KafkaProducerError(
        `KafkaTemplate: sending ${records.length} record(s) to '${topic}' failed: ${err instanceof Error ? err.message : String(err)}`,
        topic,
        { cause: err },
      );
    }
  }

  /** Sends to `producer.defaultTopic` of the module options (Spring's `sendDefault`). */
  sendDefault(value: unknown, options: SendOptions = {}): Promise<RecordMetadata> {
    const topic = this.options.producer?.defaultTopic;
    if (!topic) {
      return Promise.reject(
        new KafkaProducerError(`KafkaTemplate.sendDefault: no default topic; set 'producer.defaultTopic' in KafkaModule.forRoot`, ''),
      );
    }
    return this.send(topic, value, options);
  }

  /** Partition count of a topic, or undefined when it does not exist (used by `DeadLetterPublishingRecoverer`). */
  async partitionsFor(topic: string): Promise<number | undefined> {
    this.admin ??= (async () => {
      const admin = this.transport().createAdmin(this.options.client);
      await admin.connect();
      return admin;
    })();
    return (await this.admin).partitionCount(topic);
  }

  async onApplicationShutdown(): Promise<void> {
    const [producer, admin, transactional] = [this.producer, this.admin, this.transactional];
    this.producer = undefined;
    this.admin = undefined;
    this.transactional = undefined;
    await Promise.allSettled([producer?.then((p) => p.disconnect()), admin?.then((a) => a.disconnect()), transactional?.close()]);
  }

  private transport() {
    return this.options.transport ?? (this.defaultTransport ??= new KafkajsTransport());
  }

  private defaultTransport: KafkajsTransport | undefined;

  /** The acks a send uses: the one asked for, else `producer.acks`; rejects what the producer cannot do. */
  private acksOf(topic: string, asked: -1 | 0 | 1 | undefined): -1 | 0 | 1 {
    const p = this.options.producer ?? {};
    if (asked === undefined) return p.acks ?? -1;
    if (asked !== -1 && asked !== 0 && asked !== 1) {
      throw new KafkaProducerError(`KafkaTemplate: acks must be -1 (all), 1 (leader) or 0 (none), got ${JSON.stringify(asked)}`, topic);
    }
    if (asked !== -1 && p.idempotent) {
      throw new KafkaProducerError(`KafkaTemplate: acks ${asked} on an idempotent producer; idempotence needs acks -1 (all), so leave acks out or give -1`, topic);
    }
    return asked;
  }

  private connected(): Promise<TransportProducer> {
    if (!this.producer) {
      const p = this.options.producer ?? {};
      const producer = this.transport().createProducer(this.options.client, {
        acks: p.acks ?? -1,
        idempotent: p.idempotent ?? false,
        allowAutoTopicCreation: p.allowAutoTopicCreation ?? true,
        ...(p.timeoutMs !== undefined && { timeoutMs: p.timeoutMs }),
      });
      this.producer = producer.connect().then(
        () => producer,
        (err: unknown) => {
          this.producer = undefined;
          throw new KafkaProducerError(
            `KafkaTemplate: cannot connect to ${this.options.client.brokers.join(', ')}: ${err instanceof Error ? err.message : String(err)}`,
            '',
            { cause: err },
          );
        },
      );
    }
    return this.producer;
  }

  private toTransport(topic: string, r: ProducerRecord): TransportProducerRecord {
    let value: Buffer | string | null;
    const v = r.value;
    if (v === null || Buffer.isBuffer(v) || typeof v === 'string') value = v as Buffer | string | null;
    else if (v === undefined) {
      throw new KafkaProducerError(`KafkaTemplate: the value for '${topic}' is undefined; send null for a tombstone`, topic);
    } else {
      try {
        value = JSON.stringify(v);
      } catch (err) {
        throw new KafkaProducerError(
          `KafkaTemplate: the value for '${topic}' cannot be serialized as JSON (${(err as Error).message}); send a string or Buffer`,
          topic,
          { cause: err },
        );
      }
    }
    const k = r.key;
    const key = k === undefined || k === null ? null : typeof k === 'number' ? String(k) : k;
    return {
      key,
      value,
      ...(r.headers && { headers: r.headers }),
      ...(r.partition !== undefined && { partition: r.partition }),
      ...(r.timestamp !== undefined && { timestamp: r.timestamp }),
    };
  }
}
