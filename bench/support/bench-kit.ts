/**
 * What the listener, microservices and tracing benches share: the median, a meter that times a run from the
 * end of the first handler call to the last record, and the seeding of the bench topic.
 */
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaModule, type KafkaModuleOptions, KafkaTemplate } from '@kafka-nest/core';
import { Test } from '@nestjs/testing';

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Counts records; resolves with records/second from the end of the first call to the end of the last. */
export class Meter {
  private count = 0;
  /** Records of the first call: handled before the clock started, so not counted. */
  private uncounted = 0;
  private first = 0;
  private cpuAtFirst: NodeJS.CpuUsage | undefined;
  /** Process CPU time (user + system, broker included) per counted record, in µs. */
  cpuPerRecordUs = Number.NaN;
  private resolve!: (rate: number) => void;
  readonly done = new Promise<number>((r) => (this.resolve = r));

  constructor(private readonly records: number) {}

  /** `n` records handled (a batch call hands several). */
  hit(n = 1): void {
    if (this.count === 0) {
      this.first = performance.now();
      this.cpuAtFirst = process.cpuUsage();
      this.uncounted = n;
    }
    this.count += n;
    if (this.count >= this.records) {
      const cpu = process.cpuUsage(this.cpuAtFirst);
      this.cpuPerRecordUs = (cpu.user + cpu.system) / (this.count - this.uncounted);
      this.resolve(((this.count - this.uncounted) / (performance.now() - this.first)) * 1000);
    }
  }
}

/**
 * Writes `records` JSON values of about 100 bytes to `topic`, round robin over `partitions`, in sends of
 * 1000 through a `KafkaTemplate` of its own (with `options` added to the module's).
 */
export async function seedBenchTopic(
  broker: EmbeddedKafkaBroker,
  topic: string,
  records: number,
  partitions: number,
  options: Partial<KafkaModuleOptions> = {},
): Promise<void> {
  const producer = await Test.createTestingModule({ imports: [KafkaModule.forRoot({ client: { brokers: broker.brokers }, ...options })] }).compile();
  producer.useLogger(false);
  await producer.init();
  const template = producer.get(KafkaTemplate);
  const payload = 'x'.repeat(64);
  for (let start = 0; start < records; start += 1000) {
    await template.sendBatch(topic, Array.from({ length: Math.min(1000, records - start) }, (_, k) => ({ value: { i: start + k, payload }, partition: (start + k) % partitions })));
  }
  await producer.close();
}
