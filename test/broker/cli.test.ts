/**
 * The standalone broker CLI (`npm run broker`): started as a child process on a free port, it prints its
 * bootstrap address, serves kafkajs, and exits 0 on SIGTERM; a bad argument exits 2 with one line naming
 * the flag.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';

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
    for (const option of ['--port ', '--host ', '--brokers ', '--ports ', '--partitions ', '--topic ', '--no-auto-create ', '--verbose ']) {
      expect(optionLines.find((line) => line.includes(option)), option).toMatch(/default: \S/);
    }
    expect(optionLines.some((line) => line.includes('--help'))).toBe(true);
  });
});
