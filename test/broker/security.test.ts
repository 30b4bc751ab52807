import { ApiKey, type BrokerLogger, EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reader } from '../../libs/broker/src/protocol/reader.js';
import { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient, requestFrame } from './raw-client.js';
import { selfSignedCertificate } from './support/tls.js';

// `a` / `b` make a PLAIN token of 4 bytes, shorter than any request.
const users = { alice: 'alice-secret-pw', bob: 'bob-secret-pw', a: 'b' };

function recordingLogger(lines: string[]): BrokerLogger {
  const push = (m: string) => void lines.push(m);
  return { debug: push, info: push, warn: push, error: push };
}

async function roundTrip(config: KafkaConfig, topic: string): Promise<string[]> {
  const kafka = new Kafka({ ...config, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: [{ value: 'secured' }] });
  } finally {
    await producer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((o) => o.high);
  } finally {
    await admin.disconnect();
  }
}

describe('SASL authentication', () => {
  let broker: EmbeddedKafkaBroker;
  const logLines: string[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({
      logger: recordingLogger(logLines),
      sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], users },
      topics: [{ name: 'secure', partitions: 1 }],
    });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)('accepts the right password with %s', async (mechanism) => {
    const before = broker.endOffset('secure');
    await roundTrip({ brokers: broker.brokers, sasl: { mechanism, username: 'alice', password: users.alice } as never }, 'secure');
    expect(broker.endOffset('secure')).toBe(before + 1);
  });

  it.each(['plain', 'scram-sha-256', 'scram-sha-512'] as const)('refuses a wrong password with %s, and the client sees an authentication error', async (mechanism) => {
    const before = broker.endOffset('secure');
    const error = await roundTrip({ brokers: broker.brokers, sasl: { mechanism, username: 'alice', password: 'wrong-password' } as never }, 'secure').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('KafkaJSSASLAuthenticationError');
    expect(broker.endOffset('secure')).toBe(before);
  });

  it('refuses a client that does not authenticate at all', async () => {
    const error = await roundTrip({ brokers: broker.brokers }, 'secure').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
  });

  it('authenticates after a SaslHandshake v0 with raw tokens (kafka-python 2.x), and closes the connection on a wrong password', async () => {
    const port = Number(broker.brokers[0].split(':')[1]);
    const sizePrefixed = (token: string) => new Writer().bytes(Buffer.from(token)).toBuffer();
    const handshake = async (client: RawClient) => {
      const r = await client.request({ apiKey: ApiKey.SaslHandshake, apiVersion: 0, body: (w) => w.string('PLAIN') });
      expect(r.int16()).toBe(0);
      expect(r.array((r) => r.string())).toEqual(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    };

    const good = await RawClient.connect(port);
    await handshake(good);
    good.send(sizePrefixed(`\u0000alice\u0000${users.alice}`));
    expect(await good.nextFrame()).toEqual(Buffer.alloc(0)); // PLAIN's empty server token: authenticated
    const metadata = await good.request({ apiKey: ApiKey.Metadata, apiVersion: 1, body: (w) => w.array(['secure'], (w, t) => w.string(t)) });
    expect(metadata.array((r) => ({ nodeId: r.int32(), host: r.string(), port: r.int32(), rack: r.nullableString() }))).toEqual([
      { nodeId: 0, host: '127.0.0.1', port, rack: null },
    ]);
    good.close();

    const bad = await RawClient.connect(port);
    await handshake(bad);
    bad.send(sizePrefixed('\u0000alice\u0000wrong-password'));
    await bad.closed;
    expect(bad.isOpen).toBe(false);

    // Handshake and a 4-byte token in one write: the token is read before the handshake is handled.
    const pipelined = await RawClient.connect(port);
    pipelined.send(Buffer.concat([requestFrame({ apiKey: ApiKey.SaslHandshake, apiVersion: 0, body: (w) => w.string('PLAIN') }, 1), sizePrefixed('\u0000a\u0000b')]));
    expect(new Reader(await pipelined.nextFrame()).int32()).toBe(1);
    expect(await pipelined.nextFrame()).toEqual(Buffer.alloc(0));
    pipelined.close();
  });

  it('bounds frames to 512 KiB until the client has authenticated, then to maxRequestBytes', async () => {
    const port = Number(broker.brokers[0].split(':')[1]);
    const header = (size: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(size, 0);
      return b;
    };
    const anonymous = await RawClient.connect(port);
    anonymous.send(header(512 * 1024 + 1));
    await anonymous.closed;
    expect(logLines.some((l) => l.includes('frame of 524289 bytes before SASL authentication; at most 524288 bytes'))).toBe(true);

    // Authenticated, the same size is a request like any other: a Produce of a 600 KiB value is written.
    const before = broker.endOffset('secure');
    const kafka = new Kafka({ brokers: broker.brokers, sasl: { mechanism: 'plain', username: 'bob', password: users.bob }, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: 'secure', messages: [{ value: Buffer.alloc(600 * 1024, 1) }] });
    } finally {
      await producer.disconnect();
    }
    expect(broker.endOffset('secure')).toBe(before + 1);
  });

  it('never writes a password to the log', () => {
    expect(logLines.some((l) => l.includes('authentication failed'))).toBe(true);
    for (const line of logLines) {
      expect(line).not.toContain(users.alice);
      expect(line).not.toContain('wrong-password');
    }
  });
});

describe('TLS listener', () => {
  let broker: EmbeddedKafkaBroker;
  let cert: string;

  beforeAll(async () => {
    const identity = selfSignedCertificate();
    cert = identity.cert;
    broker = await EmbeddedKafkaBroker.start({
      logger: recordingLogger([]),
      tls: { key: identity.key, cert },
      sasl: { users },
      topics: [{ name: 'tls', partitions: 1 }],
    });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('serves kafkajs over TLS with SASL/PLAIN, verifying the certificate', async () => {
    const highs = await roundTrip({ brokers: broker.brokers, ssl: { ca: [cert] }, sasl: { mechanism: 'plain', username: 'bob', password: users.bob } }, 'tls');
    expect(highs).toEqual(['1']);
  });

  it('refuses a plaintext client on the TLS port', async () => {
    const error = await roundTrip({ brokers: broker.brokers, connectionTimeout: 1000, requestTimeout: 2000 }, 'tls').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(Error);
  });
});

describe('listener address', () => {
  it('binds to loopback unless told otherwise', async () => {
    const broker = await EmbeddedKafkaBroker.start({ logger: recordingLogger([]) });
    try {
      expect(broker.brokers[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    } finally {
      await broker.stop();
    }
  });
});
