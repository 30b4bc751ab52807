import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const lib = (name: string, entry = 'index.ts') => fileURLToPath(new URL(`./libs/${name}/src/${entry}`, import.meta.url));

// SWC keeps decorator metadata (esbuild drops it), which Nest's DI needs.
const shared = {
  plugins: [swc.vite({ jsc: { target: 'es2022' } })],
  resolve: {
    // Exact matches: '@kafka-nest/core' must not swallow '@kafka-nest/core/microservices'.
    alias: [
      { find: /^@kafka-nest\/broker$/, replacement: lib('broker') },
      { find: /^@kafka-nest\/core$/, replacement: lib('core') },
      { find: /^@kafka-nest\/core\/microservices$/, replacement: lib('core', 'microservices/index.ts') },
      { find: /^@kafka-nest\/testing$/, replacement: lib('testing') },
    ],
  },
};

export default defineConfig({
  ...shared,
  test: {
    projects: [
      {
        ...shared,
        test: {
          name: 'unit',
          // Most test files wait on a broker, a timer or a child process, not on the CPU: two files at a time
          // keep a 2-core machine busy (Vitest's default there is one).
          maxWorkers: 2,
          include: ['test/**/*.test.ts'],
          exclude: ['test/compat/**', 'test/reliability/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        ...shared,
        test: { name: 'compat', include: ['test/compat/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 30_000 },
      },
      {
        ...shared,
        test: { name: 'reliability', include: ['test/reliability/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 60_000 },
      },
    ],
  },
});
