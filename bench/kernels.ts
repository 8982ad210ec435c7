// unmix's kernels at the exact shapes of the benchmark network (docs/BENCH_NET.md), each
// timed alone. Convolutions are rated in GFLOP/s against the peak matmul; the memory-bound ops in
// GB/s against the peak copy, counting each tensor the op must read or write once (the least
// traffic any implementation needs).
import type { Gpu } from '../src/gpu/gpu.ts';
import type { Shape, Tensor } from '../src/gpu/tensor.ts';
import { sizeOf } from '../src/gpu/tensor.ts';
import { BENCH_NET_CONFIG, Separator } from '../src/model/separator.ts';
import { Adam } from '../src/ops/adam.ts';
import { batchNorm2dBackward, batchNorm2dForward } from '../src/ops/batchnorm2d.ts';
import { concatChannelsBackward, concatChannelsForward } from '../src/ops/concat.ts';
import { conv2dBackwardBias, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from '../src/ops/conv2d.ts';
import { maxPool2dBackward, maxPool2dForward } from '../src/ops/maxpool2d.ts';
import { mseLossBackward, mseLossForward } from '../src/ops/mse.ts';
import { upsample2xBackward, upsample2xForward } from '../src/ops/upsample2d.ts';
import type { PeakResult } from './peak.ts';
import { type Timing, type TimingOptions, timeKernel } from './timing.ts';

export interface KernelResult {
  kernel: string;
  /** Where in the network, e.g. "enc2.conv1 32→64 @16×16". */
  shape: string;
  /** null for the optimizer, which does not depend on the batch. */
  batch: number | null;
  ms: number;
  /** GFLOP/s for convolutions, GB/s for the rest. */
  rate: number;
  unit: 'GFLOP/s' | 'GB/s';
  /** rate / the adapter's peak in that unit. */
  fractionOfPeak: number;
  timing: Timing;
}

/** The network's convolutions, one per distinct shape: [name, cin, cout, size, kernel]. */
const CONVS: [string, number, number, number, number][] = [
  ['enc1.conv1', 1, 32, 32, 3],
  ['enc1.conv2, dec1.conv2', 32, 32, 32, 3],
  ['enc2.conv1', 32, 64, 16, 3],
  ['enc2.conv2, dec2.conv2', 64, 64, 16, 3],
  ['mid.conv1', 64, 128, 8, 3],
  ['mid.conv2', 128, 128, 8, 3],
  ['dec2.conv1', 192, 64, 16, 3],
  ['dec1.conv1', 96, 32, 32, 3],
  ['heads (each)', 32, 1, 32, 1],
];
/** Batch-norm and pool inputs: [where, channels, size]. */
const LEVELS: [string, number, number][] = [
  ['level 1', 32, 32],
  ['level 2', 64, 16],
  ['mid', 128, 8],
];

/** A persistent tensor with cheap, deterministic, varied values in [-0.5, 0.5). */
function filled(gpu: Gpu, shape: Shape, label: string): Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = ((i * 0.6180339887) % 1) - 0.5;
  return gpu.persistent(shape, data, label);
}

type Log = (line: string) => void;

/** Times one kernel and rates it: `flops` for convolutions, else `bytes` of minimum traffic. */
async function measure(
  gpu: Gpu,
  peak: PeakResult,
  opts: TimingOptions,
  log: Log,
  kernel: string,
  shape: string,
  batch: number | null,
  encode: () => void,
  work: { flops: number } | { bytes: number },
): Promise<KernelResult> {
  const timing = await timeKernel(gpu, encode, opts);
  const isConv = 'flops' in work;
  const rate = (isConv ? work.flops : work.bytes) / timing.ms / 1e6;
  const r: KernelResult = {
    kernel,
    shape,
    batch,
    ms: timing.ms,
    rate,
    unit: isConv ? 'GFLOP/s' : 'GB/s',
    fractionOfPeak: rate / (isConv ? peak.matmul.gflops : peak.copy.gbps),
    timing,
  };
  log(
    `  ${kernel.padEnd(24)} ${shape.padEnd(38)} ${r.ms.toFixed(2).padStart(10)} ms ${r.rate.toFixed(2).padStart(8)} ${r.unit.padEnd(7)} ${(100 * r.fractionOfPeak).toFixed(1).padStart(6)}% of peak`,
  );
  return r;
}

