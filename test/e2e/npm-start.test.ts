// `npm start` as a new user runs it: the sample application, started the way package.json starts it, says it
// started the embedded broker and prints the demo's progress within seconds; a bad KAFKA_BROKERS exits 1 with
// one line saying what is expected. SIGTERM stops it cleanly.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@kafka-nest/testing';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The start script of package.json, run with `env` added to this process's environment. */
function npmStart(env: Record<string, string>): { child: ChildProcess; output: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

let running: ChildProcess | undefined;
afterEach(() => {
  if (running && running.exitCode === null) running.kill('SIGKILL');
  running = undefined;
});

describe('npm start', () => {
  it('starts the embedded broker, prints the demo progress, and stops on SIGTERM', async () => {
    const app = npmStart({ PORT: '0' });
    running = app.child;
    await waitFor(() => /\[progress\] orders: [1-9]\d* processed/.test(app.output()), {
      timeoutMs: 20_000,
      message: `a progress line with processed orders; output so far:\n${app.output()}`,
    });
    expect(app.output()).toMatch(/No KAFKA_BROKERS set: started the embedded Kafka broker at 127\.0\.0\.1:\d+/);
    expect(app.output()).toMatch(/kafka-nest sample listening on http:\/\/127\.0\.0\.1:\d+/);
    app.child.kill('SIGTERM');
    expect(await app.exit).toBe(0);
  });

  it('refuses a malformed KAFKA_BROKERS with exit code 1 and the expected form', async () => {
    const app = npmStart({ KAFKA_BROKERS: 'localhost', PORT: '0' });
    running = app.child;
    expect(await app.exit).toBe(1);
    expect(app.output()).toMatch(/^error: KAFKA_BROKERS/m);
    expect(app.output()).toMatch(/host:port/);
  });
});
