// The browser tests: Node drives headless Chromium (SwiftShader WebGPU) through puppeteer against
// pages served by Vite. One file at a time: each one starts a browser, and the machine has 2 cores.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
