/**
 * The docs cannot drift from the code: every complete example of the README and docs/ (blocks marked
 * ```ts file=<path> or ```ts example, see markdown.ts) is typechecked against the `@kafka-nest/*` sources and
 * run, and every relative link between the pages resolves, anchors included.
 *
 * Running: a page's `*.test.ts` files are collected here as tests (their listeners run as real Nest apps
 * against the embedded broker), a `main.ts` is started in a child process with KAFKA_BROKERS naming an embedded
 * broker, must print a line saying it `started` and bring its listeners into their groups, and must leave them on
 * SIGTERM; a script is imported and must settle.
 * Every other file must be imported by one of these, or the test fails: a block that is only compiled is not
 * a tested example.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { ChildApp, createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExampleProject, typecheck, unreached, writeExampleProjects } from './examples.js';
import { anchors, brokenLinks, examples, markdownFiles, relativeLinks } from './markdown.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Outside test/ (not collected on its own) and outside tsconfig's include (not in `npm run typecheck`);
// inside the repository, so node_modules and tsconfig.json are found as for the sample app.
const out = join(root, '.docs-examples', String(process.pid));
const projects = writeExampleProjects(root, out);
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(`${out}-broken`, { recursive: true, force: true });
  const parent = join(out, '..');
  if (!readdirSync(parent).length) rmdirSync(parent);
});

describe('docs', () => {
  it('has complete examples in the README and in the docs pages', () => {
    const pages = projects.map((p) => p.markdown);
    expect(pages).toContain('README.md');
    expect(pages.filter((p) => p.startsWith('docs/')).length).toBeGreaterThan(0);
  });

  it('runs every example file: each is a test, a main.ts or a script, or is imported by one', () => {
    const idle = projects.flatMap((p) => unreached(p).map((e) => `${e.markdown}:${e.line - 1}: file=${e.path} is neither run nor imported by a test, a main.ts or a script of the page`));
    expect(idle).toEqual([]);
  });

  it('typechecks every example against the @kafka-nest/* sources', { timeout: 120_000 }, () => {
    expect(typecheck(root, projects)).toEqual([]);
  });

  it('keeps the README a front door, well under 20 KB: the reference belongs in docs/', () => {
    expect(readFileSync(join(root, 'README.md')).length).toBeLessThan(20_000);
  });

  it('starts every docs page with a title and a paragraph saying what it covers', () => {
    const pages = markdownFiles(root).filter((p) => p.startsWith('docs/'));
    const untitled = pages.filter((page) => {
      const [title, blank, first] = readFileSync(join(root, page), 'utf8').split('\n');
      return !/^# \S/.test(title) || blank !== '' || !/^[A-Za-z`*[]/.test(first ?? '');
    });
    expect(untitled).toEqual([]);
  });

  it('has no broken relative link or anchor between the README and docs/', () => {
    expect(brokenLinks(root, markdownFiles(root))).toEqual([]);
  });

  it('links every docs page from the README and from the index docs/README.md', () => {
    const pages = markdownFiles(root).filter((p) => p.startsWith('docs/') && p !== 'docs/README.md');
    const linkedFrom = (index: string) =>
      new Set(relativeLinks(index, readFileSync(join(root, index), 'utf8')).map((l) => join(dirname(index), l.target.split('#')[0])));
    for (const index of ['README.md', 'docs/README.md']) {
      const linked = linkedFrom(index);
      expect(pages.filter((p) => !linked.has(p)).map((p) => `${p} is not linked from ${index}`)).toEqual([]);
    }
  });
});

for (const project of projects) {
  for (const example of project.examples) {
    const title = `${project.markdown}:${example.line - 1} ${example.path}`;
    const url = pathToFileURL(example.abs).href;
    if (example.role === 'test') {
      // Imported while this file is collected, so the example's `it`s and hooks join this suite.
      describe(title, async () => {
        await import(url);
      });
    } else if (example.role === 'script') {
      it(`${title} runs to completion`, { timeout: 60_000 }, async () => {
        await import(url);
      });
    } else if (example.role === 'main') {
      it(`${title} starts against an embedded broker, joins its groups, and leaves them on SIGTERM`, { timeout: 90_000 }, () =>
        runMain(project, example.abs));
    }
  }
}

/**
 * Starts a page's `main.ts` as `npm start` starts the sample app, with KAFKA_BROKERS naming a fresh embedded
 * broker; waits until it printed a line saying it `started` and its listeners' groups are stable, then stops it
 * with SIGTERM and expects it to exit and the groups to be left (no members).
 */
