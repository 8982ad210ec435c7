// The portable benchmark (bench/bundle.ts, bench/bundle/run.sh): the folder holds what run.sh needs
// and stays under 40 MiB, and run.sh measures the adapter with `node` nowhere on PATH, through the
// bundled Node runtime, Dawn and Vulkan loader. gzip keeps the build here to about a minute (xz, the
// default, makes a smaller bundle but takes minutes on two cores); the Node runtime is packed from
// the npm registry once and cached. Only the peak (a quick matmul and copy) runs: the kernels and
// the training step run the same bundled code, and take minutes on lavapipe.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const MAX_BYTES = 40 * 2 ** 20;
const TOOLS_WITHOUT_NODE = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

/** A PATH of links to everything in /usr/bin (and ldconfig) except Node.js and npm. */
function pathWithoutNode(dir: string): string {
  mkdirSync(dir);
  for (const tool of readdirSync('/usr/bin')) if (!TOOLS_WITHOUT_NODE.has(tool)) symlinkSync(join('/usr/bin', tool), join(dir, tool));
  for (const tool of ['/usr/sbin/ldconfig', '/sbin/ldconfig']) {
    if (existsSync(tool) && !existsSync(join(dir, 'ldconfig'))) symlinkSync(tool, join(dir, 'ldconfig'));
  }
  return dir;
}

describe('bench:bundle', () => {
  const work = mkdtempSync(join(tmpdir(), 'unmix-bundle-'));
  const out = join(work, 'bundle');
  // The unpacked runtime is over 100 MB.
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes a self-contained folder under 40 MiB', { timeout: 600_000 }, () => {
    const build = spawnSync(process.execPath, ['--import', 'tsx', 'bench/bundle.ts', '--out', out, '--compression', 'gzip'], {
      encoding: 'utf8',
      timeout: 580_000,
    });
    expect(build.status, build.stderr + build.stdout).toBe(0);
    for (const file of [
      'run.sh',
      'bundle-id',
      'manifest.json',
      'app/bench.mjs',
      'app/train.mjs',
      'app/eval.mjs',
      'shaders/conv2d.wgsl',
      'node_modules/webgpu/index.js',
      'runtime/node.gz',
      'runtime/dawn.node.gz',
      'runtime/libvulkan.so.1.gz',
      'bench/peers/torch_bench.py',
    ]) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    expect(readdirSync(join(out, 'shaders')).sort()).toEqual(
      readdirSync('shaders')
        .filter((f) => f.endsWith('.wgsl'))
        .sort(),
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { node: string; bytes: Record<string, number> };
    expect(manifest.node).toBe(process.versions.node);
    expect(manifest.bytes.total).toBeGreaterThan(10 * 2 ** 20);
    expect(manifest.bytes.total).toBeLessThanOrEqual(MAX_BYTES);
  });

  it('run.sh measures the adapter with no node on PATH', { timeout: 600_000 }, () => {
    const PATH = pathWithoutNode(join(work, 'bin'));
    expect(spawnSync('sh', ['-c', 'command -v node'], { env: { PATH } }).status).not.toBe(0);
    const results = join(work, 'results');
    const env = { PATH, HOME: work, UNMIX_BUNDLE_CACHE: join(work, 'cache'), UNMIX_BUNDLED_VULKAN: '1' };
    const r = spawnSync(join(out, 'run.sh'), ['--out', results, '--no-torch', '--', '--only', 'peak', '--quick'], {
      encoding: 'utf8',
      env,
      timeout: 580_000,
    });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toMatch(/unpacking the runtime/);
    expect(r.stderr).toMatch(/using the bundled Vulkan loader/);
    const peak = JSON.parse(readFileSync(join(results, 'peak.json'), 'utf8')) as { adapter: string; matmul: { gflops: number } };
    expect(peak.adapter).not.toBe('');
    expect(peak.matmul.gflops).toBeGreaterThan(0);
    expect(existsSync(join(results, 'RESULTS.md'))).toBe(true);
  });
});
