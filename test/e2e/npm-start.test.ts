// `npm start` as a new user runs it: the sample application, started the way package.json starts it, says it
// started the embedded broker and prints the demo's progress within seconds; a bad KAFKA_BROKERS exits 1 with
// one line saying what is expected. SIGTERM stops it cleanly, also when sent to the npm process; a PORT in
// use is one line naming HOST and PORT.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
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

/** The processes below `pid` (children, grandchildren...), from /proc. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) (out.push(child), walk(child));
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let running: ChildProcess | undefined;
let strays: number[] = [];
let server: Server | undefined;
afterEach(() => {
  if (running && running.exitCode === null) running.kill('SIGKILL');
  running = undefined;
  for (const pid of strays) if (alive(pid)) process.kill(pid, 'SIGKILL');
  strays = [];
  server?.close();
  server = undefined;
});

describe('npm start', () => {
  it('starts the embedded broker, prints the demo progress, and stops, with npm, on SIGTERM to the npm process', async () => {
    // `npm start` itself: npm runs the script in a shell, and a SIGTERM to npm must reach the application.
    const npm = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...process.env, PORT: '0', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    running = npm;
    let text = '';
    npm.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    npm.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    const exit = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    await waitFor(() => /\[progress\] orders: [1-9]\d* processed/.test(text), {
      timeoutMs: 20_000,
      message: `a progress line with processed orders; output so far:\n${text}`,
    });
    expect(text).toMatch(/No KAFKA_BROKERS set: started the embedded Kafka broker at 127\.0\.0\.1:\d+/);
    expect(text).toMatch(/kafka-nest sample listening on http:\/\/127\.0\.0\.1:\d+/);
    strays = descendants(npm.pid!);
    expect(strays.length).toBeGreaterThan(0);
    npm.kill('SIGTERM');
    expect(await exit).toBe(0);
    await waitFor(() => strays.every((pid) => !alive(pid)), { timeoutMs: 10_000, message: `the application (pids ${strays.join(', ')}) to stop` });
  });

  it('refuses a malformed KAFKA_BROKERS with exit code 1 and the expected form', async () => {
    const app = npmStart({ KAFKA_BROKERS: 'localhost', PORT: '0' });
    running = app.child;
    expect(await app.exit).toBe(1);
    expect(app.output()).toMatch(/^error: KAFKA_BROKERS/m);
    expect(app.output()).toMatch(/host:port/);
  });

  it('says in one line that PORT is in use, naming HOST and PORT, and exits 1', async () => {
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const app = npmStart({ PORT: String(port), HOST: '127.0.0.1' });
    running = app.child;
    expect(await app.exit).toBe(1);
    const errors = app.output().split('\n').filter((l) => /error|EADDRINUSE|^\s+at /i.test(l));
    expect(errors).toEqual([
      `error: cannot listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE); set PORT to a free port (PORT=0 picks one) or stop what listens there`,
    ]);
  });
});
