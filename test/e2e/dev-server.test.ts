// The dev server shows only the project: nothing beside it comes back through /@fs/, and /data/
// serves the eight dataset files by their names and nothing else, however a path is spelled.
import { rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './browser.ts';

/** GET with the path sent exactly as written (fetch() would resolve the dots first). */
function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dev server', () => {
  let server: ViteDevServer;
  let port: number;
  const secret = `beside the project ${process.pid}`;
  const beside = join(dirname(ROOT), `unmix-dev-server-test-${process.pid}.log`);

  beforeAll(async () => {
    writeFileSync(beside, secret);
    server = await createServer({
      root: ROOT,
      configFile: join(ROOT, 'vite.config.ts'),
      server: { host: 'localhost', port: 0, strictPort: false, hmr: false },
      logLevel: 'error',
    });
    await server.listen();
    port = Number(new URL(server.resolvedUrls!.local[0]).port);
  });
  afterAll(async () => {
    rmSync(beside, { force: true });
    await server?.close();
  });

  it('serves the project and the dataset files by name', async () => {
    expect((await get(port, `/@fs${join(ROOT, 'package.json')}`)).status).toBe(200);
    const labels = await get(port, '/data/mnist/t10k-labels-idx1-ubyte.gz');
    expect(labels.status).toBe(200);
    expect(labels.body.length).toBeGreaterThan(1000);
  });

  it('refuses a file beside the project', async () => {
    const r = await get(port, `/@fs${beside}`);
    expect([403, 404]).toContain(r.status);
    expect(r.body).not.toContain(secret);
  });

  const name = basename(beside);
  const up = basename(ROOT);
  for (const path of [
    `/data/../../${name}`,
    `/data/../${up}/package.json`,
    `/data/%2e%2e/%2e%2e/${name}`,
    `/data/mnist/..%2f..%2f..%2f${name}`,
    `/data/mnist%2f..%2f..%2f..%2f${name}`,
    `/data/%2e%2e%2f%2e%2e%2f${name}`,
    '/data/mnist/t10k-labels-idx1-ubyte.gz/../../../package.json',
    '/data/mnist/t10k-labels-idx1-ubyte.gz%00',
    '/data/mnist/./t10k-labels-idx1-ubyte.gz',
  ]) {
    it(`answers ${path} with 403 or 404`, async () => {
      const r = await get(port, path);
      expect([403, 404], `${path}: HTTP ${r.status}\n${r.body.slice(0, 300)}`).toContain(r.status);
      expect(r.body).not.toContain(secret);
      expect(r.body).not.toContain('"name": "unmix"');
    });
  }
});
