// The ops browser-kernels.test.ts runs, from the op index (src/ops/index.ts), run the same way in
// Node (Dawn) and in the browser (kernels.html): forward, then backward from a given output gradient.
import { backward } from '../../src/autograd/graph.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { OPS, type OpCase } from '../../src/ops/index.ts';
import { Rng } from '../../src/util/rng.ts';

export const OP_CASES: Record<string, OpCase> = Object.assign({}, ...OPS.map((op) => op.cases));

export interface OpResult {
  inputs: number[][];
  outputGrad: number[];
  y: number[];
  grads: number[][];
}

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
