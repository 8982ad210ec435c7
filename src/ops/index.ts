// The index of the ops: one entry per op, named by its file stem (src/ops/NAME.ts, shaders/NAME.wgsl
// or NAME_*.wgsl, test/ops/NAME.test.ts, which holds the op's f64 reference and gradient checks).
// Read by the op test suite (test/ops/index.test.ts: every op file is listed and has its test), the
// browser kernel check (test/e2e/op-cases.ts: each entry's cases, in Chromium and in Node) and the
// kernel benchmark (bench/kernels.ts: each entry's kernels at the benchmark network's shapes).
// It lives in src/ because bench/ and the browser page import from src/, never from test/.
// Adding an op: its own files, plus one entry here.
import type { Gpu } from '../gpu/gpu.ts';
import { type Shape, sizeOf, type Tensor } from '../gpu/tensor.ts';
import { relu, sigmoid } from './activations.ts';
import { add } from './add.ts';
import { batchNorm2d, batchNorm2dBackward, batchNorm2dForward } from './batchnorm2d.ts';
import {
  concatChannels,
  concatChannelsBackward,
  concatChannelsForward,
  upsampleConcat,
  upsampleConcatBackward,
  upsampleConcatForward,
} from './concat.ts';
import { conv2d, conv2dBackwardBias, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward } from './conv2d.ts';
import { maxPool2d, maxPool2dBackward, maxPool2dForward } from './maxpool2d.ts';
import { mseLoss, mseLossBackward, mseLossForward } from './mse.ts';
import { projectOntoMixture } from './projection.ts';
import { sharesOfMixture } from './share.ts';
import { upsample2x, upsample2xBackward, upsample2xForward } from './upsample2d.ts';

/** A small run of an op through autograd: all inputs get gradients. */
export interface OpCase {
  inputs: number[][];
  run: (gpu: Gpu, xs: Tensor[]) => Tensor;
}

/** What the kernel benchmark gives an op to time its kernels with. */
export interface KernelBench {
  gpu: Gpu;
  batch: number;
  /** A persistent tensor with deterministic values, released when the benchmark ends. */
  input(shape: Shape, label: string): Tensor;
  /** Times `encode` alone, rated in GFLOP/s by `flops` or in GB/s by the least `bytes` it must move. */
  run(kernel: string, where: string, encode: () => void, work: { flops: number } | { bytes: number }): Promise<void>;
}

export interface OpEntry {
  /** The file stem. */
  name: string;
  /** Cases for the browser kernel check, by name. */
  cases: Record<string, OpCase>;
  /** Its kernels at the benchmark network's shapes; absent for ops that network does not use. */
  bench?: (b: KernelBench) => Promise<void>;
}

const f32 = (shape: Shape) => 4 * sizeOf(shape);

