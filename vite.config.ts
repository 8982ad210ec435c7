import { defineConfig } from 'vitest/config';
import { datasetFiles } from './src/app/data-plugin.ts';

export default defineConfig({
  root: '.',
  plugins: [datasetFiles()],
  // Only the project itself: the datasets come through the plugin's known names, never /@fs/.
  server: { fs: { strict: true, allow: ['.'] } },
  build: { outDir: 'dist', target: 'es2022' },
  worker: { format: 'es' },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One file at a time: the budget tests (--minutes, the session's) fix a step count from the
    // warm-up's speed and must then reach it, which another file loading the 2 cores after the
    // warm-up made them miss (CI, 2026-12-04: 1,110 of 1,117 steps, three times over).
    fileParallelism: false,
    // Each pass's default kernel, not measured: tests stay fast and deterministic; the tuner's own
    // tests (test/gpu/tuner.test.ts, test/cli/cli.test.ts) ask for it.
    env: { UNMIX_CONV: 'default' },
  },
});
