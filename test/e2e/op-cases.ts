// The ops browser-kernels.test.ts runs, defined once and run the same way in Node (Dawn) and in
// the browser (kernels.html): forward, then backward from a given output gradient.
import { backward } from '../../src/autograd/graph.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { leakyRelu, relu, sigmoid } from '../../src/ops/activations.ts';
import { add } from '../../src/ops/add.ts';
import { batchNorm2d } from '../../src/ops/batchnorm2d.ts';
import { concatChannels } from '../../src/ops/concat.ts';
import { conv2d } from '../../src/ops/conv2d.ts';
import { maxPool2d } from '../../src/ops/maxpool2d.ts';
import { mseLoss } from '../../src/ops/mse.ts';
import { upsample2x } from '../../src/ops/upsample2d.ts';
import { Rng } from '../../src/util/rng.ts';

export interface OpCase {
  /** Shapes of the inputs, all of which get gradients. */
  inputs: number[][];
  run: (gpu: Gpu, xs: Tensor[]) => Tensor;
}

export interface OpResult {
  inputs: number[][];
  outputGrad: number[];
  y: number[];
  grads: number[][];
}

/** Batch norm in training mode, with fresh running statistics. */
function batchNormTraining(gpu: Gpu, [x, gamma, beta]: Tensor[]): Tensor {
  const c = x.shape[1];
  const state = { runningMean: gpu.persistent([c], new Array(c).fill(0)), runningVar: gpu.persistent([c], new Array(c).fill(1)) };
  return batchNorm2d(x, gamma, beta, state, { training: true });
}

export const OP_CASES: Record<string, OpCase> = {
  relu: { inputs: [[2, 3, 5, 7]], run: (_, [x]) => relu(x) },
  leakyRelu: { inputs: [[3, 8, 33, 33]], run: (_, [x]) => leakyRelu(x, 0.1) },
  sigmoid: { inputs: [[1, 1, 1, 1]], run: (_, [x]) => sigmoid(x) },
  add: {
    inputs: [
      [2, 3, 5, 7],
      [2, 3, 5, 7],
    ],
    run: (_, [a, b]) => add(a, b),
  },
  'conv2d 3×3 same': { inputs: [[2, 3, 9, 7], [5, 3, 3, 3], [5]], run: (_, [x, w, b]) => conv2d(x, w, b) },
  'conv2d 3×3 stride 2': { inputs: [[1, 4, 8, 10], [6, 4, 3, 3], [6]], run: (_, [x, w, b]) => conv2d(x, w, b, { stride: 2 }) },
  'conv2d 1×1': { inputs: [[2, 8, 6, 5], [1, 8, 1, 1], [1]], run: (_, [x, w, b]) => conv2d(x, w, b) },
  'batchnorm2d training': { inputs: [[3, 4, 5, 6], [4], [4]], run: batchNormTraining },
  maxpool2d: { inputs: [[2, 3, 8, 6]], run: (_, [x]) => maxPool2d(x) },
  'upsample2x nearest': { inputs: [[2, 3, 5, 4]], run: (_, [x]) => upsample2x(x, 'nearest') },
  'upsample2x bilinear': { inputs: [[2, 3, 5, 4]], run: (_, [x]) => upsample2x(x, 'bilinear') },
  'concat channels': {
    inputs: [
      [2, 3, 4, 5],
      [2, 2, 4, 5],
    ],
    run: (_, [a, b]) => concatChannels(a, b),
  },
  'mse loss': {
    inputs: [
      [4, 1, 32, 32],
      [4, 1, 32, 32],
    ],
    run: (_, [p, t]) => mseLoss(p, t),
  },
};

/** Runs a case on inputs uniform in [-3, 3] and an output gradient uniform in [-1, 1], all drawn
 * from `seed` (so Node and the browser draw the same), and returns them with the results. */
export async function runCase(gpu: Gpu, name: string, seed: number): Promise<OpResult> {
  const c = OP_CASES[name];
  if (!c) throw new Error(`op case ${name}: unknown; known: ${Object.keys(OP_CASES).join(', ')}`);
  const rng = new Rng(seed);
  const inputs = c.inputs.map((shape) => Float32Array.from(rng.uniform(sizeOf(shape), -3, 3)));
  const xs = c.inputs.map((shape, i) => {
    const t = gpu.persistent(shape, inputs[i], `${name} input ${i}`);
    t.requiresGrad = true;
    return t;
  });
  const y = c.run(gpu, xs);
  const outputGrad = Float32Array.from(rng.uniform(y.size));
  backward(y, gpu.persistent(y.shape, outputGrad, `${name} output gradient`));
  const out = await y.read();
  const grads: number[][] = [];
  for (const x of xs) grads.push(Array.from(await x.grad!.read()));
  gpu.endStep();
  for (const x of xs) x.buffer.destroy();
  return { inputs: inputs.map((a) => Array.from(a)), outputGrad: Array.from(outputGrad), y: Array.from(out), grads };
}
