// The built site as any host serves it: `vite build` (npm run build) into a folder, served by a plain
// static server (node:http; no Vite, so no dataset plugin). With the datasets the build copied, the
// page fetches the shipped weights and the test sample at once, loads the datasets and can train;
// then the same site as a build without datasets writes it (an empty data/datasets.json): the shipped
// model still separates the sample and a drawn digit, and the page asks for the files, with links.
// Neither asks for a file the host lacks (no 404) or logs an error.
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, resolve, sep } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_ORIGIN, SHIPPED_WEIGHTS } from '../../src/app/protocol.ts';
import { DATA_DIR, DATA_MANIFEST, type DataManifest, SOURCE_FILES } from '../../src/data/datasets.ts';
import { TEST_SAMPLE_FILE } from '../../src/data/test-sample.ts';
import { openUrl, ROOT, type Session } from './browser.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.json': 'application/json',
  '.gz': 'application/gzip',
};

/** Serves `dir` as a static host does: files by path, 404 otherwise. */
function serveStatic(dir: string, requested: string[], missing: string[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = resolve(dir, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!file.startsWith(dir + sep) || !existsSync(file) || !statSync(file).isFile()) {
      missing.push(path);
      res.statusCode = 404;
      res.end();
      return;
    }
    requested.push(path);
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  return new Promise((done) =>
    server.listen(0, 'localhost', () => done({ server, url: `http://localhost:${(server.address() as { port: number }).port}/` })),
  );
}

describe('the built site on a plain static host', () => {
  const dist = mkdtempSync(join(tmpdir(), 'unmix-dist-'));
  const requested: string[] = [];
  const missing: string[] = [];
  let session: Session;

  beforeAll(async () => {
    await build({ root: ROOT, configFile: join(ROOT, 'vite.config.ts'), build: { outDir: dist, emptyOutDir: true }, logLevel: 'error' });
    const { server, url } = await serveStatic(dist, requested, missing);
    session = await openUrl(url, '/', 'swiftshader', () => new Promise((done) => server.close(() => done())));
  }, 120_000);
  afterAll(async () => {
    await session?.close();
    rmSync(dist, { recursive: true, force: true });
  });

  const failWithLog = (what: string) => (e: Error) => {
    throw new Error(`${what}: ${e.message}\npage log:\n${session.log.join('\n')}\n404: ${missing.join(', ')}`);
  };
  const errorsLogged = () => session.log.filter((line) => /^\[(error|pageerror|worker error)\]/.test(line));

  it('holds the datasets, checked, and lists them', () => {
    const manifest = JSON.parse(readFileSync(join(dist, DATA_DIR, DATA_MANIFEST), 'utf8')) as DataManifest;
    expect(manifest.files).toEqual(SOURCE_FILES.map((f) => `${f.dataset}/${f.file}`));
    for (const name of manifest.files) expect(statSync(join(dist, DATA_DIR, name)).size).toBeGreaterThan(4000);
  });

  it('separates with the shipped weights at once, then loads the datasets: Start enabled, no 404, no error', async () => {
    const { page } = session;
    await page
      .waitForFunction(
        (origin) => window.unmix?.origin === origin && window.unmix.grid !== null && window.unmix.tried !== null,
        { timeout: 90_000 },
        SHIPPED_ORIGIN,
      )
      .catch(failWithLog('no separation from the shipped weights'));
    expect(requested).toContain(`/${SHIPPED_WEIGHTS}`);
    expect(requested).toContain(`/${TEST_SAMPLE_FILE}`);
    await page.waitForFunction(() => window.unmix.dataReady, { timeout: 90_000 }).catch(failWithLog('the datasets did not load'));
    expect(await page.$eval('#start', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
    expect(await page.$eval('#data-status', (e) => e.textContent)).toMatch(/loaded and verified/);
    expect(missing).toEqual([]);
    expect(errorsLogged()).toEqual([]);
  });

  it('without datasets (as built where none were found): the sample and the drawing pad work, and the page asks for the files with links', async () => {
    const { page } = session;
    for (const { dataset, file } of SOURCE_FILES) rmSync(join(dist, DATA_DIR, dataset, file));
    writeFileSync(join(dist, DATA_DIR, DATA_MANIFEST), `${JSON.stringify({ files: [] })}\n`);
    await page.reload({ waitUntil: 'load' });
    await page
      .waitForFunction(() => Boolean(window.unmix?.grid && window.unmix.tried) && !document.getElementById('data-sources')!.hidden, {
        timeout: 90_000,
      })
      .catch(failWithLog('no separation without the datasets'));
    expect(await page.$eval('#data-status', (e) => e.textContent)).toMatch(/not on this host/);
    const links = await page.$$eval('#data-sources a', (as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(links).toEqual(['https://yann.lecun.com/exdb/mnist/', 'https://github.com/zalandoresearch/fashion-mnist']);
    expect(await page.$$eval('#start, #evaluate', (bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([true, true]);
    // A "1" drawn on the pad is separated from the chosen item.
    await page.click('input[name="digit-source"][value="draw"]');
    const box = (await (await page.$('#pad'))!.boundingBox())!;
    await page.evaluate(() => (window.unmix.tried = null));
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.8, { steps: 10 });
    await page.mouse.up();
    await page
      .waitForFunction(() => window.unmix.tried !== null, { timeout: 30_000 })
      .catch(failWithLog('the drawn digit was not separated'));
    expect(missing).toEqual([]);
    expect(errorsLogged()).toEqual([]);
  });
});
