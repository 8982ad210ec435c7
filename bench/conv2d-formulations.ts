// Times conv2d's forward, input-gradient and weight-gradient passes on the BENCH_NET conv shapes
// and prints GFLOP/s per pass, shape and kernel variant.
//   npx tsx bench/conv2d-formulations.ts [batch=8] [variant substring] [shape substring]
//
// Formulations tried on lavapipe and dropped (GFLOP/s per 2 cores of CPU time, batch 8, 3×3 shapes;
// the machine was shared, so ±30%):
//   direct conv, lanes = pixels, 4 pixels × 8 channels per invocation, zero padding by masks:
//     forward ~5-7, input gradient ~5-7, dW (lanes = Cin, 8 Cout per tap-uniform workgroup) ~2-3.5
//   padded source, lanes = output channels, 8 pixels each, source loads meant to be uniform: ~5-6
//   padded source, lanes = pixels, 8 pixels × 4 channels, scalar loads: ~5-6
// Why they lose: lavapipe turns every storage-buffer load into a loop over the 8 SIMD lanes with a
// branch and bounds check per lane, even when the address is uniform in a loop, so only FMAs per
// load matter. Kept: 8 channels × 8 pixels per invocation with vec4 loads over a padded source
// (forward and input gradient ~12-18), and dW with 4 × 2 channels × K² taps per invocation (~9-12;
// 4 × 1 channels ran at ~6-8; summing the 8 pixels with explicit FMAs instead of dot() made no
// difference; accumulating pixel by pixel from a transposed copy of dy fell to ~5-7). Storing the
// conv's outputs as vec4 instead of scalars was within the noise. A division-heavy pad pass cost as
// much as the conv itself on small Cin.
import { availableParallelism } from 'node:os';
import { createNodeGpu, releaseNodeGpu } from '../src/gpu/node.ts';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dTuning } from '../src/ops/conv2d.ts';

const batch = Number(process.argv[2] ?? 8);
// Cin → Cout at H×W, 3×3 'same' (the 1×1 heads last), as in docs/BENCH_NET.md.
const shapes: [number, number, number, number][] = [
  [1, 32, 32, 3],
  [32, 32, 32, 3],
  [96, 32, 32, 3],
  [32, 64, 16, 3],
  [64, 64, 16, 3],
  [192, 64, 16, 3],
  [64, 128, 8, 3],
  [128, 128, 8, 3],
  [32, 1, 32, 1],
];

const gpu = await createNodeGpu();
const CORES = availableParallelism();
console.log(`${gpu.info.description}, batch ${batch}; GFLOP/s per ${CORES} cores of CPU time (wall clock in parentheses)`);

/** Cost of one call of `fn`, the best of 5 runs of `iters` calls after a warm-up: wall-clock ms, and
 * CPU ms of this process (all of lavapipe's threads) per core. The machine's 2 cores are shared with
 * other work, which stretches the wall clock but not the CPU time our own threads burn, so the CPU
 * figure is the steadier one for comparing variants; on an idle machine the two agree. */
async function time(fn: () => void, iters: number): Promise<{ wall: number; cpu: number }> {
  fn();
  await gpu.sync();
  gpu.endStep();
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    for (let i = 0; i < iters; i++) fn();
    await gpu.sync();
    const used = process.cpuUsage(startCpu);
    wall = Math.min(wall, (performance.now() - start) / iters);
    cpu = Math.min(cpu, (used.user + used.system) / 1000 / CORES / iters);
    gpu.endStep();
  }
  return { wall, cpu };
}

// Variants of the kept kernels: each sets some tuning knobs, runs, and puts them back.
const chosen = { ...conv2dTuning };
interface Variant {
  name: string;
  passes: ('forward' | 'input' | 'weight')[];
  tuning: Partial<typeof conv2dTuning>;
}
const variants: Variant[] = [
  { name: 'chosen', passes: ['forward', 'input', 'weight'], tuning: {} },
  ...[16, 32, 128].map((wg): Variant => ({ name: `conv wg${wg}`, passes: ['forward', 'input'], tuning: { convWorkgroup: wg } })),
  ...[8, 12].map((px): Variant => ({ name: `conv ${px} pixels`, passes: ['forward', 'input'], tuning: { convPixels: px } })),
  ...(['one', 'all'] as const).map(
    (rows): Variant => ({ name: `conv taps of ${rows} row(s) per update`, passes: ['forward', 'input'], tuning: { convTapRows: rows } }),
  ),
  ...[512, 8192].map((n): Variant => ({ name: `dW ${n} invocations`, passes: ['weight'], tuning: { weightInvocations: n } })),
];

// Optional filters: npx tsx bench/conv2d-formulations.ts [batch] [variant substring] [shape substring]
const only = process.argv[3];
const onlyShape = process.argv[4];

console.log(['shape', 'variant', 'forward', 'backward input', 'backward weight'].join('\t'));
for (const [cin, cout, hw, k] of shapes) {
  if (onlyShape && !`${cin}→${cout} ${hw}×${hw}`.includes(onlyShape)) continue;
  const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const x = gpu.persistent([batch, cin, hw, hw], rand(batch * cin * hw * hw));
  const w = gpu.persistent([cout, cin, k, k], rand(cout * cin * k * k));
  const b = gpu.persistent([cout], rand(cout));
  const dy = gpu.persistent([batch, cout, hw, hw], rand(batch * cout * hw * hw));
  const flop = 2 * batch * cin * cout * k * k * hw * hw;
  const iters = Math.max(1, Math.min(20, Math.round(2e8 / flop)));
  const gflops = (t: { wall: number; cpu: number }) => `${(flop / t.cpu / 1e6).toFixed(1)} (${(flop / t.wall / 1e6).toFixed(1)})`;
  for (const v of variants) {
    if (only && !v.name.includes(only)) continue;
    Object.assign(conv2dTuning, v.tuning);
    const run = async (pass: Variant['passes'][number], fn: () => void) => (v.passes.includes(pass) ? gflops(await time(fn, iters)) : '');
    const fwd = await run('forward', () => conv2dForward(x, w, b));
    const bwdIn = await run('input', () => conv2dBackwardInput(dy, w, x.shape));
    const bwdW = await run('weight', () => conv2dBackwardWeight(dy, x, w.shape));
    Object.assign(conv2dTuning, chosen);
    console.log([`${cin}→${cout} ${hw}×${hw} k${k}`, v.name, fwd, bwdIn, bwdW].join('\t'));
  }
  for (const t of [x, w, b, dy]) t.buffer.destroy();
}
releaseNodeGpu(gpu);
process.exit(0);
