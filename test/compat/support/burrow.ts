/**
 * ZooKeeper and Burrow (Debian's `zookeeper` and `burrow` packages) as child processes on loopback, each with
 * a generated config in its own temporary directory, for the Burrow compatibility test.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@kafka-nest/testing';

/** A free TCP port on loopback (the OS picks it; the listener is closed before it is used). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** ZooKeeper's `srvr` four-letter command: true once the server answers it as serving (its port opens earlier). */
function zooKeeperServes(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write('srvr'));
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (b: Buffer) => (answer += b.toString()));
    socket.once('close', () => resolve(answer.includes('Mode: standalone')));
    socket.once('error', () => resolve(false));
  });
}

/** A child process with its temporary directory; `stop()` ends it (by its pid) and removes the directory. */
export interface RunningProcess {
  readonly dir: string;
  readonly port: number;
  /** What it wrote to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

function run(command: string, args: string[], dir: string, port: number): RunningProcess {
  let output = '';
  const child: ChildProcess = spawn(command, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    dir,
    port,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A standalone ZooKeeper on loopback, from Debian's jar (`/usr/share/java/zookeeper.jar`). */
export async function startZooKeeper(): Promise<RunningProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-nest-zk-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'zoo.cfg'),
    [`tickTime=2000`, `dataDir=${join(dir, 'data')}`, `clientPort=${port}`, `clientPortAddress=127.0.0.1`, `admin.enableServer=false`, ''].join('\n'),
  );
  const zk = run(
    'java',
    ['-cp', '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar', `-Dzookeeper.log.dir=${dir}`, 'org.apache.zookeeper.server.ZooKeeperServerMain', join(dir, 'zoo.cfg')],
    dir,
    port,
  );
  try {
    await waitFor(() => zooKeeperServes(port), { timeoutMs: 30_000, message: `ZooKeeper serving on 127.0.0.1:${port}` });
  } catch (err) {
    const out = zk.output();
    await zk.stop();
    throw new Error(`${(err as Error).message}; its output:\n${out}`);
  }
  return zk;
}

/**
 * Burrow reading `brokers` (a Kafka cluster named `local`) with its offsets from `__consumer_offsets`,
 * its coordinator in `zookeeper`, and its HTTP API on a free loopback port. `refreshSeconds` sets how often
 * it reads the brokers' offsets (and topic list).
 */
export async function startBurrow(brokers: readonly string[], zookeeperPort: number, refreshSeconds = 1): Promise<RunningProcess & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'kafka-nest-burrow-'));
  const port = await freePort();
  const servers = `[${brokers.map((b) => `"${b}"`).join(', ')}]`;
  // The same settings as ops/burrow/burrow.toml, with this test's addresses and a short refresh.
  const template = readFileSync(new URL('../../../ops/burrow/burrow.toml', import.meta.url), 'utf8');
  const config = template
    .replace(/^servers=\["localhost:2181"\]$/m, `servers=["127.0.0.1:${zookeeperPort}"]`)
    .replace(/^servers=\["localhost:9092"\]$/gm, `servers=${servers}`)
    .replace(/^address=":8000"$/m, `address="127.0.0.1:${port}"`)
    .replace(/^(topic-refresh|offset-refresh)=\d+$/gm, `$1=${refreshSeconds}`)
    .replace(/^level=.*$/m, 'level="debug"');
  writeFileSync(join(dir, 'burrow.toml'), config);
  const burrow = run('/usr/bin/Burrow', ['-config-dir', dir], dir, port);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => (await fetch(`${url}/burrow/admin`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '')).includes('GOOD'), {
      timeoutMs: 30_000,
      message: `Burrow's HTTP API at ${url}`,
    });
  } catch (err) {
    const log = readFileSync(join(dir, 'burrow.log'), { encoding: 'utf8', flag: 'a+' });
    const out = burrow.output();
    await burrow.stop();
    throw new Error(`${(err as Error).message}; its output:\n${out}\n${log}`);
  }
  return { ...burrow, url };
}
