/**
 * Finds the `@EventPattern` / `@MessagePattern` methods of an application's controllers (the metadata
 * `@nestjs/microservices` writes), and resolves their parameters (`@Payload()`, `@Ctx()`) as Nest's RPC
 * transports do. Internal.
 */
import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core';

/** `@nestjs/microservices`' metadata keys (its `constants.js`) and `PatternHandler` values. */
const PATTERN_METADATA = 'microservices:pattern';
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';
const PATTERN_HANDLER_EVENT = 2;
const TRANSPORT_METADATA = 'microservices:transport';

/** `@nestjs/microservices`' `RpcParamtype`. */
const enum RpcParamtype {
  PAYLOAD = 3,
  CONTEXT = 6,
}

/** One pattern method of a controller instance. */
export interface PatternMethod {
  readonly instance: object;
  readonly methodName: string;
  /** The patterns as decorated (strings, objects or RegExps). */
  readonly patterns: readonly unknown[];
  readonly isEventHandler: boolean;
  /** The transport the pattern is bound to (`@EventPattern('x', Transport.KAFKA)`), if any. */
  readonly transport: unknown;
}

/** The pattern methods of `instance`, by its prototype's method names. */
export function patternMethodsOf(instance: object, methodNames: readonly string[]): PatternMethod[] {
  const prototype = Object.getPrototypeOf(instance) as Record<string, Function>;
  const out: PatternMethod[] = [];
  for (const methodName of methodNames) {
    const method = prototype[methodName];
    const type = Reflect.getMetadata(PATTERN_HANDLER_METADATA, method) as number | undefined;
    if (type === undefined) continue;
    const patterns = (Reflect.getMetadata(PATTERN_METADATA, method) as unknown[] | undefined) ?? [];
    const transport: unknown = Reflect.getMetadata(TRANSPORT_METADATA, method);
    out.push({ instance, methodName, patterns, isEventHandler: type === PATTERN_HANDLER_EVENT, transport });
  }
  return out;
}

/**
 * `@Payload(property?)` and `@Ctx()` of an RPC handler, from the invocation's payload and context: Nest's
 * `RpcParamsFactory`, with the `valueFor` shape the explorer's direct invoker uses.
 */
export class RpcParams implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
    return this.valueFor(type, data, args[0], args[1]);
  }

  valueFor(type: number, data: ParamData | undefined, payload: unknown, ctx: unknown): unknown {
    switch (type as RpcParamtype) {
      case RpcParamtype.PAYLOAD:
        return data ? (payload as Record<string, unknown> | null | undefined)?.[data as string] : payload;
      case RpcParamtype.CONTEXT:
        return ctx;
      default:
        return null;
    }
  }
}
