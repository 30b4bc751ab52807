// Wrong container settings for a pattern fail the start with a message naming the pattern and the fix.
import { Controller, type Type } from '@nestjs/common';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { KafkaNestServer } from '@kafka-nest/core/microservices';
import { createKafkaTestBroker, KafkaTestingModule } from '@kafka-nest/testing';
import { afterAll, expect, it } from 'vitest';

@Controller()
class Misspelled {
  @EventPattern('audit', { kafka: { concurency: 2 } })
  onAudit(_event: unknown): void {}
}

@Controller()
class Audit {
  @EventPattern('audit')
  onAudit(_event: unknown): void {}
}

@Controller()
class ObjectPattern {
  @MessagePattern({ cmd: 'sum' })
  sum(_numbers: unknown): void {}
}

const broker = await createKafkaTestBroker();
afterAll(() => broker.stop());

async function listen(controller: Type, server = new KafkaNestServer()) {
  const module = await Test.createTestingModule({ imports: [KafkaTestingModule.forBroker(broker)], controllers: [controller] }).compile();
  const app = module.createNestMicroservice({ strategy: server, logger: false });
  try {
    await app.listen();
  } finally {
    await app.close();
  }
}

it("refuses a setting in a pattern's extras that is not a container setting", async () => {
  await expect(listen(Misspelled)).rejects.toThrow(/@EventPattern\("audit"\): extras 'kafka' has 'concurency', which is not a container setting; use one of id, groupId, concurrency/);
});

it('refuses a pattern that is not a topic name (Nest object patterns)', async () => {
  await expect(listen(ObjectPattern)).rejects.toThrow(/@MessagePattern\("\{\\"cmd\\":\\"sum\\"\}"\).*is not a legal Kafka topic name/);
});

it("refuses a bad setting in the server's patterns map", async () => {
  await expect(listen(Audit, new KafkaNestServer({ patterns: { audit: { concurrency: 0 } } }))).rejects.toThrow(/'concurrency' must be an integer of at least 1, got 0/);
});
