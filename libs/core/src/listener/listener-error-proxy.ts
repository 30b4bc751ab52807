/**
 * Runs a listener's exception filters the way Nest's `ExternalErrorProxy` does, with one difference: a
 * filter that itself fails (throws, or returns a rejected promise, with an error other than the one it was
 * given) does not replace the listener's error. The original error goes on to the error handler, to be
 * classified, retried and dead-lettered; the filter's failure is logged as one warning per listener and
 * filter. The common case is a global catch-all HTTP filter (`host.switchToHttp().getResponse().status(...)`),
 * which has no HTTP response to write to when the error comes from a Kafka listener. Internal.
 */
import { type ArgumentsHost, Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/internal';
import { FILTER_CATCH_EXCEPTIONS } from '../kafka.constants.js';

/** What Nest's filters context hands the proxy: `next(error, host)`. */
interface ExceptionsHandler {
  next(error: unknown, host: ArgumentsHost): unknown;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Target = (...args: any[]) => Promise<unknown>;

/** A filter as `@UseFilters` or `useGlobalFilters` holds it: a class or an instance. */
export type FilterRef = object;

function filterClass(filter: FilterRef): Function {
  return typeof filter === 'function' ? filter : (filter as object).constructor;
}

/**
 * The name of the filter Nest picks for `error` among `filters` (in Nest's order: method filters, class
 * filters, then global ones, the last declared first): the first whose `@Catch()` lists no class or a
 * class `error` is an instance of.
 */
export function selectedFilterName(filters: readonly FilterRef[], error: unknown): string | undefined {
  for (const filter of filters) {
    const cls = filterClass(filter);
    const catches = (Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, cls) as Function[] | undefined) ?? [];
    if (catches.length === 0 || catches.some((c) => error instanceof c)) return cls.name || 'an anonymous exception filter';
  }
  return undefined;
}

export class ListenerErrorProxy {
  private readonly logger = new Logger('KafkaListener');
  private readonly warned = new Set<string>();

  constructor(
    /** The listener, `Class.method`, for the warning. */
    private readonly listener: string,
    /** The filters that apply to the listener, in Nest's order (see `selectedFilterName`). */
    private readonly filters: () => readonly FilterRef[],
  ) {}

  /** Same contract as Nest's `ExternalErrorProxy.createProxy`. */
  createProxy(target: Target, handler: ExceptionsHandler, type: string): Target {
    return async (...args: unknown[]) => {
      try {
        return await target(...args);
      } catch (original) {
        const host = new ExecutionContextHost(args);
        host.setType(type);
        try {
          return await handler.next(original, host);
        } catch (thrown) {
          if (thrown === original) throw original;
          this.warnOnce(original, thrown);
          throw original;
        }
      }
    };
  }

  private warnOnce(original: unknown, thrown: unknown): void {
    const filter = selectedFilterName(this.filters(), original) ?? 'an exception filter';
    if (this.warned.has(filter)) return;
    this.warned.add(filter);
    const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
    const originalName = original instanceof Error ? original.name : typeof original;
    this.logger.warn(
      `exception filter ${filter} threw while handling ${originalName} from listener ${this.listener} (${what}); ` +
        `the listener's own error goes to the error handler. A filter meant for HTTP has no response to write to ` +
        `here: check host.getType() === 'kafka' first, or bind it to controllers only (logged once per listener and filter)`,
    );
  }
}
