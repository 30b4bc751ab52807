/**
 * `npm run test:packaging`: the three libraries as a user installs them. Builds and packs
 * @kafka-nest/{broker,core,testing}, checks each tarball's contents, runs publint and attw on each, and in a
 * temporary directory outside the repository creates two apps from the fixtures in ./fixtures:
 *   - cjs-nest11: CommonJS Nest 11, laid out as `nest new` lays it out (tsconfig module commonjs), Jest + ts-jest;
 *   - esm-nest12: ES modules, Nest 12, Vitest + unplugin-swc.
 * Each gets the files of the README's first listener with its module, main.ts and dead-letter test (the
 * ```ts file=... blocks, so that the example cannot drift; under Jest the test imports from @jest/globals
 * instead of vitest, as the README says), installs the tarballs and its other dependencies from the registry, type-checks and
 * compiles with tsc, runs its own test (a record reaching orders.DLT with its headers), then runs its compiled
 * main.js with node against the `kafka-nest-broker` command of the installed tarball, sees one record handled,
 * and stops it with SIGTERM; then runs @kafka-nest/core's installed `kafka-nest` command. The ESM app's broker is started with `npx kafka-nest-broker --port P` and kcat
 * produces to and consumes from it.
 *
 * Needs kcat (`apt-get install -y kcat`) and the npm registry. Plain JavaScript run by `node --test`, so it
 * depends on nothing of the repository's own build.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const LIBS = ['broker', 'core', 'testing'];
/** The files of the README's "In your own app", in the order they appear there. */
const EXAMPLE_FILES = ['src/orders.listener.ts', 'src/app.module.ts', 'src/main.ts', 'test/orders.test.ts'];
const STEP_TIMEOUT_MS = 10 * 60_000;

/** The environment of every command: npm's own variables from `npm run` left out, so that nothing points back here. */
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !(k.startsWith('npm_') && k !== 'npm_config_cache') && k !== 'INIT_CWD'),
);

