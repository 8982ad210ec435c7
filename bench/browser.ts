// Runs the training-step benchmark in headless Chromium on its bundled SwiftShader (WebGPU.md's
// recipe): a Vite dev server serves bench/browser/, puppeteer opens one page per framework.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer';
import { createServer } from 'vite';
import type { TrainStepResult } from './peers/bench-net.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface BrowserRun {
  fw: 'unmix' | 'unmix-after' | 'unmix-hand-picked' | 'unmix-default' | 'tfjs' | 'jaxjs';
  batch: number;
  warmup: number;
  steps: number;
}

export type BrowserOutcome = TrainStepResult | { fw: string; error: string };

/** Headless Chromium on SwiftShader with a Vite dev server on the checkout: `base` is the server's
 * URL; `close` ends both. */
export async function openChromium(timeoutMs: number) {
  const server = await createServer({
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    server: { host: '127.0.0.1', port: 0, strictPort: false },
    // Bundled up front, so a first import does not make Vite reload the page mid-run.
    optimizeDeps: {
      entries: ['bench/browser/index.html', 'bench/browser/variants.html'],
      include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'],
    },
  });
  await server.listen();
  const base = server.resolvedUrls!.local[0];
  const userDataDir = mkdtempSync(join(tmpdir(), 'unmix-bench-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: ARGS,
    protocolTimeout: timeoutMs + 60_000,
  });
  const environment = `Chromium ${(await browser.version()).replace(/^[^/]*\//, '')} (headless)`;
  const close = async () => {
    await browser.close();
    await server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { base, browser, environment, close };
}

/** Runs each benchmark in a fresh page and hands over each outcome as it comes (a failed run gives
 * its error instead of a result). */
export async function benchInChromium(
  runs: BrowserRun[],
  timeoutMs: number,
  onOutcome: (o: BrowserOutcome) => void,
  log: (line: string) => void,
): Promise<void> {
  const { base, browser, environment, close } = await openChromium(timeoutMs);
  try {
    for (const run of runs) {
      const page = await browser.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') log(`    [chromium ${run.fw}] ${m.text()}`);
      });
      const query = new URLSearchParams({
        fw: run.fw,
        batch: String(run.batch),
        warmup: String(run.warmup),
        steps: String(run.steps),
        env: environment,
      });
      await page.goto(`${base}bench/browser/index.html?${query}`);
      try {
        await page.waitForFunction('window.benchResult !== undefined', { timeout: timeoutMs, polling: 1000 });
        const outcome = (await page.evaluate('window.benchResult')) as { ok: boolean; result?: TrainStepResult; error?: string };
        onOutcome(outcome.ok ? outcome.result! : { fw: run.fw, error: outcome.error! });
      } catch (e) {
        onOutcome({ fw: run.fw, error: `no result within ${timeoutMs / 1000} s: ${(e as Error).message}` });
      }
      await page.close();
    }
  } finally {
    await close();
  }
}
