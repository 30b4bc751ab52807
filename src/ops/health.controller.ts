import { connect } from 'node:net';
import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { KafkaListenerEndpointRegistry } from '@kafka-nest/core';
import { APP_CONFIG, type ResolvedAppConfig } from '../app.config.js';

/** Resolves whether a TCP connection to `host:port` opens within `timeoutMs`. */
export function reachable(address: string, timeoutMs = 1000): Promise<boolean> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

@Controller('health')
export class HealthController {
  constructor(
    private readonly registry: KafkaListenerEndpointRegistry,
    @Inject(APP_CONFIG) private readonly config: ResolvedAppConfig,
  ) {}

  /** 200 with each broker's reachability and each listener container's state; 503 when no broker answers. */
  @Get()
  async health() {
    const brokers = await Promise.all(this.config.brokers.map(async (address) => ({ address, reachable: await reachable(address) })));
    const containers = this.registry.getListenerContainers().map((c) => ({
      id: c.id,
      groupId: c.groupId,
      running: c.isRunning(),
      paused: c.isPaused(),
      assigned: c.assignedPartitions(),
    }));
    const status = brokers.some((b) => b.reachable) ? 'up' : 'down';
    const body = { status, embeddedBroker: this.config.embedded, brokers, containers };
    if (status === 'down') throw new HttpException(body, HttpStatus.SERVICE_UNAVAILABLE);
    return body;
  }
}
