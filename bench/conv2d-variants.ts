// Times every conv2d kernel variant (src/ops/conv2d/kernels.ts) on the benchmark network's conv
// shapes, pass by pass, alternating the variants within each round (bench/conv2d-variant-timing.ts),
// and prints GFLOP/s per shape, pass and variant, with the tuner's choice for each
// (docs/BENCH_NET.md; the tuner's own runs are shorter); `--json FILE` saves the rows too.
//   npx tsx bench/conv2d-variants.ts [batch=8] [variant substrings, comma-separated] [shape substring] [--k 3]
//     [--min-channels 16] [--pass forward|input|weight] [--json FILE]
//
// Formulations tried on lavapipe and dropped before the variants were kept side by side (GFLOP/s
// per 2 cores of CPU time, batch 8, 3×3 shapes; the machine was shared, so ±30%):
//   padded source, lanes = output channels, 8 pixels each, source loads meant to be uniform: ~5-6
//   padded source, lanes = pixels, 8 pixels × 4 channels, scalar loads: ~5-6
//   dW accumulated pixel by pixel from a transposed copy of dy: ~5-7
// lavapipe turns every storage-buffer load into a loop over the 8 SIMD lanes with a bounds check
// per lane, so FMAs per load are what count there; a real GPU rewards shared-memory tiles instead.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createNodeGpu, nodeTuningStore, releaseNodeGpu } from '../src/gpu/node.ts';
import { tunerOf } from '../src/gpu/tuner.ts';
import type { ConvPass } from '../src/ops/conv2d/geometry.ts';
import { timeConvVariants, variantLine } from './conv2d-variant-timing.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { k: { type: 'string' }, 'min-channels': { type: 'string' }, pass: { type: 'string' }, json: { type: 'string' } },
});
const [batchArg = '8', variant, shape] = positionals;
const count = (name: string, text: string | undefined) => {
  const v = Number(text);
  if (text !== undefined && !(Number.isInteger(v) && v > 0)) {
    console.error(`error: ${name} must be a positive integer, got ${text}; see the usage at the top of bench/conv2d-variants.ts`);
    process.exit(2);
  }
  return text === undefined ? undefined : v;
};
const batch = count('batch', batchArg)!;
const passes = values.pass === undefined ? undefined : [values.pass as ConvPass];
if (passes && !['forward', 'input', 'weight'].includes(passes[0])) {
  console.error(`error: --pass must be forward, input or weight, got ${values.pass}; see the usage at the top of bench/conv2d-variants.ts`);
  process.exit(2);
}

const gpu = await createNodeGpu();
await tunerOf(gpu).configure({ kind: 'tune' }, nodeTuningStore());
console.log(`${gpu.info.description}, batch ${batch}; GFLOP/s from GPU timestamps, best of 5 alternating rounds`);
console.log(['shape', 'pass', 'variant', 'GFLOP/s', 'tuner'].join('\t'));
const rows = await timeConvVariants(
  gpu,
  { batch, variant, shape, k: count('--k', values.k), minChannels: count('--min-channels', values['min-channels']), passes },
  (row) => console.log(variantLine(row)),
);
if (values.json) {
  writeFileSync(
    values.json,
    `${JSON.stringify({ adapter: gpu.info.description, batch, date: new Date().toISOString(), rows }, null, 2)}\n`,
  );
}
releaseNodeGpu(gpu);
process.exit(0);
