// Times conv2d's forward, input-gradient and weight-gradient passes on the BENCH_NET conv shapes
// and prints GFLOP/s per pass, shape and kernel variant. Run: npx tsx bench/conv2d-formulations.ts [batch]
import { availableParallelism } from 'node:os';
import { createNodeGpu, releaseNodeGpu } from '../src/gpu/node.ts';
import { conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dTuning } from '../src/ops/conv2d.ts';

const batch = Number(process.argv[2] ?? 8);
// Cin → Cout at H×W, 3×3 'same' (the 1×1 heads last), as in /work/shared/BENCH_NET.md.
const shapes: [number, number, number, number][] = [
  [1, 32, 32, 3], [32, 32, 32, 3], [96, 32, 32, 3],
  [32, 64, 16, 3], [64, 64, 16, 3], [192, 64, 16, 3],
  [64, 128, 8, 3], [128, 128, 8, 3],
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

const chosen = conv2dTuning.convWorkgroup;
const convVariants: [string, (outC: number) => number][] = [
  ['chosen', chosen],
  ...[8, 16, 32, 64, 128].map((wg): [string, () => number] => [`conv wg${wg}`, () => wg]),
];
// Optional filters: npx tsx bench/conv2d-formulations.ts [batch] [variant substring] [shape substring]
const only = process.argv[3];
const onlyShape = process.argv[4];

const rows: string[][] = [['shape', 'variant', 'forward', 'backward input', 'backward weight']];
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
  for (const [name, plan] of convVariants) {
    if (only && !name.includes(only)) continue;
    conv2dTuning.convWorkgroup = plan;
    const fwd = await time(() => conv2dForward(x, w, b), iters);
    const bwdIn = await time(() => conv2dBackwardInput(dy, w, x.shape), iters);
    const bwdW = name === 'chosen' ? gflops(await time(() => conv2dBackwardWeight(dy, x, w.shape), iters)) : '';
    rows.push([`${cin}→${cout} ${hw}×${hw} k${k}`, name, gflops(fwd), gflops(bwdIn), bwdW]);
    console.log(rows[rows.length - 1].join('\t'));
  }
  conv2dTuning.convWorkgroup = chosen;
  for (const t of [x, w, b, dy]) t.buffer.destroy();
}
releaseNodeGpu(gpu);
process.exit(0);
