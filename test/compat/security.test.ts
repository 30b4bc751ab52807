/**
 * SASL and TLS with the Debian clients against the embedded broker: librdkafka (confluent-kafka-python and
 * kcat) authenticates through SaslHandshake v1 and SaslAuthenticate, kafka-python 2.x through SaslHandshake
 * v0 and raw tokens. Each produces and consumes in a group with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, and a
 * wrong password writes nothing and is logged by the broker without the password. Then SASL over TLS
 * (SASL_SSL), with the client verifying the broker's certificate.
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../broker/support/tls.js';
import { b64, kcat, type PythonClient, type PythonConsumeResult, type PythonProduceResult, python, run, unb64 } from './support/clients.js';

const USER = 'alice';
const PASSWORD = 'alice-secret-pw';
const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
type Mechanism = (typeof MECHANISMS)[number];

let broker: EmbeddedKafkaBroker;
const warnings: string[] = [];

beforeAll(async () => {
  broker = await EmbeddedKafkaBroker.start({
    logger: { ...silentLogger, warn: (line) => void warnings.push(line) },
    sasl: { mechanisms: [...MECHANISMS], users: { [USER]: PASSWORD } },
  });
});

afterAll(async () => {
  await broker?.stop();
});

/** Each Python client's settings for SASL over plaintext. */
const PYTHON_SASL: Record<PythonClient, (mechanism: Mechanism, password: string) => Record<string, unknown>> = {
  kafka_python: (mechanism, password) => ({
    security_protocol: 'SASL_PLAINTEXT',
    sasl_mechanism: mechanism,
    sasl_plain_username: USER,
    sasl_plain_password: password,
  }),
  confluent: (mechanism, password) => ({
    'security.protocol': 'SASL_PLAINTEXT',
    'sasl.mechanisms': mechanism,
    'sasl.username': USER,
    'sasl.password': password,
  }),
};

/** A topic per case, so that each reads back exactly what it wrote. */
const topicFor = (client: string, mechanism: Mechanism) => `sasl-${client}-${mechanism.toLowerCase()}`.replace(/_/g, '-');

/** The broker logged a failed authentication with `mechanism`, and never the wrong password. */
function expectRefusalLogged(mechanism: Mechanism) {
  expect(warnings.some((w) => w.startsWith(`SASL ${mechanism} authentication failed from 127.0.0.1:`))).toBe(true);
  expect(warnings.some((w) => w.includes('wrong-password') || w.includes(PASSWORD))).toBe(false);
}

