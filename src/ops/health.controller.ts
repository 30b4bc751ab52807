import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
import { KafkaListenerEndpointRegistry } from '@kafka-nest/core';
import { APP_CONFIG, type ResolvedAppConfig } from '../app.config.js';
import { kafkaProblemAt } from './kafka-probe.js';

@Controller('health')
export class HealthController {
  constructor(
    private readonly registry: KafkaListenerEndpointRegistry,
    @Inject(APP_CONFIG) private readonly config: ResolvedAppConfig,
  ) {}

  /**
   * 200 with each broker's reachability (it answers a Kafka request within 1 s; `problem` says why not)
   * and each listener container's state; 503 when no broker answers.
   */
  @Get()
  async health() {
    const brokers = await Promise.all(
      this.config.brokers.map(async (address) => {
        const problem = await kafkaProblemAt(address, 1000);
        return problem === undefined ? { address, reachable: true } : { address, reachable: false, problem };
      }),
    );
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
