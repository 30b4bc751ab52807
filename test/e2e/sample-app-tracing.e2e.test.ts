/**
 * The sample application's tracing, as `npm start` runs it: off by default; with OTEL_TRACES_EXPORTER=console
 * it prints each span, and one order's spans form one trace (send → process).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { waitFor } from '@kafka-nest/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../src/config.js';

const root = new URL('../../', import.meta.url);

/** `npm start` as a child process (embedded broker, no demo orders), with `env` added. */
function startSample(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  return { child, output: () => out };
}

/** The spans the console exporter printed: name, trace id, own id and parent id of each. */
function printedSpans(out: string): { name: string; traceId: string; id: string; parentId: string | undefined }[] {
  const spans = [];
  for (const block of out.split(/\n(?=\{\n)/)) {
    // Top-level fields are indented by two spaces (the instrumentation scope has a `name` too, deeper).
    const name = /\n {2}name: '([^']+)'/.exec(block)?.[1];
    const traceId = /\n {2}traceId: '([0-9a-f]{32})'/.exec(block)?.[1];
    const id = /\n {2}id: '([0-9a-f]{16})'/.exec(block)?.[1];
    if (!name || !traceId || !id) continue;
    spans.push({ name, traceId, id, parentId: /parentSpanContext: \{[^}]*spanId: '([0-9a-f]{16})'/s.exec(block)?.[1] });
  }
  return spans;
}

describe('sample application tracing', () => {
  let child: ChildProcess | undefined;

  afterEach(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    child = undefined;
  });

  async function orderThrough(env: Record<string, string>): Promise<() => string> {
    const sample = startSample(env);
    child = sample.child;
    const url = await waitFor(() => /listening on (http:\/\/\S+):/.exec(sample.output())?.[1], { timeoutMs: 30_000, message: 'the sample app to listen' });
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'traced-1', customerId: 'c-1', amountCents: 1200, quantity: 1 }),
    });
    expect(res.status).toBe(202);
    await waitFor(async () => ((await (await fetch(`${url}/metrics`)).text()).match(/kafka_nest_listener_records_total\{[^}]*listener="orders"[^}]*outcome="success"[^}]*\} 1/) ? true : undefined), {
      timeoutMs: 20_000,
      message: 'the order to be processed',
    });
    return sample.output;
  }

  it('prints the spans of an order with OTEL_TRACES_EXPORTER=console: the send, and its processing under it', async () => {
    const output = await orderThrough({ OTEL_TRACES_EXPORTER: 'console' });
    const spans = await waitFor(() => {
      const s = printedSpans(output());
      return s.some((x) => x.name === 'process orders') ? s : undefined;
    }, { timeoutMs: 10_000, message: 'a printed process span' });
    const send = spans.find((s) => s.name === 'send orders')!;
    const process = spans.find((s) => s.name === 'process orders')!;
    expect(send).toBeDefined();
    expect(process.traceId).toBe(send.traceId);
    expect(process.parentId).toBe(send.id);
  });

  it('prints no span by default', async () => {
    const output = await orderThrough({});
    expect(printedSpans(output())).toEqual([]);
    expect(output()).not.toContain('traceId');
  });

  it('refuses an exporter it does not have, naming the choices', () => {
    expect(readConfig({}).tracesExporter).toBe('none');
    expect(readConfig({ OTEL_TRACES_EXPORTER: 'console' }).tracesExporter).toBe('console');
    expect(() => readConfig({ OTEL_TRACES_EXPORTER: 'otlp' })).toThrow(ConfigError);
    expect(() => readConfig({ OTEL_TRACES_EXPORTER: 'otlp' })).toThrow("OTEL_TRACES_EXPORTER must be console (print every span) or none, got 'otlp'");
  });
});
