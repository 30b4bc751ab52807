/**
 * What each library imports, checked against what its package.json declares, so that a user's install has
 * everything the library loads (the slow `npm run test:packaging` would find it too, minutes later):
 * every package imported by a library's sources is a dependency or peer dependency of that library, and no
 * import reaches into a Nest package's `internal` entry, which Nest 11 (inside the peer range) does not have.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const LIBS = ['broker', 'core', 'testing'];

/** The bare specifiers (`pkg`, `@scope/pkg/sub/path.js`) imported or re-exported by the .ts files under `dir`. */
function bareImports(dir: string): { file: string; specifier: string }[] {
  const out: { file: string; specifier: string }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^'.][^']*)'|^\s*import\s+'([^'.][^']*)'/gm)) {
      out.push({ file: file.slice(root.length), specifier: m[1] ?? m[2] });
    }
  }
  return out;
}

const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('the libraries import only what their package.json declares', () => {
  for (const lib of LIBS) {
    it(`@kafka-nest/${lib}`, () => {
      const pkg = JSON.parse(readFileSync(join(root, 'libs', lib, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
      const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
      const imports = bareImports(join(root, 'libs', lib, 'src'));
      expect(imports.length).toBeGreaterThan(0);
      const undeclared = imports.filter(({ specifier }) => {
        const name = packageName(specifier);
        return !specifier.startsWith('node:') && !builtinModules.includes(name) && !declared.has(name);
      });
      expect(undeclared.map((i) => `${i.file} imports ${i.specifier}, which libs/${lib}/package.json does not declare`)).toEqual([]);
      const internal = imports.filter(({ specifier }) => /^@nestjs\/[^/]+\/internal(\.js)?$/.test(specifier));
      expect(internal.map((i) => `${i.file} imports ${i.specifier}: Nest 11 has no such entry`)).toEqual([]);
    });
  }
});
