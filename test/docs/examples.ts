/**
 * The complete examples of the README and docs/, laid out as files and typechecked with the TypeScript compiler
 * API against the repository's `@kafka-nest/*` sources (the `paths` of tsconfig.json), so a page's example is
 * compiled as a user's project would be.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import ts from 'typescript';
import { type Example, examples, markdownFiles } from './markdown.js';

/** One page's examples, written under `dir`. */
export interface ExampleProject {
  readonly markdown: string;
  readonly dir: string;
  readonly examples: readonly WrittenExample[];
}

export interface WrittenExample extends Example {
  readonly abs: string;
  /**
   * What runs it: a test file (`*.test.ts`), a program (`main.ts`), a script, a tool's configuration
   * (`*.config.ts`, such as a vitest.config.ts: typechecked, and used by the tools of the reader's project, not
   * by this harness), or nothing of its own (a module, which a test, program or script must import).
   */
  readonly role: 'test' | 'main' | 'script' | 'config' | 'module';
}

/** Writes the examples of every page under `root` to `outDir/<page>/`; pages without examples are left out. */
export function writeExampleProjects(root: string, outDir: string): ExampleProject[] {
  rmSync(outDir, { recursive: true, force: true });
  const projects: ExampleProject[] = [];
  for (const markdown of markdownFiles(root)) {
    const found = examples(markdown, readFileSync(join(root, markdown), 'utf8'));
    if (!found.length) continue;
    const dir = join(outDir, markdown.replace(/\.md$/, '').replace(/[/\\]/g, '__'));
    const written = found.map((example): WrittenExample => {
      const abs = join(dir, example.path);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, example.code);
      const base = posix.basename(example.path);
      const role =
        example.kind === 'script' ? 'script'
        : base.endsWith('.test.ts') ? 'test'
        : base === 'main.ts' ? 'main'
        : base.endsWith('.config.ts') ? 'config'
        : 'module';
      return { ...example, abs, role };
    });
    projects.push({ markdown, dir, examples: written });
  }
  return projects;
}

/**
 * Files of a project that nothing runs: neither a test, a program nor a script, and not imported (directly or
 * through other files) by one. Such a block would only be compiled, so the docs test refuses it.
 */
export function unreached(project: ExampleProject): WrittenExample[] {
  const byPath = new Map(project.examples.map((e) => [e.path, e]));
  const reached = new Set<string>();
  const visit = (e: WrittenExample): void => {
    if (reached.has(e.path)) return;
    reached.add(e.path);
    for (const { fileName } of ts.preProcessFile(e.code, true, false).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = posix.normalize(posix.join(posix.dirname(e.path), fileName)).replace(/\.js$/, '.ts');
      const next = byPath.get(target);
      if (next) visit(next);
    }
  };
  for (const e of project.examples) if (e.role !== 'module' && e.role !== 'config') visit(e);
  for (const e of project.examples) if (e.role === 'config') reached.add(e.path);
  return project.examples.filter((e) => !reached.has(e.path));
}

/**
 * Typechecks every example with the repository's compiler options (strict, decorators, NodeNext modules, the
 * `@kafka-nest/*` paths), plus `noUnusedLocals`: an import a page shows must be used. Returns one message per
 * error, located in the Markdown page (`README.md:58:7: ...`).
 */
export function typecheck(root: string, projects: readonly ExampleProject[]): string[] {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  if (config.error) return [ts.flattenDiagnosticMessageText(config.error.messageText, '\n')];
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, declaration: false, sourceMap: false, incremental: false, noUnusedLocals: true };
  const all = projects.flatMap((p) => p.examples);
  const program = ts.createProgram(
    all.map((e) => e.abs),
    options,
  );
  const messages: string[] = [];
  const where = new Map(all.map((e) => [ts.sys.resolvePath(e.abs), e]));
  const report = (d: ts.Diagnostic): void => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const example = d.file && where.get(ts.sys.resolvePath(d.file.fileName));
    if (d.file && example && d.start !== undefined) {
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      messages.push(`${example.markdown}:${example.line + line}:${character + 1} (${example.path}): TS${d.code} ${text}`);
    } else {
      messages.push(`${d.file ? relative(root, d.file.fileName) + ': ' : ''}TS${d.code} ${text}`);
    }
  };
  program.getOptionsDiagnostics().forEach(report);
  program.getGlobalDiagnostics().forEach(report);
  for (const e of all) {
    const source = program.getSourceFile(e.abs);
    if (!source) {
      messages.push(`${e.markdown}:${e.line - 1}: ${e.path} was not part of the program`);
      continue;
    }
    program.getSyntacticDiagnostics(source).forEach(report);
    program.getSemanticDiagnostics(source).forEach(report);
  }
  return messages;
}