/** The benchmark network's convolutions, one per distinct shape: [name, cin, cout, size, kernel]. */
export const BENCH_CONVS: [string, number, number, number, number][] = [
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
/** Its batch-norm and pool inputs: [where, channels, size]. */
const BENCH_LEVELS: [string, number, number][] = [
  ['level 1', 32, 32],
  ['level 2', 64, 16],
  ['mid', 128, 8],
];
/** Its ×2 upsamplings and the concats with the skip that follow: [where, channels, size, skip channels]. */
const BENCH_UPS: [string, number, number, number][] = [
  ['into dec2', 128, 8, 64],
  ['into dec1', 64, 16, 32],
];

/** Batch norm in training mode, with fresh running statistics. */
function batchNormTraining(gpu: Gpu, [x, gamma, beta]: Tensor[]): Tensor {
  const c = x.shape[1];
  const state = { runningMean: gpu.persistent([c], new Array(c).fill(0)), runningVar: gpu.persistent([c], new Array(c).fill(1)) };
  return batchNorm2d(x, gamma, beta, state, { training: true });
}

export const OPS: OpEntry[] = [
  {
    name: 'activations',
    cases: {
      relu: { inputs: [[2, 3, 5, 7]], run: (_, [x]) => relu(x) },
      sigmoid: { inputs: [[1, 1, 1, 1]], run: (_, [x]) => sigmoid(x) },
    },
  },
  {
    name: 'add',
    cases: {
      add: {
        inputs: [
          [2, 3, 5, 7],
          [2, 3, 5, 7],
        ],
        run: (_, [a, b]) => add(a, b),
      },
    },
  },
  {
    name: 'conv2d',
    cases: {
      'conv2d 3×3 same': { inputs: [[2, 3, 9, 7], [5, 3, 3, 3], [5]], run: (_, [x, w, b]) => conv2d(x, w, b) },
      'conv2d 3×3 stride 2': { inputs: [[1, 4, 8, 10], [6, 4, 3, 3], [6]], run: (_, [x, w, b]) => conv2d(x, w, b, { stride: 2 }) },
      'conv2d 1×1': { inputs: [[2, 8, 6, 5], [1, 8, 1, 1], [1]], run: (_, [x, w, b]) => conv2d(x, w, b) },
    },
    bench: async ({ batch, input, run }) => {
      for (const [name, cin, cout, size, k] of BENCH_CONVS) {
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
    },
  },
  {
    name: 'batchnorm2d',
    cases: { 'batchnorm2d training': { inputs: [[3, 4, 5, 6], [4], [4]], run: batchNormTraining } },
    bench: async ({ gpu, batch, input, run }) => {
      for (const [where, c, size] of BENCH_LEVELS) {
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
        const [stats, y] = [input(saved.stats.shape, 'saved statistics'), input(shape, 'bn output')];
        gpu.copy(saved.stats, stats);
        gpu.copy(saved.y, y);
        gpu.endStep();
        await run('batchnorm+relu backward', label, () => batchNorm2dBackward(x, dy, { stats }, true, y), {
          bytes: 4 * f32(shape),
        });
      }
    },
  },
  {
    name: 'maxpool2d',
    cases: { maxpool2d: { inputs: [[2, 3, 8, 6]], run: (_, [x]) => maxPool2d(x) } },
    bench: async ({ batch, input, run }) => {
      for (const [where, c, size] of BENCH_LEVELS.slice(0, 2)) {
        const shape = [batch, c, size, size];
        const x = input(shape, `pool ${where} x`);
        const dy = input([batch, c, size / 2, size / 2], `pool ${where} dy`);
        const label = `${where} ${c}×${size}×${size} → /2`;
        await run('maxpool forward', label, () => maxPool2dForward(x), { bytes: 1.25 * f32(shape) });
        await run('maxpool backward', label, () => maxPool2dBackward(x, dy), { bytes: 2.25 * f32(shape) });
      }
    },
  },
  {
    name: 'upsample2d',
    cases: {
      upsample2x: { inputs: [[2, 3, 5, 4]], run: (_, [x]) => upsample2x(x) },
    },
    bench: async ({ batch, input, run }) => {
      for (const [where, c, size] of BENCH_UPS) {
        const x = input([batch, c, size, size], `up ${where} x`);
        const dy = input([batch, c, 2 * size, 2 * size], `up ${where} dy`);
        const label = `${where} ${c}×${size}×${size} → ×2`;
        await run('upsample nearest fwd', label, () => upsample2xForward(x), { bytes: 5 * f32(x.shape) });
        await run('upsample nearest bwd', label, () => upsample2xBackward(dy, x.shape), { bytes: 5 * f32(x.shape) });
      }
    },
  },
  {
    name: 'concat',
    cases: {
      'concat channels': {
        inputs: [
          [2, 3, 4, 5],
          [2, 2, 4, 5],
        ],
        run: (_, [a, b]) => concatChannels(a, b),
      },
      'upsample concat': {
        inputs: [
          [2, 3, 2, 3],
          [2, 2, 4, 6],
        ],
        run: (_, [a, b]) => upsampleConcat(a, b),
      },
    },
    bench: async ({ batch, input, run }) => {
      for (const [where, c, size, skipC] of BENCH_UPS) {
        const a = input([batch, c, 2 * size, 2 * size], `concat ${where} a`);
        const skip = input([batch, skipC, 2 * size, 2 * size], `concat ${where} b`);
        const cat = [batch, c + skipC, 2 * size, 2 * size];
        const dy = input(cat, `concat ${where} dy`);
        const label = `${where} ${c}+${skipC} @${2 * size}×${2 * size}`;
        await run('concat forward', label, () => concatChannelsForward(a, skip), { bytes: 2 * f32(cat) });
        await run('concat backward', label, () => concatChannelsBackward(dy, a.shape, skip.shape), { bytes: 2 * f32(cat) });
        // The decoder's join: a read at half resolution (a quarter of its values), the rest as above.
        const small = input([batch, c, size, size], `upsample concat ${where} a`);
        const bytes = f32(cat) + f32(skip.shape) + f32(small.shape);
        await run('upsample concat forward', label, () => upsampleConcatForward(small, skip), { bytes });
        await run('upsample concat backward', label, () => upsampleConcatBackward(dy, small.shape, skip.shape), { bytes });
      }
    },
  },
  {
    name: 'mse',
    cases: {
      'mse loss': {
        inputs: [
          [4, 1, 32, 32],
          [4, 1, 32, 32],
        ],
        run: (_, [p, t]) => mseLoss(p, t),
      },
    },
    // The trainer's loss: one MSE over digit and item (mseLossOfPairs reads them from their own
    // tensors, in the same passes over the same bytes as this MSE over them concatenated).
    bench: async ({ batch, input, run }) => {
      const shape = [batch, 2, 32, 32];
      const [pred, target, dloss] = [input(shape, 'mse pred'), input(shape, 'mse target'), input([1], 'mse dloss')];
      await run('mse forward', `[digit, item] 2×32×32`, () => mseLossForward(pred, target), { bytes: 2 * f32(shape) });
      await run('mse backward', `[digit, item] 2×32×32`, () => mseLossBackward(pred, target, dloss, false), { bytes: 3 * f32(shape) });
    },
  },
  {
    name: 'projection',
    cases: {
      'projection onto the mixture': {
        inputs: [
          [2, 1, 6, 5],
          [2, 1, 6, 5],
          [2, 1, 6, 5],
        ],
        run: (_, [x, own, other]) => projectOntoMixture(x, own, other),
      },
    },
  },
  {
    name: 'share',
    cases: {
      'both sources from their shares of the mixture': {
        inputs: [
          [2, 1, 6, 5],
          [2, 1, 6, 5],
        ],
        run: (_, [x, logit]) => {
          const { own, rest } = sharesOfMixture(x, logit);
          return concatChannels(own, rest);
        },
      },
    },
  },
  // The optimizer: its kernel runs over a whole model's parameters (bench/kernels.ts benchAdam).
  { name: 'adam', cases: {} },
];
