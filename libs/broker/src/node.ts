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
  private server: Server | null = null;
  /** Port bound; fixed after the first start so a restarted node comes back at the same address. */
  port: number;

  constructor(
    readonly id: number,
    readonly host: string,
    port: number,
    private readonly cluster: Cluster,
  ) {
    this.port = port;
    this.unauthenticated = new UnauthenticatedConnections(cluster.options.maxUnauthenticatedConnections);
  }

  get alive(): boolean {
    return this.server !== null;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const tls = this.cluster.options.tls;
    const onSocket = (socket: import('node:net').Socket) => {
      const connection = new Connection(socket, this, this.cluster);
      if (!connection.isClosed) this.connections.add(connection); // one refused at once is not kept
    };
    // A TLS handshake not finished in time is dropped: it is unauthenticated work as much as SASL is.
    const server = tls ? createTlsServer({ handshakeTimeout: this.cluster.options.unauthenticatedTimeoutMs, ...tls }, onSocket) : createServer(onSocket);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(`node ${this.id} cannot listen on ${this.host}:${this.port}: the port is in use; pick another port or 0 for a free one`, { cause: err })
            : err,
        );
      });
      server.listen({ host: this.host, port: this.port }, () => resolve());
    });
    server.on('error', (err) => this.cluster.logger.error(`node ${this.id} listener error: ${err.message}`));
    // A failed or timed-out TLS handshake: Node reports it but leaves the raw socket open.
    server.on('tlsClientError', (err: Error, socket: import('node:net').Socket) => {
      this.cluster.logger.info(`node ${this.id}: TLS handshake from ${socket.remoteAddress}:${socket.remotePort} failed: ${err.message}`);
      socket.destroy();
    });
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.server = server;
  }

  /** Stops listening and drops every connection; the cluster's data is kept. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const c of [...this.connections]) c.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