/** Runs a command to its end; resolves with its output, rejects with the output's tail if it fails. */
function run(cmd, args, { cwd, env = {}, input, timeoutMs = STEP_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...baseEnv, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      const hint = cmd === 'kcat' && err.code === 'ENOENT' ? ' (install it: apt-get install -y kcat)' : '';
      reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) could not start: ${err.message}${hint}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed (${signal ?? `exit ${code}`}):\n${out.slice(-6000)}`));
    });
    child.stdin.end(input ?? '');
  });
}

/**
 * A long-running process whose output can be awaited. With `group`, it leads a process group and `stop`
 * signals the whole group, as Ctrl-C or a supervisor does: `npx` does not pass SIGTERM on to its command.
 */
class Running {
  constructor(cmd, args, { cwd, env = {}, group = false }) {
    this.label = `${cmd} ${args.join(' ')}`;
    this.output = '';
    this.group = group;
    this.child = spawn(cmd, args, { cwd, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
    this.child.stdout.on('data', (d) => (this.output += d));
    this.child.stderr.on('data', (d) => (this.output += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Waits until the output matches `pattern`; returns the match. */
  async waitFor(pattern, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let exit;
    this.exited.then((e) => (exit = e));
    while (Date.now() < deadline) {
      const m = pattern.exec(this.output);
      if (m) return m;
      if (exit) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`'${this.label}' ${exit ? `exited (${exit.signal ?? exit.code})` : `did not print ${pattern} within ${timeoutMs} ms`}; its output:\n${this.output.slice(-6000)}`);
  }

  /** Sends SIGTERM and waits for the exit. */
  async stop(timeoutMs = 30_000) {
    this.kill('SIGTERM');
    let timer;
    const exit = await Promise.race([this.exited, new Promise((r) => (timer = setTimeout(() => r(undefined), timeoutMs)))]);
    clearTimeout(timer);
    if (!exit) {
      this.kill('SIGKILL');
      throw new Error(`'${this.label}' did not stop within ${timeoutMs} ms of SIGTERM; its output:\n${this.output.slice(-6000)}`);
    }
    return exit;
  }

  kill(signal) {
    if (!this.group) return void this.child.kill(signal);
    try {
      process.kill(-this.child.pid, signal);
    } catch (err) {
      if (err.code !== 'ESRCH') throw err; // the group has already gone
    }
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The ```ts file=PATH blocks of README.md, by path. */
function readmeExample() {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const files = new Map();
  for (const m of readme.matchAll(/^```ts file=(\S+)\n([\s\S]*?)^```$/gm)) {
    assert.ok(!files.has(m[1]), `README.md has two blocks marked file=${m[1]}`);
    files.set(m[1], m[2]);
  }
  assert.deepEqual([...files.keys()], EXAMPLE_FILES, 'README.md\'s first-listener blocks (```ts file=...) are not the expected ones');
  return files;
}

describe('the packages, installed from their tarballs into apps outside the repository', () => {
  let work;
  /** Tarball path and file list, by library. */
  const packed = {};
  let example;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'kafka-nest-packaging-'));
    assert.ok(relative(repo, realpathSync(work)).startsWith('..'), `work directory ${work} must be outside the repository`);
    example = readmeExample();
    await run('npm', ['run', 'build', '--workspaces'], { cwd: repo });
    mkdirSync(join(work, 'tarballs'));
    const out = await run('npm', ['pack', '--workspaces', '--json', '--pack-destination', join(work, 'tarballs')], { cwd: repo });
    for (const entry of JSON.parse(out.slice(out.indexOf('[')))) {
      const lib = entry.name.replace('@kafka-nest/', '');
      packed[lib] = { tarball: join(work, 'tarballs', entry.filename), files: entry.files.map((f) => f.path) };
    }
    assert.deepEqual(Object.keys(packed).sort(), LIBS);
  });

  after(() => {
    if (work && !process.env.KEEP_PACKAGING_DIR) rmSync(work, { recursive: true, force: true });
    else if (work) console.log(`kept ${work}`);
  });

  test('each tarball holds dist/ (ESM and CommonJS, each with types), README and LICENSE, and no sources or tests', () => {
    for (const lib of LIBS) {
      const { files } = packed[lib];
      const required = ['package.json', 'README.md', 'LICENSE', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json'];
      if (lib === 'broker') required.push('bin/kafka-nest-broker.js', 'dist/esm/cli.js');
      if (lib === 'core') {
        required.push('bin/kafka-nest.js', 'dist/esm/bin/kafka-nest.js', 'dist/esm/cli.js');
        for (const format of ['esm', 'cjs']) required.push(`dist/${format}/microservices/index.js`, `dist/${format}/microservices/index.d.ts`);
      }
      for (const f of required) assert.ok(files.includes(f), `@kafka-nest/${lib}'s tarball lacks ${f}`);
      const unwanted = files.filter((f) => /(^|\/)(src|test|tests|__tests__|fixtures)\//.test(f) || (/\.[cm]?ts$/.test(f) && !/\.d\.[cm]?ts$/.test(f)) || /tsconfig|\.tsbuildinfo$|\.test\.|\.spec\./.test(f));
      assert.deepEqual(unwanted, [], `@kafka-nest/${lib}'s tarball holds files nothing uses`);
      const cjsMarker = JSON.parse(readFileSync(join(repo, 'libs', lib, 'dist/cjs/package.json'), 'utf8'));
      assert.equal(cjsMarker.type, 'commonjs');
    }
    // Nest's DI needs the constructor types of the injectable classes: both builds must keep them.
    for (const format of ['esm', 'cjs']) {
      const explorer = readFileSync(join(repo, 'libs/core/dist', format, 'kafka.explorer.js'), 'utf8');
      assert.match(explorer, /"design:paramtypes"/, `libs/core/dist/${format} lost the decorator metadata`);
    }
  });

  test('publint and attw (@arethetypeswrong/cli) find no problem in any package', async () => {
    for (const lib of LIBS) {
      const dir = join(repo, 'libs', lib);
      await run('npx', ['--no-install', 'publint', '--strict', dir], { cwd: repo });
      await run('npx', ['--no-install', 'attw', '--pack', dir], { cwd: repo });
    }
  });

  /**
   * Creates the app from its fixture and the README's files, installs it, type-checks, builds, runs its test,
   * and returns its directory.
   */
  async function prepareApp(fixture, { jest = false } = {}) {
    const dir = join(work, fixture);
    cpSync(join(fixtures, fixture), dir, { recursive: true });
    for (const [path, text] of example) {
      let code = text;
      if (jest && path.endsWith('.test.ts')) {
        code = text.replace(/ from 'vitest';$/m, " from '@jest/globals';");
        assert.notEqual(code, text, `README.md's ${path} has no "from 'vitest';" import to turn into @jest/globals`);
      }
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), code);
    }
    const pkgPath = join(dir, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    pkg.dependencies['@kafka-nest/core'] = `file:${packed.core.tarball}`;
    pkg.devDependencies['@kafka-nest/testing'] = `file:${packed.testing.tarball}`;
    // @kafka-nest/testing depends on @kafka-nest/broker 0.1.0, which only its tarball provides here
    pkg.devDependencies['@kafka-nest/broker'] = `file:${packed.broker.tarball}`;
    writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);

    await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir });
    for (const lib of LIBS) {
      const installed = join(dir, 'node_modules/@kafka-nest', lib);
      assert.ok(!lstatSync(installed).isSymbolicLink(), `${installed} is a link; it must be the unpacked tarball`);
      assert.ok(existsSync(join(installed, 'dist/esm/index.js')));
    }
    await run('npm', ['run', 'typecheck'], { cwd: dir });
    await run('npm', ['run', 'build'], { cwd: dir });
    assert.ok(existsSync(join(dir, 'dist/main.js')), `${fixture}: tsc wrote no dist/main.js`);
    const testOutput = await run('npm', ['test'], { cwd: dir });
    assert.match(testOutput, /1 passed/, `${fixture}: its test did not report one passed test:\n${testOutput}`);
    return dir;
  }

  /** Runs the compiled main.js against `brokers`, sends one order with kcat, waits for it to be handled, stops it. */
  async function runMain(dir, brokers, orderId) {
    const app = new Running(process.execPath, ['dist/main.js'], { cwd: dir, env: { KAFKA_BROKERS: brokers } });
    try {
      await app.waitFor(/\bstarted\b/);
      await run('kcat', ['-b', brokers, '-P', '-t', 'orders', '-k', String(orderId)], { cwd: dir, input: JSON.stringify({ id: orderId, quantity: 3 }), timeoutMs: 30_000 });
      await app.waitFor(new RegExp(`order ${orderId} handled: 3 item`));
      assert.equal(app.output.match(/ handled: /g).length, 1, `main.js handled more than the one order sent:\n${app.output}`);
    } finally {
      const exit = await app.stop();
      // enableShutdownHooks: Nest closes the app, then re-raises the signal
      assert.ok(exit.signal === 'SIGTERM' || exit.code === 0, `main.js ended with ${exit.signal ?? `exit ${exit.code}`}:\n${app.output}`);
    }
    assert.doesNotMatch(app.output, /\bERROR\b/, `main.js logged an error:\n${app.output}`);
  }

  test('CommonJS Nest 11 app (nest new layout): tsc, Jest + ts-jest, node dist/main.js', async () => {
    const dir = await prepareApp('cjs-nest11', { jest: true });
    assert.match(readFileSync(join(dir, 'node_modules/@nestjs/core/package.json'), 'utf8'), /"version": "11\./);
    assert.match(readFileSync(join(dir, 'dist/main.js'), 'utf8'), /require\("@nestjs\/core"\)/, 'the CJS app compiles to require()');
    const broker = new Running(join(dir, 'node_modules/.bin/kafka-nest-broker'), ['--port', '0'], { cwd: dir });
    try {
      const [, brokers] = await broker.waitFor(/^bootstrap: (\S+)$/m);
      await runMain(dir, brokers, 101);
      // @kafka-nest/core's kafka-nest command (dead letters), from the tarball, against the same broker
      const topics = await run(join(dir, 'node_modules/.bin/kafka-nest'), ['dlt', 'topics', '--brokers', brokers, '--json'], { cwd: dir });
      assert.ok(Array.isArray(JSON.parse(topics)), `kafka-nest dlt topics --json printed no JSON array:\n${topics}`);
    } finally {
      assert.equal((await broker.stop()).code, 0, `kafka-nest-broker did not exit 0 on SIGTERM:\n${broker.output}`);
    }
  });

  test('ESM Nest 12 app: tsc, Vitest + unplugin-swc, node dist/main.js; npx kafka-nest-broker --port P serves kcat', async () => {
    const dir = await prepareApp('esm-nest12');
    assert.match(readFileSync(join(dir, 'node_modules/@nestjs/core/package.json'), 'utf8'), /"version": "12\./);
    // The entry for @nestjs/microservices users: its classes extend the app's own copy of Nest's Server/ClientProxy.
    const micro = await run(process.execPath, ['--input-type=module', '-e', [
      "import { ClientProxy, Server } from '@nestjs/microservices';",
      "import { KafkaNestClient, KafkaNestServer } from '@kafka-nest/core/microservices';",
      "console.log(KafkaNestServer.prototype instanceof Server && KafkaNestClient.prototype instanceof ClientProxy ? 'microservices entry ok' : 'not Nest classes');",
    ].join('\n')], { cwd: dir });
    assert.match(micro, /microservices entry ok/);
    const port = await freePort();
    const broker = new Running('npx', ['kafka-nest-broker', '--port', String(port)], { cwd: dir, group: true });
    try {
      const [, brokers] = await broker.waitFor(/^bootstrap: (\S+)$/m);
      assert.equal(brokers, `127.0.0.1:${port}`);
      await run('kcat', ['-b', brokers, '-P', '-t', 'greetings', '-k', 'k1'], { cwd: dir, input: 'hello from kcat', timeoutMs: 30_000 });
      const consumed = await run('kcat', ['-b', brokers, '-C', '-t', 'greetings', '-o', 'beginning', '-c', '1', '-e', '-f', '%k=%s\\n'], { cwd: dir, timeoutMs: 30_000 });
      assert.match(consumed, /^k1=hello from kcat$/m);
      await runMain(dir, brokers, 202);
      const help = await run('npx', ['kafka-nest', '--help'], { cwd: dir, timeoutMs: 60_000 });
      assert.match(help, /^Usage: kafka-nest dlt <command>/m);
    } finally {
      const exit = await broker.stop();
      // npx itself may die of the signal; the broker under it must have stopped cleanly
      assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', `npx kafka-nest-broker ended with ${exit.signal ?? `exit ${exit.code}`}:\n${broker.output}`);
      assert.match(broker.output, /kafka-nest broker: SIGTERM, stopping/);
      assert.doesNotMatch(broker.output, /error/i, `kafka-nest-broker reported an error:\n${broker.output}`);
    }
  });
});