describe.each(['kafka_python', 'confluent'] as const)('%s', (client) => {
  it.each(MECHANISMS)('produces and consumes in a group with %s', async (mechanism) => {
    const topic = topicFor(client, mechanism);
    const config = PYTHON_SASL[client](mechanism, PASSWORD);
    const value = `over ${mechanism}`;
    const { sent } = await python<PythonProduceResult>(client, { op: 'produce', bootstrap: broker.brokers[0], topic, records: [{ key: null, value: b64(value) }], config });
    expect(broker.records(topic, sent[0].partition).map((r) => r.value?.toString())).toEqual([value]);

    const group = `${topic}-group`;
    const { records } = await python<PythonConsumeResult>(client, { op: 'consume', bootstrap: broker.brokers[0], topic, group, count: 1, timeout_ms: 20_000, config });
    expect(records.map((r) => unb64(r.value)!.toString())).toEqual([value]);
    expect(broker.committedOffsets(group).map((c) => c.offset)).toEqual([1]);
  });

  it('writes nothing with a wrong password', async () => {
    const topic = topicFor(client, 'SCRAM-SHA-256') + '-refused';
    // Give up quickly: kafka-python waits for a usable broker, librdkafka for the message to be delivered.
    const quick = client === 'kafka_python' ? { max_block_ms: 5_000 } : { 'message.timeout.ms': 5_000 };
    const failure = await python(client, {
      op: 'produce',
      bootstrap: broker.brokers[0],
      topic,
      records: [{ key: null, value: b64('must not land') }],
      timeout_ms: 10_000,
      config: { ...PYTHON_SASL[client]('SCRAM-SHA-256', 'wrong-password'), ...quick },
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    // kafka-python reports a connection closed during authentication as no broker available; librdkafka logs the error.
    expect(failure?.message).toMatch(client === 'kafka_python' ? /kafka_python produce failed .*NoBrokersAvailable/ : /SASL authentication error: Authentication failed/);
    expect(broker.topicNames()).not.toContain(topic);
    expectRefusalLogged('SCRAM-SHA-256');
  });
});

describe('kcat', () => {
  const sasl = (mechanism: Mechanism, password: string) => ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${USER}`, '-X', `sasl.password=${password}`];

  it.each(MECHANISMS)('produces and consumes with %s', async (mechanism) => {
    const topic = topicFor('kcat', mechanism);
    await kcat(['-b', broker.brokers[0], '-P', '-t', topic, ...sasl(mechanism, PASSWORD)], { input: `over ${mechanism}\n` });
    const read = await kcat(['-b', broker.brokers[0], '-C', '-t', topic, '-e', ...sasl(mechanism, PASSWORD)]);
    expect(read.toString().trim()).toBe(`over ${mechanism}`);
  });

  it('exits non-zero with a wrong password, writing nothing', async () => {
    const topic = topicFor('kcat', 'PLAIN') + '-refused';
    const result = await run('kcat', ['-q', '-b', broker.brokers[0], '-P', '-t', topic, ...sasl('PLAIN', 'wrong-password'), '-X', 'message.timeout.ms=5000'], { input: 'must not land\n' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/brokers are down/);
    expect(broker.topicNames()).not.toContain(topic);
    expectRefusalLogged('PLAIN');
  });
});

describe('SASL over TLS (SASL_SSL), the certificate verified', () => {
  let tlsBroker: EmbeddedKafkaBroker;
  let caFile: string;

  beforeAll(async () => {
    const identity = selfSignedCertificate();
    caFile = identity.certFile;
    tlsBroker = await EmbeddedKafkaBroker.start({
      logger: silentLogger,
      tls: { key: identity.key, cert: identity.cert },
      sasl: { mechanisms: [...MECHANISMS], users: { [USER]: PASSWORD } },
    });
  });

  afterAll(async () => {
    await tlsBroker?.stop();
  });

  it('kcat produces and consumes with SCRAM-SHA-512', async () => {
    const args = ['-b', tlsBroker.brokers[0], '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${caFile}`, '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${USER}`, '-X', `sasl.password=${PASSWORD}`];
    await kcat([...args, '-P', '-t', 'tls-kcat'], { input: 'over tls\n' });
    expect((await kcat([...args, '-C', '-t', 'tls-kcat', '-e'])).toString().trim()).toBe('over tls');
  });

  it('kafka-python produces and consumes in a group with PLAIN', async () => {
    const config = { ...PYTHON_SASL.kafka_python('PLAIN', PASSWORD), security_protocol: 'SASL_SSL', ssl_cafile: caFile };
    const { sent } = await python<PythonProduceResult>('kafka_python', { op: 'produce', bootstrap: tlsBroker.brokers[0], topic: 'tls-kp', records: [{ key: null, value: b64('over tls') }], config });
    expect(tlsBroker.records('tls-kp', sent[0].partition).map((r) => r.value?.toString())).toEqual(['over tls']);
    const { records } = await python<PythonConsumeResult>('kafka_python', { op: 'consume', bootstrap: tlsBroker.brokers[0], topic: 'tls-kp', group: 'tls-kp', count: 1, timeout_ms: 20_000, config });
    expect(records.map((r) => unb64(r.value)!.toString())).toEqual(['over tls']);
  });
});
