/**
 * Running the Debian Kafka clients from the compatibility tests: the standalone broker (the CLI as a child
 * process), kcat, and the Python scripts in ../clients, each with a bounded timeout. A client that fails or
 * times out rejects with its exit status and the tail of its stderr, so a protocol gap shows in the report.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cliPath = fileURLToPath(new URL('../../../libs/broker/src/cli.ts', import.meta.url));
const clientsDir = fileURLToPath(new URL('../clients/', import.meta.url));

export const PYTHON = '/usr/bin/python3';

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`), feeding `input` on stdin. */
export function run(command: string, args: readonly string[], options: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<ProcessResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(out), stderr: err };
      if (timedOut) reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${tail(err)}\nstdout: ${tail(result.stdout.toString())}`));
      else resolve(result);
    });
    child.stdin.on('error', () => {}); // a client that exits early closes its stdin; its exit status tells the story
    child.stdin.end(options.input ?? '');
  });
}

const tail = (text: string, lines = 30) => text.trimEnd().split('\n').slice(-lines).join('\n');

/** Runs a command and resolves its stdout; rejects with stderr when it exits non-zero. */
export async function runOk(command: string, args: readonly string[], options: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<Buffer> {
  const r = await run(command, args, options);
  if (r.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${r.code ?? r.signal}\n${tail(r.stderr)}\nstdout: ${tail(r.stdout.toString())}`);
  }
  return r.stdout;
}

/** kcat with a bounded timeout; rejects on a non-zero exit. */
export function kcat(args: readonly string[], options: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<Buffer> {
  return runOk('kcat', ['-q', ...args], options);
}

/** A record as the Python scripts exchange it: bytes as base64, null kept. */
export interface WireRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: [string, string | null][];
  readonly timestamp?: number;
}

export interface PythonConsumeResult {
  readonly records: WireRecord[];
  /** Offsets the client read back after committing, by partition. */
  readonly committed: Record<string, number>;
}

export interface PythonProduceResult {
  readonly sent: { partition: number; offset: number }[];
}

export type PythonClient = 'kafka_python' | 'confluent';

/** Runs test/compat/clients/<client>_client.py with a JSON spec; resolves its JSON answer or rejects with its error. */
export async function python<T>(client: PythonClient, spec: Record<string, unknown>, timeoutMs = 40_000): Promise<T> {
  const r = await run(PYTHON, [`${clientsDir}${client}_client.py`, JSON.stringify(spec)], { timeoutMs });
  let answer: (T & { error?: string }) | undefined;
  try {
    answer = JSON.parse(r.stdout.toString()) as T & { error?: string };
  } catch {
    // not JSON: fall through to the error below with the raw output
  }
  if (r.code !== 0 || !answer || answer.error) {
    throw new Error(`${client} ${String(spec.op)} failed (exit ${r.code ?? r.signal}): ${answer?.error ?? r.stdout.toString()}\n${tail(r.stderr)}`);
  }
  return answer;
}

export const b64 = (b: Buffer | string | null | undefined): string | null =>
  b === null || b === undefined ? null : (Buffer.isBuffer(b) ? b : Buffer.from(b)).toString('base64');
export const unb64 = (s: string | null): Buffer | null => (s === null ? null : Buffer.from(s, 'base64'));

/** A standalone broker: the CLI (`npm run broker`) as a child process. */
export interface StandaloneBroker {
  readonly bootstrap: string;
  readonly brokers: string[];
  readonly child: ChildProcess;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** Sends `signal` and resolves the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the CLI with `args` and resolves once it prints its bootstrap line. */
export function startStandaloneBroker(args: readonly string[], timeoutMs = 20_000): Promise<StandaloneBroker> {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', cliPath, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the broker CLI printed no bootstrap line within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the broker CLI exited (${code ?? signal}) before it was ready\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^bootstrap: (\S+)$/m.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({
        bootstrap: m[1],
        brokers: m[1].split(','),
        child,
        stderr: () => stderr,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/** A quiet kafkajs client. */
export function kafkajs(brokers: string[], clientId = 'compat-kafkajs'): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });
}

/**
 * Reads `count` records of a topic with a kafkajs consumer in a fresh group, from the beginning, and
 * disconnects. Records come back ordered by partition then offset.
 */
export async function kafkajsRead(
  kafka: Kafka,
  topic: string,
  count: number,
  groupId = `compat-read-${topic}-${Date.now()}`,
  timeoutMs = 20_000,
): Promise<{ partition: number; offset: number; key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer | undefined> }[]> {
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 500 });
  const seen: Awaited<ReturnType<typeof kafkajsRead>> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const enough = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({
          partition,
          offset: Number(message.offset),
          key: message.key,
          value: message.value,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, Array.isArray(v) ? (v[0] as Buffer) : (v as Buffer | undefined)])),
        });
        if (seen.length >= count) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      enough,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`kafkajs read ${seen.length} of ${count} records of '${topic}' within ${timeoutMs} ms`)), timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect();
  }
  return seen.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}
