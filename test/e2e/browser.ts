// What every browser test needs: the project served by Vite on a free localhost port (a secure
// context, so navigator.gpu exists) and Debian's Chromium, headless, with SwiftShader's WebGPU.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer';
import { createServer, type ViteDevServer } from 'vite';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

const QUIET = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const WEBGPU = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

export interface Session {
  url: string;
  browser: Browser;
  page: Page;
  /** Console lines and uncaught errors from the page, to print when a test fails. */
  log: string[];
  close(): Promise<void>;
}

/** How much WebGPU the browser has: SwiftShader's; navigator.gpu but no adapter (Chromium without
 * the WebGPU flags, like a blocklisted GPU); or none at all (navigator.gpu removed, like an old browser). */
export type WebGpuMode = 'swiftshader' | 'no-adapter' | 'absent';

/** Starts Vite and Chromium and opens `path`. With `serveDatasets: false` Vite runs without the
 * project's config, so without the dataset plugin: like a static host, /data/ has nothing. */
export async function openPage(path: string, webgpu: WebGpuMode = 'swiftshader', opts: { serveDatasets?: boolean } = {}): Promise<Session> {
  const server: ViteDevServer = await createServer({
    root: ROOT,
    configFile: opts.serveDatasets === false ? false : join(ROOT, 'vite.config.ts'),
    server: { host: 'localhost', port: 0, strictPort: false, hmr: false },
    worker: { format: 'es' },
    logLevel: 'error',
  });
  await server.listen();
  return openUrl(server.resolvedUrls!.local[0], path, webgpu, () => server.close());
}

/** Starts Chromium and opens `path` on the server at `url`; closing the session calls closeServer. */
export async function openUrl(url: string, path: string, webgpu: WebGpuMode, closeServer: () => Promise<void>): Promise<Session> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'unmix-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir,
    args: webgpu === 'swiftshader' ? [...QUIET, ...WEBGPU] : QUIET,
  });
  const page = await browser.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${(e as Error).message}`));
  page.on('workercreated', (w) => w.on('console', (m) => log.push(`[worker ${m.type()}] ${m.text()}`)));
  if (webgpu === 'absent') await page.evaluateOnNewDocument(() => delete (Navigator.prototype as { gpu?: unknown }).gpu);
  await page.goto(new URL(path, url).href, { waitUntil: 'load' });
  return {
    url,
    browser,
    page,
    log,
    async close() {
      await browser.close();
      await closeServer();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
