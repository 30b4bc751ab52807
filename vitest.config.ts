import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src/index.ts`, import.meta.url));

// SWC keeps decorator metadata (esbuild drops it), which Nest's DI needs.
const shared = {
  plugins: [swc.vite({ jsc: { target: 'es2022' } })],
  resolve: {
    alias: {
      '@kafka-nest/broker': lib('broker'),
      '@kafka-nest/core': lib('core'),
      '@kafka-nest/testing': lib('testing'),
    },
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
