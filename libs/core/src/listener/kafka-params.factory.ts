import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core';
import { KafkaParamType } from '../kafka.constants.js';
import type { Acknowledgment } from './acknowledgment.js';
import type { ConsumedRecord } from './consumed-record.js';

/**
 * The third argument of a listener invocation (the first two being the payload and the `KafkaContext`,
 * which `ExecutionContext.switchToRpc().getData()/getContext()` return to guards and interceptors).
 */
export interface ListenerInvocation {
  readonly batch: boolean;
  /** The deserialized key, or the keys of a batch. */
  readonly key: unknown;
  readonly records: readonly ConsumedRecord[];
  readonly ack: Acknowledgment;
}

function decodeHeaders(record: ConsumedRecord): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of Object.keys(record.headers)) out[name] = record.headers[name]?.toString('utf8');
  return out;
}

function pick(value: unknown, property: ParamData): unknown {
  return typeof property === 'string' && value !== null && typeof value === 'object'
    ? (value as Record<string, unknown>)[property]
    : value;
}

/** Resolves `@Payload`, `@Key`, `@Header`, `@Headers`, `@Ack` and `@Ctx` for `ExternalContextCreator`. */
export class KafkaParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData, args: [unknown, unknown, ListenerInvocation]): unknown {
    return this.valueFor(type, data, args[0], args[1], args[2]);
  }

  /** The value of one parameter, from the invocation's payload, context and the rest. */
  valueFor(type: number, data: ParamData, payload: unknown, ctx: unknown, inv: ListenerInvocation): unknown {
    switch (type as KafkaParamType) {
      case KafkaParamType.PAYLOAD:
        if (data === undefined) return payload;
        return inv.batch ? (payload as unknown[]).map((v) => pick(v, data)) : pick(payload, data);
      case KafkaParamType.KEY:
        return inv.key;
      case KafkaParamType.HEADER: {
        const name = String(data);
        return inv.batch
          ? inv.records.map((r) => r.headers[name]?.toString('utf8'))
          : inv.records[0].headers[name]?.toString('utf8');
      }
      case KafkaParamType.HEADERS:
        return inv.batch ? inv.records.map(decodeHeaders) : decodeHeaders(inv.records[0]);
      case KafkaParamType.ACK:
        return inv.ack;
      case KafkaParamType.CONTEXT:
        return ctx;
      default:
        return undefined;
    }
  }
}
