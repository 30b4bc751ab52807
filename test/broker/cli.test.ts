/**
 * The standalone broker CLI (`npm run broker`): started as a child process on a free port, it prints its
 * bootstrap address, serves kafkajs, and exits 0 on SIGTERM; a bad argument exits 2 with one line naming
 * the flag.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate } from './support/tls.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = fileURLToPath(new URL('../../libs/broker/src/cli.ts', import.meta.url));

/** Starts the CLI; `lines` resolves stdout lines as they come, `exit` the exit code. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', cli, ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  /** Resolves the first stdout match of `pattern`; rejects if the process exits first. */
  const waitForLine = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(stdout);
        if (m) {
          child.stdout.off('data', check);
          resolve(m);
        }
      };
      child.stdout.on('data', check);
      check();
      void exit.then(({ code }) => reject(new Error(`the CLI exited with ${code} before printing ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`)));
    });
  return { child, exit, waitForLine };
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('broker CLI', () => {
  it('prints the bootstrap address, serves kafkajs, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const cliRun = startCli(['--port', String(port), '--topic', 'cli-orders:2']);
    const [, bootstrap] = await cliRun.waitForLine(/^bootstrap: (\S+)$/m);
    expect(bootstrap).toBe(`127.0.0.1:${port}`);

    const kafka = new Kafka({ brokers: [bootstrap], clientId: 'cli-test', logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: ['cli-orders'] });
    await admin.disconnect();
    expect(metadata.topics[0].partitions).toHaveLength(2);

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'cli-orders', acks: -1, messages: [{ key: 'k', value: 'hello from the CLI test', partition: 1 }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'cli-test', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'cli-orders', fromBeginning: true });
    const received = new Promise<{ partition: number; value: string }>((resolve) => {
      void consumer.run({ eachMessage: async ({ partition, message }) => resolve({ partition, value: message.value!.toString() }) });
    });
    expect(await received).toEqual({ partition: 1, value: 'hello from the CLI test' });
    await consumer.disconnect();

    cliRun.child.kill('SIGTERM');
    const { code, stderr } = await cliRun.exit;
    expect(code).toBe(0);
    expect(stderr).toContain('SIGTERM, stopping');
  });

  it('serves TLS with SASL users and mechanisms, ACLs with super users, and the initial rebalance delay', async () => {
    const tls = selfSignedCertificate();
    const keyFile = join(dirname(tls.certFile), 'key.pem');
    const cliRun = startCli([
      '--port', '0',
      '--tls-cert', tls.certFile,
      '--tls-key', keyFile,
      '--user', 'alice:alice-secret',
      '--user', 'bob:bob:secret',
      '--sasl', 'SCRAM-SHA-256,PLAIN',
      '--super-user', 'User:alice',
      '--group-initial-rebalance-delay-ms', '250',
      '--topic', 'cli-secure',
    ]); // prettier-ignore
    const [, bootstrap] = await cliRun.waitForLine(/^bootstrap: (\S+)$/m);
    const as = (mechanism: 'scram-sha-256' | 'plain', username: string, password: string) =>
      new Kafka({ brokers: [bootstrap], clientId: 'cli-test', ssl: { ca: [tls.cert] }, sasl: { mechanism, username, password } as never, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    const alice = as('scram-sha-256', 'alice', 'alice-secret');
    const bob = as('plain', 'bob', 'bob:secret');
    try {
      await alice.connect();
      expect(await alice.listTopics()).toEqual(['cli-secure']); // a super user sees everything
      const { resources } = await alice.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.BROKER, name: '0', configNames: ['group.initial.rebalance.delay.ms'] }],
      });
      expect(resources[0].configEntries[0].configValue).toBe('250');
      await bob.connect();
      expect(await bob.listTopics()).toEqual([]); // ACLs are enforced: bob has none
      const refused = await as('plain', 'bob', 'wrong').connect().catch((e: Error) => e);
      expect(refused).toBeInstanceOf(Error);
    } finally {
      await Promise.all([alice.disconnect(), bob.disconnect()]);
      cliRun.child.kill('SIGTERM');
    }
    expect((await cliRun.exit).code).toBe(0);
  });

  it('serves several listeners on one node, as Kafka\'s listeners setting, and prints each', async () => {
    const cliRun = startCli(['--listener', 'PLAINTEXT://:0', '--listener', 'SASL_PLAINTEXT://:0', '--user', 'alice:alice-secret', '--sasl', 'SCRAM-SHA-512']);
    const [, plain] = await cliRun.waitForLine(/^listener PLAINTEXT: (\S+)$/m);
    const [, secured] = await cliRun.waitForLine(/^listener SASL_PLAINTEXT: (\S+)$/m);
    expect(plain).not.toBe(secured);
    const anonymous = new Kafka({ brokers: [plain], logLevel: logLevel.NOTHING }).admin();
    const alice = new Kafka({
      brokers: [secured],
      sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' },
      logLevel: logLevel.NOTHING,
    }).admin();
    try {
      await Promise.all([anonymous.connect(), alice.connect()]);
      expect((await anonymous.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`)).toEqual([plain]);
      expect((await alice.describeCluster()).brokers.map((b) => `${b.host}:${b.port}`)).toEqual([secured]);
    } finally {
      await Promise.all([anonymous.disconnect(), alice.disconnect()]);
      cliRun.child.kill('SIGTERM');
    }
    expect((await cliRun.exit).code).toBe(0);
  });

  it('stops with exit 0 on SIGINT (Ctrl-C) too', async () => {
    const cliRun = startCli(['--port', '0', '--brokers', '2']);
    const [, bootstrap] = await cliRun.waitForLine(/^bootstrap: (\S+)$/m);
    expect(bootstrap.split(',')).toHaveLength(2);
    cliRun.child.kill('SIGINT');
    expect((await cliRun.exit).code).toBe(0);
  });

  it.each([
    [['--port', 'abc'], /^kafka-nest broker: --port expects a port number 0\.\.65535, got 'abc'\n$/],
    [['--brokers', '3', '--ports', '9092,9095'], /^kafka-nest broker: --ports lists 2 port\(s\) for --brokers 3; give one port per broker, e\.g\. --brokers 3 --ports 9092,9095,9098\n$/],
    [['--colour'], /^kafka-nest broker: unknown option '--colour'; run with --help to list the options\n$/],
    [['--topic', 'orders:none'], /^kafka-nest broker: --topic expects name\[:partitions\].*got 'none'\n$/],
    [['--sasl', 'PLAIN'], /^kafka-nest broker: --sasl needs at least one --user name:password to accept\n$/],
    [['--user', 'alice:s', '--sasl', 'PLAIN,KERBEROS'], /^kafka-nest broker: --sasl expects mechanisms from PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, comma-separated, got 'PLAIN,KERBEROS'\n$/],
    [['--user', 'alice'], /^kafka-nest broker: --user expects name:password, e\.g\. alice:alice-secret, got 'alice:…'\n$/],
    [['--tls-cert', 'cert.pem'], /^kafka-nest broker: --tls-cert and --tls-key go together/],
    [['--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'], /^kafka-nest broker: --tls-cert cannot read '\/nonexistent\/cert\.pem'/],
    [['--super-user', 'admin'], /^kafka-nest broker: --super-user expects a principal Type:name, e\.g\. User:admin, got 'admin'\n$/],
    [['--listener', 'HTTP://:8080'], /^kafka-nest broker: --listener expects NAME:\/\/:port with NAME one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, e\.g\. SASL_SSL:\/\/:9093, got 'HTTP:\/\/:8080'\n$/],
    [['--listener', 'SASL_SSL://:9093'], /^kafka-nest broker: --listener SASL_SSL needs SASL users: add --user name:password\n$/],
    [['--listener', 'PLAINTEXT://:9092', '--port', '9092'], /^kafka-nest broker: --listener gives each listener its port; leave out --port and --ports\n$/],
    [['--group-initial-rebalance-delay-ms', 'soon'], /^kafka-nest broker: --group-initial-rebalance-delay-ms expects a number of milliseconds, got 'soon'\n$/],
  ])('rejects %j with exit 2 and one line naming the flag', async (args, message) => {
    const { code, stdout, stderr } = await startCli(args).exit;
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('--help lists every option with its default', async () => {
    const { code, stdout } = await startCli(['--help']).exit;
    expect(code).toBe(0);
    const optionLines = stdout.split('\n').filter((line) => /^\s+-/.test(line));
    for (const option of [
      '--port ',
      '--host ',
      '--brokers ',
      '--ports ',
      '--partitions ',
      '--topic ',
      '--no-auto-create ',
      '--verbose ',
      '--user ',
      '--sasl ',
      '--tls-cert ',
      '--tls-key ',
      '--acls ',
      '--super-user ',
      '--group-initial-rebalance-delay-ms ',
      '--listener ',
    ]) {
      expect(optionLines.find((line) => line.includes(option)), option).toMatch(/default: \S/);
    }
    expect(optionLines.some((line) => line.includes('--help'))).toBe(true);
  });
});
