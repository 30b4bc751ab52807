/**
 * Reading the README and docs/ pages the way the docs test needs: their fenced code blocks (with the info string
 * that marks a complete example), their headings as GitHub anchors, and their relative links.
 *
 * Info strings of complete examples:
 *   ```ts file=<path>   a file of the page's example project, at <path> (e.g. src/orders.listener.ts); the
 *                       page's files are laid out together, so they import each other by relative path.
 *   ```ts example       a self-contained script; it must clean up after itself (stop the brokers it starts).
 * Any other block is a fragment and is left alone. How each is run: examples.test.ts and docs/README.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** A fenced code block: its info string, its text, and the line (1-based) of its first line of code. */
export interface CodeBlock {
  readonly markdown: string;
  readonly info: string;
  readonly lang: string;
  readonly code: string;
  readonly line: number;
}

/** A complete example: a `file=` block or an `example` block, with the path it is written to. */
export interface Example extends CodeBlock {
  readonly kind: 'file' | 'script';
  /** Path inside the page's example directory. */
  readonly path: string;
}

/** A link found in a page. */
export interface MarkdownLink {
  readonly markdown: string;
  readonly line: number;
  readonly target: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;

/** The README and every page under docs/, as paths relative to `root`. */
export function markdownFiles(root: string): string[] {
  const out = ['README.md'];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  if (existsSync(join(root, 'docs'))) walk('docs');
  return out;
}

/** Every fenced code block of a page. An unclosed fence is an error: everything after it would be code. */
export function codeBlocks(markdown: string, text: string): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const close = FENCE.exec(lines[i]);
      if (close && close[2][0] === fence[0] && close[2].length >= fence.length && close[3].trim() === '') break;
      body.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]);
    }
    if (i >= lines.length) throw new Error(`${markdown}:${start + 1}: code fence ${fence} is never closed`);
    const trimmed = info.trim();
    blocks.push({ markdown, info: trimmed, lang: trimmed.split(/\s+/)[0] ?? '', code: body.join('\n') + '\n', line: start + 2 });
  }
  return blocks;
}

/**
 * The complete examples of a page: TypeScript blocks marked `file=<path>` or `example`. A marked block in
 * another language, a path leaving the page's directory, or two blocks for one path is an error.
 */
export function examples(markdown: string, text: string): Example[] {
  const out: Example[] = [];
  const seen = new Map<string, number>();
  let scripts = 0;
  for (const block of codeBlocks(markdown, text)) {
    const words = block.info.split(/\s+/).slice(1);
    const file = words.find((w) => w.startsWith('file='))?.slice('file='.length);
    const script = words.includes('example');
    if (file === undefined && !script) continue;
    const where = `${markdown}:${block.line - 1}`;
    if (block.lang !== 'ts') {
      // Other tools may mark files of other languages (a package.json...); only TypeScript is ours to run.
      continue;
    }
    if (file !== undefined && script) throw new Error(`${where}: a block is either 'file=<path>' or 'example', not both`);
    if (file !== undefined) {
      if (!/^[\w.-]+(\/[\w.-]+)*\.ts$/.test(file) || file.split('/').some((part) => part === '..' || part === '.')) {
        throw new Error(`${where}: file=${file} must be a relative path to a .ts file inside the example (like src/orders.listener.ts)`);
      }
      const earlier = seen.get(file);
      if (earlier !== undefined) throw new Error(`${where}: file=${file} is already given at line ${earlier}; one block per file`);
      seen.set(file, block.line - 1);
      out.push({ ...block, kind: 'file', path: file });
    } else {
      out.push({ ...block, kind: 'script', path: `examples/example-${++scripts}-line-${block.line - 1}.ts` });
    }
  }
  return out;
}

/** The text of a heading as GitHub renders it: code spans, emphasis, links and HTML reduced to their text. */
function headingText(raw: string): string {
  return raw
    .replace(/\s+#+\s*$/, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/(\*\*|__|\*|_)(\S(?:.*?\S)?)\1/g, '$2')
    .trim();
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function githubSlug(text: string): string {
  return headingText(text)
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (outside code blocks), with GitHub's `-1`, `-2` for repeated ones. */
export function anchors(text: string): Set<string> {
  const out = new Set<string>();
  const counts = new Map<string, number>();
  for (const line of withoutCode(text)) {
    const m = /^ {0,3}#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = githubSlug(m[1]);
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The page's lines with fenced code blocks blanked (kept as empty lines, so line numbers stay right). */
function withoutCode(text: string): string[] {
  const lines = text.split('\n');
  let fence: string | undefined;
  return lines.map((line) => {
    const m = FENCE.exec(line);
    if (fence === undefined) {
      if (m) fence = m[2];
      return fence === undefined ? line : '';
    }
    if (m && m[2][0] === fence[0] && m[2].length >= fence.length && m[3].trim() === '') fence = undefined;
    return '';
  });
}

/** Inline links and images whose target is not a URL (`http:`, `mailto:`...): relative paths and `#anchors`. */
export function relativeLinks(markdown: string, text: string): MarkdownLink[] {
  const out: MarkdownLink[] = [];
  withoutCode(text).forEach((line, i) => {
    const prose = line.replace(/`[^`]*`/g, (span) => ' '.repeat(span.length));
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      out.push({ markdown, line: i + 1, target });
    }
  });
  return out;
}

/**
 * Problems with the relative links of the pages under `root`: a target file that does not exist, or an
 * `#anchor` that no heading of the target page makes. Returns one line per problem.
 */
export function brokenLinks(root: string, pages: readonly string[]): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    let set = anchorCache.get(file);
    if (!set) anchorCache.set(file, (set = anchors(readFileSync(file, 'utf8'))));
    return set;
  };
  for (const page of pages) {
    const abs = resolve(root, page);
    for (const link of relativeLinks(page, readFileSync(abs, 'utf8'))) {
      const [path, anchor] = splitOnce(link.target, '#');
      const target = path === '' ? abs : resolve(dirname(abs), decodeURIComponent(path));
      const where = `${link.markdown}:${link.line}: link '${link.target}'`;
      if (!existsSync(target)) {
        problems.push(`${where}: no file ${relative(root, target)}`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (!target.endsWith('.md')) {
        problems.push(`${where}: an #anchor into ${relative(root, target)}, which is not a Markdown page`);
        continue;
      }
      if (!anchorsOf(target).has(decodeURIComponent(anchor))) {
        problems.push(`${where}: no heading of ${relative(root, target)} makes the anchor #${anchor}`);
      }
    }
  }
  return problems;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
