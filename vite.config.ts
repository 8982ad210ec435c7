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
    // Each pass's default kernel, not measured: tests stay fast and deterministic; the tuner's own
    // tests (test/gpu/tuner.test.ts, test/cli/cli.test.ts) ask for it.
    env: { UNMIX_CONV: 'default' },
  },
});