async function runMain(project: ExampleProject, entry: string): Promise<void> {
  const broker = await createKafkaTestBroker();
  const app = ChildApp.start({ entry, cwd: root, env: { KAFKA_BROKERS: broker.brokers.join(',') } });
  try {
    // Up: it said so (after enableShutdownHooks, or a SIGTERM could still end it unhandled), and its groups are stable.
    const stable = () => {
      if (!/\bstarted\b/.test(app.recentOutput)) return undefined;
      const groups = broker.listGroups().filter((g) => g.protocolType === 'consumer');
      return groups.length > 0 && groups.every((g) => g.state === 'Stable') ? groups.map((g) => g.groupId) : undefined;
    };
    const groups = await Promise.race([
      waitFor(stable, { timeoutMs: 60_000, message: `the listeners of ${project.markdown}'s main.ts to join their groups` }),
      app.exited.then((exit) => {
        throw new Error(`${project.markdown}'s main.ts exited early (${JSON.stringify(exit)}):\n${app.recentOutput}`);
      }),
    ]);
    const exit = await app.stop('SIGTERM', 30_000);
    // Nest's shutdown hooks close the application, then raise the signal again to end the process.
    expect(exit.code === 0 || exit.signal === 'SIGTERM', `exit ${JSON.stringify(exit)}:\n${app.recentOutput}`).toBe(true);
    for (const groupId of groups) expect(broker.describeGroup(groupId)?.members ?? [], `group '${groupId}' after exit ${JSON.stringify(exit)}:\n${app.recentOutput}`).toEqual([]);
  } finally {
    await app.kill().catch(() => undefined);
    await broker.stop();
  }
}

describe('the docs checker itself', () => {
  it('reports a link to a missing page and an anchor no heading makes', () => {
    const problems = brokenLinks(root, ['test/docs/fixtures/broken-links.md']);
    expect(problems).toEqual([
      "test/docs/fixtures/broken-links.md:5: link 'no-such-page.md': no file test/docs/fixtures/no-such-page.md",
      "test/docs/fixtures/broken-links.md:5: link '#no-such-heading': no heading of test/docs/fixtures/broken-links.md makes the anchor #no-such-heading",
      "test/docs/fixtures/broken-links.md:6: link '../../../docs/listeners.md#no-such-heading': no heading of docs/listeners.md makes the anchor #no-such-heading",
    ]);
  });

  it("makes GitHub's anchors: code spans, punctuation and repeated headings", () => {
    const text = readFileSync(join(root, 'test/docs/fixtures/broken-links.md'), 'utf8');
    expect([...anchors(text)]).toEqual(['a-page-with-broken-links', 'kafkamoduleforrootoptions-and-forrootasync', 'non-blocking-retries-retryabletopic-and-dlthandler', 'kafkamoduleforrootoptions-and-forrootasync-1']);
  });

  it('reports an example that does not compile, at its line in the page', () => {
    const broken = writeExampleProjects(join(root, 'test/docs/fixtures/broken-example'), `${out}-broken`);
    expect(broken.map((p) => p.markdown)).toEqual(['README.md']);
    expect(typecheck(root, broken)).toEqual([
      expect.stringMatching(/^README\.md:7:9 \(src\/greeter\.ts\): TS2322 Type 'number' is not assignable to type 'string'/),
      expect.stringMatching(/^README\.md:13:10 \(test\/greeter\.test\.ts\): TS2305 Module '"\.\.\/src\/greeter\.js"' has no exported member 'greet'/),
    ]);
  });

  it('refuses a marked block that is not a proper example file', () => {
    expect(() => examples('x.md', '```ts file=../escape.ts\nexport {};\n```\n')).toThrow(/x\.md:1: file=\.\.\/escape\.ts must be a relative path/);
    expect(() => examples('x.md', '```ts file=a.ts\n```\n\n```ts file=a.ts\n```\n')).toThrow(/x\.md:4: file=a\.ts is already given at line 1/);
    expect(() => examples('x.md', '```ts example\nconst a = 1;\n')).toThrow(/x\.md:1: code fence ``` is never closed/);
  });
});
