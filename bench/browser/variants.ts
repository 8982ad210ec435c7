// The browser half of bench/conv2d-variants-browser.ts: bench/conv2d-variant-timing.ts on this
// page's WebGPU adapter (SwiftShader in headless Chromium), the rows left in window.variantsResult.
import { createBrowserGpu } from '../../src/gpu/browser.ts';
import { tunerOf } from '../../src/gpu/tuner.ts';
import type { ConvPass } from '../../src/ops/conv2d/geometry.ts';
import { timeConvVariants, type VariantRow, variantLine } from '../conv2d-variant-timing.ts';

declare global {
  interface Window {
    variantsResult?: { ok: true; adapter: string; rows: VariantRow[] } | { ok: false; error: string };
  }
}

const q = new URLSearchParams(location.search);
const count = (name: string) => {
  const text = q.get(name);
  const v = Number(text);
  if (text !== null && !(Number.isInteger(v) && v > 0)) throw new Error(`variants page: ?${name}= must be a positive integer, got ${text}`);
  return text === null ? undefined : v;
};
const out = document.getElementById('out')!;

async function run() {
  const gpu = await createBrowserGpu();
  // Measured afresh on every page (no store): the tuner's choice column is this run's.
  await tunerOf(gpu).configure({ kind: 'tune' }, null);
  const pass = q.get('pass');
  const rows = await timeConvVariants(
    gpu,
    {
      batch: count('batch') ?? 8,
      variant: q.get('variant') ?? undefined,
      shape: q.get('shape') ?? undefined,
      k: count('k'),
      minChannels: count('minChannels'),
      passes: pass ? [pass as ConvPass] : undefined,
    },
    (row) => {
      out.textContent += `\n${variantLine(row)}`;
    },
  );
  return { adapter: gpu.info.description, rows };
}

run().then(
  (result) => {
    window.variantsResult = { ok: true, ...result };
  },
  (e: Error) => {
    out.textContent = `error: ${e.stack ?? e.message}`;
    window.variantsResult = { ok: false, error: e.stack ?? String(e) };
  },
);
