/**
 * Every codec on both sides. Records that kcat (librdkafka) writes with `-z gzip|snappy|lz4|zstd` reach a
 * `@KafkaListener` intact; records `KafkaTemplate` writes with each codec (per send, or as the producer
 * property) are stored compressed with that codec and read exactly by kcat and confluent-kafka-python.
 */
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Ctx, type KafkaContext, KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { createKafkaTestBroker, KafkaTestingModule, waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PythonConsumeResult, kcat, python, unb64 } from './support/clients.js';
import { KCAT_EXACT_FORMAT, parseKcatExact } from './support/kcat-format.js';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const CODEC_IDS = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

@Injectable()
class FromKcatListener {
  readonly received = new Map<string, { key: string | null; value: string }[]>();

  @KafkaListener({ id: 'from-kcat', topics: CODECS.map((c) => `kcat-${c}`), fromBeginning: true, deserializer: 'string' })
  on(@Payload() value: string, @Ctx() ctx: KafkaContext) {
    const list = this.received.get(ctx.topic) ?? [];
    list.push({ key: ctx.record.key === null ? null : ctx.record.key.toString(), value });
    this.received.set(ctx.topic, list);
  }
}

/** The codec ids of the batches stored for a topic's partition 0, read from the broker's log (test-only access). */
function storedCodecs(broker: EmbeddedKafkaBroker, topic: string): number[] {
  const partition = broker.cluster.topics.get(topic)!.partition(0)!;
  const batches = (partition.log as unknown as { batches: { bytes: Buffer }[] }).batches;
  return batches.map((b) => b.bytes.readInt16BE(21) & 0x07);
}

describe('compression codecs, both sides', () => {
  let broker: EmbeddedKafkaBroker;
  let app: Awaited<ReturnType<ReturnType<typeof Test.createTestingModule>['compile']>>;
  let bootstrap: string;

  beforeAll(async () => {
    broker = await createKafkaTestBroker({ topics: CODECS.map((c) => ({ name: `kcat-${c}` })) });
    bootstrap = broker.brokers[0];
    app = await Test.createTestingModule({
      imports: [KafkaTestingModule.forBroker(broker, { producer: { compression: 'snappy' } })],
      providers: [FromKcatListener],
    }).compile();
    app.useLogger(false);
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await broker?.stop();
  });

  it.each(CODECS)('records kcat writes with -z %s reach a @KafkaListener intact', async (codec) => {
    const topic = `kcat-${codec}`;
    const lines = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `${codec} record ${i}: ${'zażółć gęślą jaźń '.repeat(i % 7)}` }));
    await kcat(['-b', bootstrap, '-P', '-t', topic, '-p', '0', '-z', codec, '-K', '\t', '-X', 'linger.ms=50'], {
      input: lines.map((l) => `${l.key}\t${l.value}\n`).join(''),
    });
    expect(storedCodecs(broker, topic)).toEqual([CODEC_IDS[codec]]);
    const listener = app.get(FromKcatListener);
    await waitFor(() => (listener.received.get(topic)?.length ?? 0) >= lines.length, { timeoutMs: 20_000 });
    expect(listener.received.get(topic)).toEqual(lines);
    // the broker decodes every codec too (inspection API)
    expect(broker.records(topic).map((r) => r.value!.toString())).toEqual(lines.map((l) => l.value));
  });

  it.each(CODECS)('records KafkaTemplate sends with compression %s are read exactly by kcat and confluent-kafka', async (codec) => {
    const topic = `template-${codec}`;
    const values = Array.from({ length: 30 }, (_, i) => Buffer.from(`${codec} #${i} `.repeat(1 + (i % 9)) + String.fromCharCode(0, 255)));
    await app.get(KafkaTemplate).sendBatch(
      topic,
      values.map((value, i) => ({ key: `k${i}`, value, partition: 0, headers: { codec } })),
      { compression: codec },
    );
    expect(storedCodecs(broker, topic)).toEqual([CODEC_IDS[codec]]);

    const viaKcat = parseKcatExact(await kcat(['-b', bootstrap, '-C', '-t', topic, '-e', '-f', KCAT_EXACT_FORMAT]));
    expect(viaKcat.map((r) => r.value)).toEqual(values);
    expect(viaKcat.map((r) => r.key?.toString())).toEqual(values.map((_, i) => `k${i}`));

    const viaConfluent = await python<PythonConsumeResult>('confluent', { op: 'consume', bootstrap, topic, group: `tpl-${codec}`, count: values.length, commit: false });
    expect(viaConfluent.records.map((r) => unb64(r.value))).toEqual(values);
    expect(viaConfluent.records.map((r) => r.headers)).toEqual(values.map(() => [['codec', Buffer.from(codec).toString('base64')]]));
  });

  it('compresses transactional sends too: the producer property, or the send\'s own', async () => {
    const txApp = await Test.createTestingModule({
      imports: [KafkaTestingModule.forBroker(broker, { transactionIdPrefix: 'compressed-tx-', producer: { compression: 'lz4' } })],
    }).compile();
    txApp.useLogger(false);
    await txApp.init();
    try {
      const template = txApp.get(KafkaTemplate);
      await template.executeInTransaction(async (t) => {
        await t.send('template-tx', 'by the producer property', { partition: 0 });
        await t.send('template-tx', 'by the send', { partition: 0, compression: 'zstd' });
      });
      // data batches carry the codec; the commit marker (a control batch) is never compressed
      expect(storedCodecs(broker, 'template-tx')).toEqual([CODEC_IDS.lz4, CODEC_IDS.zstd, CODEC_IDS.none]);
      const viaKcat = parseKcatExact(await kcat(['-b', bootstrap, '-C', '-t', 'template-tx', '-e', '-X', 'isolation.level=read_committed', '-f', KCAT_EXACT_FORMAT]));
      expect(viaKcat.map((r) => r.value?.toString())).toEqual(['by the producer property', 'by the send']);
    } finally {
      await txApp.close();
    }
  });

  it("uses the producer property 'compression' when a send names none, and refuses an unknown codec naming the choices", async () => {
    const template = app.get(KafkaTemplate);
    await template.send('template-default', 'compressed by the producer property', { partition: 0 });
    expect(storedCodecs(broker, 'template-default')).toEqual([CODEC_IDS.snappy]);
    await template.send('template-default', 'not compressed', { partition: 0, compression: 'none' });
    expect(storedCodecs(broker, 'template-default')).toEqual([CODEC_IDS.snappy, CODEC_IDS.none]);
    await expect(template.send('template-default', 'x', { compression: 'brotli' as 'gzip' })).rejects.toThrow(
      /compression "brotli"; use one of 'none', 'gzip', 'snappy', 'lz4', 'zstd' \(Kafka's compression.type\)/,
    );
  });
});
