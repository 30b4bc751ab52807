/**
 * Which errors are worth retrying (Spring Kafka's `ExceptionClassifier` with a `BinaryExceptionClassifier`
 * that traverses causes).
 */
import { BadRequestException, ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { DeserializationError } from '../kafka.errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * The errors not retried by default: the record goes to the recoverer on its first failure.
 * - `DeserializationError`: the bytes will not change on redelivery.
 * - `BadRequestException`: what Nest's `ValidationPipe` (and `ParseIntPipe` and friends) throw when a payload
 *   is rejected; a payload that fails validation once fails it every time.
 *   These two stand for Spring's `MessageConversionException`/`ConversionException` and
 *   `MethodArgumentResolutionException`.
 * - `ForbiddenException`, `UnauthorizedException`: what a guard refusing the record throws (Nest's guards
 *   throw `ForbiddenException` when `canActivate` returns false); the same record is refused every time.
 * - `TypeError`, `ReferenceError`: programming errors, the JavaScript counterparts of the
 *   `ClassCastException`/`NoSuchMethodException` Spring does not retry. A `TypeError` that carries a
 *   `cause` is judged by its cause instead: Node's `fetch()` reports a refused or reset connection as
 *   `TypeError: fetch failed` with the network error as cause, which is worth retrying.
 */
export const DEFAULT_NOT_RETRYABLE: readonly ErrorClass[] = [
  DeserializationError,
  BadRequestException,
  ForbiddenException,
  UnauthorizedException,
  TypeError,
  ReferenceError,
];

/** Default classifications that step aside for an error's cause when the error has one (see `TypeError` above). */
const JUDGED_BY_CAUSE: readonly ErrorClass[] = [TypeError];

/**
 * Classifies errors as retryable or not. An error is looked up by its class and then its superclasses; the
 * cause chain (`error.cause`, then its cause, ...) is walked from the outside in, and the first error with
 * an explicit classification decides (a `TypeError` with a cause passes the decision to its cause, unless
 * `TypeError` was classified explicitly). An error nothing matches gets the default (retryable, unless
 * `defaultFalse()` was called).
 */
export class ExceptionClassifier {
  private readonly classified = new Map<ErrorClass, boolean>();
  /** Classes whose (default) classification applies only to errors without a cause; the user's own classification of them always applies. */
  private readonly judgedByCause = new Set<ErrorClass>(JUDGED_BY_CAUSE);
  private defaultRetryable = true;

  constructor() {
    for (const cls of DEFAULT_NOT_RETRYABLE) this.classified.set(cls, false);
  }

  /** Errors of these classes (and subclasses) go straight to the recoverer. Spring's `addNotRetryableExceptions`. */
  addNotRetryableErrors(...classes: ErrorClass[]): void {
    for (const cls of classes) this.classify(cls, false);
  }

  /** Errors of these classes (and subclasses) are retried, even after `defaultFalse()`. Spring's `addRetryableExceptions`. */
  addRetryableErrors(...classes: ErrorClass[]): void {
    for (const cls of classes) this.classify(cls, true);
  }

  private classify(cls: ErrorClass, retryable: boolean): void {
    this.classified.set(cls, retryable);
    this.judgedByCause.delete(cls);
  }

  /**
   * Forgets the classification of one class, which then gets the default (or its superclass's). Returns the
   * classification it had, or undefined. Spring's `removeClassification`.
   */
  removeClassification(cls: ErrorClass): boolean | undefined {
    const previous = this.classified.get(cls);
    this.classified.delete(cls);
    this.judgedByCause.delete(cls);
    return previous;
  }

  /**
   * Makes unclassified errors not retryable, and forgets the default not-retryable list: only the classes
   * given to `addRetryableErrors` are retried from then on. Spring's `defaultFalse()`.
   */
  defaultFalse(): void {
    this.defaultRetryable = false;
    for (const [cls, retryable] of [...this.classified]) if (!retryable) this.classified.delete(cls);
  }

  /** Whether `error` should be retried. */
  isRetryable(error: unknown): boolean {
    const seen = new Set<unknown>();
    for (let current: unknown = error; current !== undefined && current !== null && !seen.has(current); ) {
      seen.add(current);
      const explicit = this.lookUp(current);
      if (explicit !== undefined) return explicit;
      current = (current as { cause?: unknown }).cause;
    }
    return this.defaultRetryable;
  }

  private lookUp(error: unknown): boolean | undefined {
    if (typeof error !== 'object' && typeof error !== 'function') return undefined;
    const hasCause = (error as { cause?: unknown }).cause !== undefined;
    for (let proto = Object.getPrototypeOf(error); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      const cls = proto.constructor as ErrorClass;
      const found = this.classified.get(cls);
      if (found === undefined) continue;
      if (hasCause && this.judgedByCause.has(cls)) return undefined;
      return found;
    }
    return undefined;
  }
}
