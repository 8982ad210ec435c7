import { defineConfig } from 'vitest/config';
import { datasetFiles } from './src/app/data-plugin.ts';

export default defineConfig({
  root: '.',
  plugins: [datasetFiles()],
  server: { fs: { allow: ['..'] } },
  build: { outDir: 'dist', target: 'es2022' },
  worker: { format: 'es' },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
