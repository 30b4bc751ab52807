/**
 * Several listeners on every node, as Kafka's `listeners` setting: a plaintext, a SASL and a TLS port on each
 * node of a 2-node cluster. Each listener applies its own security, and Metadata and FindCoordinator answer
 * with the addresses of the listener the client came in on, so a client stays on its listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { selfSignedCertificate } from './support/tls.js';

describe('several listeners on one node', () => {
  const tls = selfSignedCertificate();
  let broker: EmbeddedKafkaBroker;

  const client = (listener: string, extra: Partial<KafkaConfig> = {}) =>
    new Kafka({ clientId: `listener-${listener}`, brokers: broker.listenerBrokers(listener), logLevel: logLevel.NOTHING, retry: { retries: 0 }, ...extra });

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({
      logger: silentLogger,
      brokers: 2,
      topics: [{ name: 'listened', partitions: 2 }],
      sasl: { mechanisms: ['SCRAM-SHA-256'], users: { alice: 'alice-secret' } },
      tls: { key: tls.key, cert: tls.cert },
      listeners: [{ name: 'PLAINTEXT' }, { name: 'SASL_PLAINTEXT', sasl: true }, { name: 'SSL', tls: true }],
    });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('gives every node a port per listener; brokers lists the first', () => {
    const ports = ['PLAINTEXT', 'SASL_PLAINTEXT', 'SSL'].flatMap((l) => broker.listenerBrokers(l));
    expect(new Set(ports).size).toBe(6);
    expect(broker.brokers).toEqual(broker.listenerBrokers('PLAINTEXT'));
    expect(() => broker.listenerBrokers('INTERNAL')).toThrow(/no listener named 'INTERNAL'; the listeners are PLAINTEXT, SASL_PLAINTEXT, SSL/);
  });

  it.each([
    ['PLAINTEXT', {}],
    ['SASL_PLAINTEXT', { sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' } }],
    ['SSL', { ssl: { ca: [tls.cert] } }],
  ] as const)('serves %s with its security and reports its own addresses in Metadata and FindCoordinator', async (listener, extra) => {
    const kafka = client(listener, extra as Partial<KafkaConfig>);
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `group-${listener}` });
    try {
      await Promise.all([admin.connect(), producer.connect(), consumer.connect()]);
      const { brokers } = await admin.describeCluster();
      expect(brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual(broker.listenerBrokers(listener).sort());
      await producer.send({ topic: 'listened', messages: [{ key: listener, value: listener }] });
      await consumer.subscribe({ topic: 'listened', fromBeginning: true });
      const read = new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => (String(message.key) === listener ? resolve(String(message.value)) : undefined) });
      });
      expect(await read).toBe(listener);
    } finally {
      await Promise.all([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    }
  });

  it('requires SASL on the SASL listener only', async () => {
    const admin = client('SASL_PLAINTEXT').admin();
    const refused = await admin
      .connect()
      .then(() => admin.listTopics())
      .catch((e: Error) => e);
    await admin.disconnect().catch(() => {});
    expect(refused).toBeInstanceOf(Error);
  });

  it('refuses a listener needing SASL or TLS the broker was not given', async () => {
    await expect(EmbeddedKafkaBroker.start({ logger: silentLogger, listeners: [{ name: 'SASL_SSL', sasl: true, tls: true }] })).rejects.toThrow(
      /listener 'SASL_SSL' requires SASL, but the broker has no 'sasl' option/,
    );
  });
});
