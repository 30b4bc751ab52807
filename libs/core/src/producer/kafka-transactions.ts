/**
 * Kafka transactions for `KafkaTemplate` and transactional listener containers: the transactional
 * producers (Spring's `DefaultKafkaProducerFactory` with a `transactionIdPrefix`) and the transaction a piece
 * of code runs in, carried through async calls by `AsyncLocalStorage` the way Spring binds it to the thread.
 * A `KafkaTemplate.send` made while a transaction is bound joins it.
 *
 * Producers: `executeInTransaction` borrows an idle producer from a pool whose transactional ids are
 * `<prefix><n>` (n counting from 0, as Spring's); a listener container uses one producer per group, topic and
 * partition, `<prefix><group>.<topic>.<partition>` (Spring's fencing scheme for EOSMode V1), so the instance
 * that takes over a partition after a rebalance or a crash fences the previous owner and aborts what it left
 * open. A producer whose commit or abort failed is closed and replaced, never reused.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { KafkaTransactionError } from '../kafka.errors.js';
import type { TopicPartitionOffset, TransportProducer, TransportTransaction } from '../transport/kafka-transport.js';

/** The transaction code runs in. */
export interface KafkaTransactionScope {
  /** `transactional.id` of the producer running it. */
  readonly transactionalId: string;
  readonly transaction: TransportTransaction;
}

const bound = new AsyncLocalStorage<KafkaTransactionScope>();

/** The transaction bound to the current async context, if any. */
export function currentTransaction(): KafkaTransactionScope | undefined {
  return bound.getStore();
}

interface PooledProducer {
  readonly transactionalId: string;
  readonly producer: Promise<TransportProducer>;
}

/** Transactional producers of one application, by transactional id. */
export class TransactionalProducers {
  private readonly idle: PooledProducer[] = [];
  private readonly fixed = new Map<string, PooledProducer>();
  private readonly open = new Set<PooledProducer>();
  private next = 0;
  private closed = false;
  /** The last call queued per dedicated transactional id (`executeOn`). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    /** `transactionIdPrefix`. */
    readonly prefix: string,
    private readonly create: (transactionalId: string) => TransportProducer,
  ) {}

  /**
   * Runs `work` in a new transaction on a pooled producer: commits when it resolves, aborts when it throws
   * (and rethrows what it threw).
   */
  async execute<T>(work: (scope: KafkaTransactionScope) => Promise<T>): Promise<T> {
    const pooled = this.idle.pop() ?? this.make(`${this.prefix}${this.next++}`);
    return this.run(pooled, work);
  }

  /**
   * Runs `work` in a transaction on the producer dedicated to `suffix` (a listener's group.topic.partition),
   * made on first use. Calls for one suffix run one after another: a partition is processed one delivery at a
   * time, but during a rebalance its old and new consumer in this process may both hold a delivery of it.
   */
  executeOn<T>(suffix: string, work: (scope: KafkaTransactionScope) => Promise<T>): Promise<T> {
    const transactionalId = `${this.prefix}${suffix}`;
    const previous = this.queues.get(transactionalId);
    const next = (previous ? previous.then(noop, noop) : Promise.resolve()).then(() => {
      let pooled = this.fixed.get(transactionalId);
      if (!pooled) this.fixed.set(transactionalId, (pooled = this.make(transactionalId)));
      return this.run(pooled, work);
    });
    this.queues.set(transactionalId, next);
    const forget = () => {
      if (this.queues.get(transactionalId) === next) this.queues.delete(transactionalId);
    };
    next.then(forget, forget);
    return next;
  }

  private make(transactionalId: string): PooledProducer {
    if (this.closed) throw new KafkaTransactionError(`transactional producer '${transactionalId}' requested after shutdown`, transactionalId);
    const producer = this.create(transactionalId);
    const connected = producer.connect().then(() => producer);
    const pooled: PooledProducer = { transactionalId, producer: connected };
    this.open.add(pooled);
    connected.catch(() => this.discard(pooled));
    return pooled;
  }

  private async run<T>(pooled: PooledProducer, work: (scope: KafkaTransactionScope) => Promise<T>): Promise<T> {
    const { transactionalId } = pooled;
    let transaction: TransportTransaction;
    try {
      transaction = await (await pooled.producer).transaction!();
    } catch (err) {
      this.discard(pooled);
      throw new KafkaTransactionError(`could not begin a transaction on producer '${transactionalId}': ${messageOf(err)}`, transactionalId, { cause: err });
    }
    const scope: KafkaTransactionScope = { transactionalId, transaction };
    let result: T;
    try {
      result = await bound.run(scope, () => work(scope));
    } catch (err) {
      if (isProducerFenced(err)) {
        // Another producer initialised this transactional id (a new owner of the partition): the broker has
        // aborted this transaction, and every later request of this producer would be refused. Close it; the
        // next transaction on this id starts a new producer, which fences the other one in turn.
        this.discard(pooled);
        throw err;
      }
      try {
        await transaction.abort();
        this.release(pooled);
      } catch (abortErr) {
        this.discard(pooled);
        throw new KafkaTransactionError(
          `the transaction of producer '${transactionalId}' failed (${messageOf(err)}) and could not be aborted (${messageOf(abortErr)}); ` +
            'the broker aborts it when transaction.timeout.ms expires or the next producer with this id starts',
          transactionalId,
          { cause: err },
        );
      }
      throw err;
    }
    try {
      await transaction.commit();
    } catch (err) {
      // After a failed commit the producer's state is unknown: close it; the next one with its id fences it.
      this.discard(pooled);
      throw new KafkaTransactionError(`committing the transaction of producer '${transactionalId}' failed: ${messageOf(err)}`, transactionalId, { cause: err });
    }
    this.release(pooled);
    return result;
  }

  private release(pooled: PooledProducer): void {
    if (this.closed || this.fixed.get(pooled.transactionalId) === pooled) return;
    this.idle.push(pooled);
  }

  private discard(pooled: PooledProducer): void {
    this.open.delete(pooled);
    if (this.fixed.get(pooled.transactionalId) === pooled) this.fixed.delete(pooled.transactionalId);
    const i = this.idle.indexOf(pooled);
    if (i >= 0) this.idle.splice(i, 1);
    pooled.producer.then((p) => p.disconnect()).catch(() => {});
  }

  /** Disconnects every producer (application shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.open];
    this.open.clear();
    this.idle.length = 0;
    this.fixed.clear();
    await Promise.allSettled(all.map((p) => p.producer.then((producer) => producer.disconnect())));
  }
}

/** Sends consumed offsets (next offset to read) into the bound transaction; throws when none is bound. */
export async function sendOffsetsToTransaction(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void> {
  const scope = currentTransaction();
  if (!scope) {
    throw new KafkaTransactionError(
      'sendOffsetsToTransaction: no transaction is in process; call it inside template.executeInTransaction(...) or a transactional listener',
      '',
    );
  }
  await scope.transaction.sendOffsets(groupId, offsets);
}

const noop = () => undefined;

/** Kafka errors telling a transactional producer that a newer one with its transactional id fenced it. */
const FENCED_ERRORS: ReadonlySet<unknown> = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/** Whether `err`, or an error of its cause chain (a `KafkaProducerError` wraps kafkajs's), says the producer was fenced. */
function isProducerFenced(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (FENCED_ERRORS.has((e as { type?: unknown }).type)) return true;
  }
  return false;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