/** Every kernel of a training step at batch `batch` except the optimizer (see benchAdam). */
export async function benchKernels(gpu: Gpu, batch: number, peak: PeakResult, opts: TimingOptions, log: Log): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  const owned: Tensor[] = [];
  const input = (shape: Shape, label: string) => {
    const t = filled(gpu, shape, label);
    owned.push(t);
    return t;
  };
  const run = async (kernel: string, shape: string, encode: () => void, work: { flops: number } | { bytes: number }) => {
    results.push(await measure(gpu, peak, opts, log, kernel, shape, batch, encode, work));
  };
  const f32 = (shape: Shape) => 4 * sizeOf(shape);

  try {
    for (const [name, cin, cout, size, k] of CONVS) {
      const x = input([batch, cin, size, size], `${name} x`);
      const w = input([cout, cin, k, k], `${name} w`);
      const b = input([cout], `${name} b`);
      const dy = input([batch, cout, size, size], `${name} dy`);
      const flops = 2 * batch * cout * size * size * cin * k * k;
      const where = `${name} ${cin}→${cout} @${size}×${size}`;
      await run('conv2d forward', where, () => conv2dForward(x, w, b, { padding: 'same' }), { flops });
      await run('conv2d backward input', where, () => conv2dBackwardInput(dy, w, x.shape, { padding: 'same' }), { flops });
      await run('conv2d backward weight', where, () => conv2dBackwardWeight(dy, x, w.shape, { padding: 'same' }), { flops });
      await run('conv2d backward bias', where, () => conv2dBackwardBias(dy), { bytes: f32(dy.shape) });
    }

    for (const [where, c, size] of LEVELS) {
      const shape = [batch, c, size, size];
      const x = input(shape, `bn ${where} x`);
      const dy = input(shape, `bn ${where} dy`);
      const gamma = input([c], 'gamma');
      const beta = input([c], 'beta');
      const state = { runningMean: input([c], 'running mean'), runningVar: input([c], 'running var') };
      const label = `${where} ${c}×${size}×${size}`;
      // As the network runs it, with the ReLU fused. Forward: x read, y written; backward: x, dy and
      // the forward's output read, dx written (the parameters are negligible).
      await run('batchnorm+relu forward', label, () => batchNorm2dForward(x, gamma, beta, state, { training: true, relu: true }), {
        bytes: 2 * f32(shape),
      });
      const saved = batchNorm2dForward(x, gamma, beta, state, { training: true, relu: true });
      const [mean, invstd, y] = [input([c], 'saved mean'), input([c], 'saved invstd'), input(shape, 'bn output')];
      gpu.copy(saved.mean, mean);
      gpu.copy(saved.invstd, invstd);
      gpu.copy(saved.y, y);
      gpu.endStep();
      await run('batchnorm+relu backward', label, () => batchNorm2dBackward(x, dy, gamma, { mean, invstd }, true, y), {
        bytes: 4 * f32(shape),
      });
    }

    for (const [where, c, size] of LEVELS.slice(0, 2)) {
      const shape = [batch, c, size, size];
      const x = input(shape, `pool ${where} x`);
      const dy = input([batch, c, size / 2, size / 2], `pool ${where} dy`);
      const label = `${where} ${c}×${size}×${size} → /2`;
      await run('maxpool forward', label, () => maxPool2dForward(x), { bytes: 1.25 * f32(shape) });
      await run('maxpool backward', label, () => maxPool2dBackward(x, dy), { bytes: 2.25 * f32(shape) });
    }

    // Nearest ×2 of the mid and dec2 outputs, then the concat with the skip at that resolution.
    for (const [where, c, size, skipC] of [
      ['into dec2', 128, 8, 64],
      ['into dec1', 64, 16, 32],
    ] as const) {
      const x = input([batch, c, size, size], `up ${where} x`);
      const up = [batch, c, 2 * size, 2 * size];
      const dy = input(up, `up ${where} dy`);
      const label = `${where} ${c}×${size}×${size} → ×2`;
      await run('upsample nearest fwd', label, () => upsample2xForward(x, 'nearest'), { bytes: 5 * f32(x.shape) });
      await run('upsample nearest bwd', label, () => upsample2xBackward(dy, x.shape, 'nearest'), { bytes: 5 * f32(x.shape) });
      const a = input(up, `concat ${where} a`);
      const skip = input([batch, skipC, 2 * size, 2 * size], `concat ${where} b`);
      const cat = [batch, c + skipC, 2 * size, 2 * size];
      const cdy = input(cat, `concat ${where} dy`);
      const catLabel = `${where} ${c}+${skipC} @${2 * size}×${2 * size}`;
      await run('concat forward', catLabel, () => concatChannelsForward(a, skip), { bytes: 2 * f32(cat) });
      await run('concat backward', catLabel, () => concatChannelsBackward(cdy, a.shape, skip.shape), { bytes: 2 * f32(cat) });
    }

    // The trainer's loss: one MSE over [digit, item] concatenated on channels.
    const outShape = [batch, 2, 32, 32];
    const pred = input(outShape, 'mse pred');
    const target = input(outShape, 'mse target');
    const dloss = input([1], 'mse dloss');
    await run('mse forward', `[digit, item] 2×32×32`, () => mseLossForward(pred, target), { bytes: 2 * f32(outShape) });
    await run('mse backward', `[digit, item] 2×32×32`, () => mseLossBackward(pred, target, dloss, false), { bytes: 3 * f32(outShape) });
  } finally {
    await gpu.sync();
    for (const t of owned) t.buffer.destroy();
  }
  return results;
}

/** Adam over the benchmark network's parameters (independent of the batch): reads p, g, m, v and
 * writes p, m, v. */
export async function benchAdam(gpu: Gpu, peak: PeakResult, opts: TimingOptions, log: Log): Promise<KernelResult> {
  const model = new Separator(gpu, BENCH_NET_CONFIG, 1);
  const params = model.parameters();
  const grads = params.map((p) => filled(gpu, p.shape, 'grad'));
  params.forEach((p, i) => {
    p.grad = grads[i];
  });
  const adam = new Adam(gpu, params, { lr: 1e-3 });
  const count = params.reduce((s, p) => s + p.size, 0);
  try {
    return await measure(gpu, peak, opts, log, 'adam', `${count.toLocaleString('en-US')} parameters`, null, () => adam.step(), {
      bytes: 7 * 4 * count,
    });
  } finally {
    await gpu.sync();
    adam.destroy();
    for (const t of [...params, ...grads, ...model.namedBuffers().map(([, t]) => t)]) t.buffer.destroy();
  }
}
