/**
 * The contract of an API handler and the registry built from them. Each handler file serves one API key
 * over a range of versions; ApiVersions answers from this registry, so what is advertised is exactly what
 * is implemented.
 */
import type { ApiKey } from '../protocol/api-keys.js';
import type { Reader } from '../protocol/reader.js';
import type { Writer } from '../protocol/writer.js';
import type { Cluster } from '../cluster.js';
import type { BrokerNode } from '../node.js';
import type { Connection } from '../connection.js';

/** What a handler sees of the request besides its body. */
export interface RequestContext {
  readonly cluster: Cluster;
  /** The broker node that received the request. */
  readonly node: BrokerNode;
  readonly connection: Connection;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /**
   * Set when an injected fault scoped to a topic hits a handler with `topicFaults`: the error code the
   * entries of `topic` must get (undefined for the other topics, which are handled as usual).
   */
  readonly injectedError?: (topic: string) => number | undefined;
}

/**
 * Nothing is to be sent for this request: the connection was closed (a dropped connection, a cancelled
 * delay). A handler may return it too, after closing the connection itself.
 */
export const NO_RESPONSE: unique symbol = Symbol('kafka-nest:no-response');

export interface ApiHandler<Req = any, Res = any> {
  readonly apiKey: ApiKey;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  /** First flexible version (KIP-482: compact types and tagged fields), if any served version is one. */
  readonly flexibleVersion?: number;
  decode(r: Reader, version: number): Req;
  handle(req: Req, ctx: RequestContext): Res | typeof NO_RESPONSE | Promise<Res | typeof NO_RESPONSE>;
  encode(w: Writer, res: Res, version: number): void;
  /**
   * The response to `req` with every entry failing with `errorCode`: how fault injection answers, and a handler
   * refusing a whole request. `errorMessage` goes where the response has an error message field.
   */
  errorResponse(req: Req, errorCode: number, ctx: RequestContext, errorMessage?: string): Res;
  /** The topics a request names, so a fault can be scoped to one topic. */
  topics?(req: Req): string[];
  /**
   * Whether `handle` applies `ctx.injectedError` per topic entry. Then a fault scoped to one topic fails only
   * that topic's entries and the rest of the request is handled; otherwise it fails the whole request.
   */
  readonly topicFaults?: boolean;
  /**
   * Whether `req` gets a response; absent means it always does. When it does not (Produce with acks 0), the
   * response `handle` returns is not sent, and an injected error closes the connection instead, as Kafka
   * closes a connection on an error it cannot report.
   */
  expectsResponse?(req: Req): boolean;
}

/** Handlers by API key. Registering a key twice is a programming error, reported at start-up. */
export class HandlerRegistry {
  private readonly byKey = new Map<number, ApiHandler>();

  constructor(handlers: readonly ApiHandler[]) {
    for (const h of handlers) {
      const existing = this.byKey.get(h.apiKey);
      if (existing) {
        throw new Error(`API key ${h.apiKey} is registered twice (${existing.name} and ${h.name}); each API key has one handler file`);
      }
      if (h.minVersion > h.maxVersion) throw new Error(`${h.name}: minVersion ${h.minVersion} > maxVersion ${h.maxVersion}`);
      this.byKey.set(h.apiKey, h);
    }
  }

  get(apiKey: number): ApiHandler | undefined {
    return this.byKey.get(apiKey);
  }

  /** Every served API with its version range, sorted by key, as ApiVersions reports it. */
  versions(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.byKey.values()]
      .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }
}
