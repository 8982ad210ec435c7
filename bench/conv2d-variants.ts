// Times every conv2d kernel variant (src/ops/conv2d/kernels.ts) on the benchmark network's conv
// shapes, pass by pass, with GPU timestamps, and prints GFLOP/s per shape, pass and variant, with
// the tuner's choice for each (docs/BENCH_NET.md; the tuner's own runs are shorter).
//   npx tsx bench/conv2d-variants.ts [batch=8] [variant substring] [shape substring]
//
// Formulations tried on lavapipe and dropped before the variants were kept side by side (GFLOP/s
// per 2 cores of CPU time, batch 8, 3×3 shapes; the machine was shared, so ±30%):
//   padded source, lanes = output channels, 8 pixels each, source loads meant to be uniform: ~5-6
//   padded source, lanes = pixels, 8 pixels × 4 channels, scalar loads: ~5-6
//   dW accumulated pixel by pixel from a transposed copy of dy: ~5-7
// lavapipe turns every storage-buffer load into a loop over the 8 SIMD lanes with a bounds check
// per lane, so FMAs per load are what count there; a real GPU rewards shared-memory tiles instead.
import { createNodeGpu, nodeTuningStore, releaseNodeGpu } from '../src/gpu/node.ts';
import { tunerOf } from '../src/gpu/tuner.ts';
import { type AnyConvKernel, type ConvPass, geometry } from '../src/ops/conv2d/geometry.ts';
import { applicableKernels, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, shapeClass } from '../src/ops/conv2d.ts';
import { BENCH_CONVS } from '../src/ops/index.ts';

const batch = Number(process.argv[2] ?? 8);
const only = process.argv[3];
const onlyShape = process.argv[4];

const gpu = await createNodeGpu();
const tuner = tunerOf(gpu);
await tuner.configure({ kind: 'tune' }, nodeTuningStore());
console.log(`${gpu.info.description}, batch ${batch}; GFLOP/s from GPU timestamps, best of 5 runs`);

/** The best of 5 GPU-timed runs of `iters` calls of `fn`, in ms per call. */
async function time(fn: () => void, iters: number): Promise<number> {
  fn();
  await gpu.sync();
  gpu.endStep();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const start = performance.now();
    const ms = await gpu.timeGpu(() => {
      for (let i = 0; i < iters; i++) fn();
    });
    best = Math.min(best, (ms ?? performance.now() - start) / iters);
    gpu.endStep();
  }
  return best;
}

const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
console.log(['shape', 'pass', 'variant', 'GFLOP/s', 'tuner'].join('\t'));
for (const [, cin, cout, hw, k] of BENCH_CONVS) {
  if (onlyShape && !`${cin}→${cout} ${hw}×${hw}`.includes(onlyShape)) continue;
  const x = gpu.persistent([batch, cin, hw, hw], rand(batch * cin * hw * hw));
  const w = gpu.persistent([cout, cin, k, k], rand(cout * cin * k * k));
  const b = gpu.persistent([cout], rand(cout));
  const dy = gpu.persistent([batch, cout, hw, hw], rand(batch * cout * hw * hw));
  const g = geometry('conv2d', x.shape, w.shape);
  const flop = 2 * batch * cin * cout * k * k * hw * hw;
  const iters = Math.max(1, Math.min(20, Math.round(2e8 / flop)));
  // Through the public passes first, so the tuner meets (and then measures) each shape class.
  conv2dForward(x, w, b);
  conv2dBackwardInput(dy, w, x.shape);
  conv2dBackwardWeight(dy, x, w.shape);
  gpu.endStep();
  await tuner.tunePending();
  const choices = tuner.choices();
  for (const pass of ['forward', 'input', 'weight'] as ConvPass[]) {
    for (const kernel of applicableKernels(gpu, pass, g) as AnyConvKernel[]) {
      if (only && !kernel.name.includes(only)) continue;
      const run = () => {
        if (kernel.pass === 'forward') kernel.run(gpu, { x, w, b }, g);
        else if (kernel.pass === 'input') kernel.run(gpu, { dy, w }, g);
        else kernel.run(gpu, { dy, x }, g);
      };
      const ms = await time(run, iters);
      const chosen = choices[shapeClass(pass, g)]?.kernel === kernel.name ? 'chosen' : '';
      console.log([`${cin}→${cout} ${hw}×${hw} k${k}`, pass, kernel.name, (flop / ms / 1e6).toFixed(1), chosen].join('\t'));
    }
  }
  for (const t of [x, w, b, dy]) gpu.release(t.buffer);
}
releaseNodeGpu(gpu);
process.exit(0);
