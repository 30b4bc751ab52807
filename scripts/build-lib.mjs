#!/usr/bin/env node
/**
 * Builds the library in the current directory (run by each workspace's `npm run build`) twice with tsc,
 * which keeps decorator metadata:
 *   dist/esm  ES modules + .d.ts   (tsconfig.build.json: module NodeNext, the package is "type": "module")
 *   dist/cjs  CommonJS + .d.ts     (tsconfig.cjs.json: module commonjs), marked by dist/cjs/package.json
 *             {"type": "commonjs"} so that Node and TypeScript read both the .js and the .d.ts as CommonJS.
 * The package's `exports` send `import` to dist/esm and `require` to dist/cjs, each with its own types.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync('dist', { recursive: true, force: true });
for (const config of ['tsconfig.build.json', 'tsconfig.cjs.json']) {
  if (!existsSync(config)) throw new Error(`build-lib: ${process.cwd()} has no ${config}; each library needs both`);
  const run = spawnSync(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
writeFileSync('dist/cjs/package.json', `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
