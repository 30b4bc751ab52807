/**
 * Bounds that keep a hostile or broken client from taking the broker's memory or CPU from everyone else,
 * each a small named piece the connection calls:
 *
 * - {@link RequestMemoryBudget}: the bytes of request frames buffered across every connection of the
 *   cluster (partial frames and frames queued for handling). A chunk that would pass the budget closes the
 *   connection that sent it, so eight clients each sending most of a 99 MiB frame cannot hold 800 MB.
 * - `requestReceiveTimeoutMs` (in the connection): a frame must arrive whole within this time of its first
 *   byte, so a half-sent frame does not stay buffered forever.
 * - {@link UnauthenticatedConnections}: with SASL on, how many connections of a node may be open and not
 *   yet authenticated, and how long each may stay so (the TLS handshake counts towards that time).
 * - {@link clientText}: client-supplied strings (client ids, topic and group names) as they go into a log
 *   line, with control characters escaped and the length capped, so a client cannot forge log lines or
 *   write terminal escape sequences into an operator's console.
 */

/** Bytes of request frames held in memory across all connections of a cluster, against a cap. */
export class RequestMemoryBudget {
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get used(): number {
    return this.held;
  }

  /** Takes `bytes` if they fit under the cap; false (nothing taken) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
  }
}

/** The not-yet-authenticated connections of one node, against a cap. */
export class UnauthenticatedConnections {
  private count = 0;

  constructor(readonly max: number) {}

  get open(): number {
    return this.count;
  }

  /** Counts a new connection if there is room; false otherwise. */
  tryAdmit(): boolean {
    if (this.count >= this.max) return false;
    this.count++;
    return true;
  }

  /** The connection authenticated or closed. */
  leave(): void {
    this.count = Math.max(0, this.count - 1);
  }
}

const MAX_CLIENT_TEXT = 200;

/**
 * A client-supplied string made safe for a log line: quoted, control characters (C0, DEL, C1), line and
 * paragraph separators and bidirectional overrides escaped as `\uXXXX` (`\n`, `\r`, `\t` as themselves),
 * cut after 200 characters with the cut length said. `null` reads as `null`.
 */
export function clientText(s: string | null | undefined): string {
  if (s === null || s === undefined) return 'null';
  const cut = s.length > MAX_CLIENT_TEXT ? s.slice(0, MAX_CLIENT_TEXT) : s;
  // eslint-disable-next-line no-control-regex
  const escaped = cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069'\\]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    if (c === "'") return "\\'";
    if (c === '\\') return '\\\\';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `'${escaped}'${s.length > MAX_CLIENT_TEXT ? `... (${s.length} chars)` : ''}`;
}
