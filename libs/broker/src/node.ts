/**
 * One broker node of the embedded cluster: a TCP listener with its connections. All nodes share the
 * cluster's state (topics, logs, groups); a node only decides which requests it may answer, by leadership
 * and coordination, as a real cluster would.
 */
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Cluster } from './cluster.js';
import { Connection } from './connection.js';
import { UnauthenticatedConnections } from './connection-limits.js';

export class BrokerNode {
  readonly connections = new Set<Connection>();
  /** Connections open and not yet authenticated (with SASL), against `maxUnauthenticatedConnections`. */
  readonly unauthenticated: UnauthenticatedConnections;
  private servers: Server[] | null = null;
  /** Port bound by each listener; fixed after the first start so a restarted node comes back at the same addresses. */
  readonly ports: number[];

  constructor(
    readonly id: number,
    readonly host: string,
    ports: readonly number[],
    private readonly cluster: Cluster,
  ) {
    this.ports = [...ports];
    this.unauthenticated = new UnauthenticatedConnections(cluster.options.maxUnauthenticatedConnections);
  }

  get alive(): boolean {
    return this.servers !== null;
  }

  /** Port of the first listener. */
  get port(): number {
    return this.ports[0];
  }

  /** `host:port` of the first listener. */
  get address(): string {
    return this.addressOf(0);
  }

  /** `host:port` of listener `listener` (its index in the cluster's listeners). */
  addressOf(listener: number): string {
    return `${this.host}:${this.ports[listener]}`;
  }

  async start(): Promise<void> {
    if (this.servers) return;
    const servers: Server[] = [];
    try {
      for (const [i, listener] of this.cluster.options.listeners.entries()) servers.push(await this.listen(i, listener.tls));
    } catch (err) {
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      throw err;
    }
    this.servers = servers;
  }

  private async listen(listener: number, tls: boolean): Promise<Server> {
    const onSocket = (socket: import('node:net').Socket) => {
      const connection = new Connection(socket, this, this.cluster, listener);
      if (!connection.isClosed) this.connections.add(connection); // one refused at once is not kept
    };
    // A TLS handshake not finished in time is dropped: it is unauthenticated work as much as SASL is.
    const server = tls ? createTlsServer({ handshakeTimeout: this.cluster.options.unauthenticatedTimeoutMs, ...this.cluster.options.tls! }, onSocket) : createServer(onSocket);
    const port = this.ports[listener];
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`node ${this.id} cannot listen on ${this.host}:${port}: the port is in use; pick another port or 0 for a free one`, { cause: err })
            : err,
        );
      });
      server.listen({ host: this.host, port }, () => resolve());
    });
    server.on('error', (err) => this.cluster.logger.error(`node ${this.id} listener error: ${err.message}`));
    // A failed or timed-out TLS handshake: Node reports it but leaves the raw socket open.
    server.on('tlsClientError', (err: Error, socket: import('node:net').Socket) => {
      this.cluster.logger.info(`node ${this.id}: TLS handshake from ${socket.remoteAddress}:${socket.remotePort} failed: ${err.message}`);
      socket.destroy();
    });
    const address = server.address();
    if (address && typeof address === 'object') this.ports[listener] = address.port;
    return server;
  }

  /** Stops listening and drops every connection; the cluster's data is kept. */
  async stop(): Promise<void> {
    const servers = this.servers;
    if (!servers) return;
    this.servers = null;
    for (const c of [...this.connections]) c.close();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
