// The gradient check every op goes through: GPU forward against the f64 CPU reference, then each
// GPU gradient against central differences of the reference and of the GPU forward itself.
import { backward } from '../../src/autograd/graph.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { dot, expectClose, expectGradClose, numericalGradient, numericalGradientAsync, sampleIndices, type Tolerance } from './check.ts';
import { Rng } from './rng.ts';

export interface OpInput {
  name: string;
  shape: number[];
  data: Float64Array;
  /** The input requires grad and its gradient is checked (default true); false: it must get none. */
  grad?: boolean;
}

export interface OpCheck {
  what: string;
  inputs: OpInput[];
  /** f64 CPU reference of the forward pass. */
  reference: (inputs: Float64Array[]) => Float64Array;
  /** The op through its autograd entry point. */
  run: (inputs: Tensor[]) => Tensor;
  forwardTol?: Tolerance;
  /** Analytic GPU gradient vs central differences of the f64 reference. */
  gradTol?: Tolerance;
  /** Analytic GPU gradient vs central differences of the f32 GPU forward (noisier). */
  gpuGradTol?: Tolerance;
  /** Elements per input checked against the reference's finite differences (default 48). */
  samples?: number;
  /** Elements per input checked against the GPU forward's finite differences (default 4; 0 skips). */
  gpuSamples?: number;
  /** Step for the GPU-forward differences (default 1e-2). */
  gpuStep?: number;
}

export async function checkOp(gpu: Gpu, c: OpCheck): Promise<void> {
  const forwardTol = c.forwardTol ?? { atol: 1e-5, rtol: 1e-4 };
  const gradTol = c.gradTol ?? { atol: 1e-4, rtol: 1e-3 };
  const gpuGradTol = c.gpuGradTol ?? { atol: 2e-2, rtol: 2e-2 };
  const rng = new Rng(1234);

  const upload = (inputs: ArrayLike<number>[]) =>
    c.inputs.map((inp, i) => {
      const t = gpu.persistent(inp.shape, Float32Array.from(inputs[i]), inp.name);
      t.requiresGrad = inp.grad !== false;
      return t;
    });

  // Forward.
  const xs = upload(c.inputs.map((i) => i.data));
  const y = c.run(xs);
  const expected = c.reference(c.inputs.map((i) => i.data));
  const actual = await y.read();
  expectClose(actual, expected, forwardTol, `${c.what} forward`);

  // Backward with seed r: the gradient of L = Σ y·r.
  const r = rng.uniform(y.size);
  backward(y, gpu.persistent(y.shape, Float32Array.from(r), 'seed'));
  const grads: (Float32Array | null)[] = [];
  for (const [i, inp] of c.inputs.entries()) {
    if (inp.grad === false) {
      if (xs[i].grad) throw new Error(`${c.what}: input ${inp.name} needs no gradient but got one`);
      grads.push(null);
      continue;
    }
    if (!xs[i].grad) throw new Error(`${c.what}: no gradient reached input ${inp.name}`);
    grads.push(await xs[i].grad!.read());
  }
  gpu.endStep();
  for (const t of xs) t.buffer.destroy();

  for (const [i, inp] of c.inputs.entries()) {
    const analytic = grads[i];
    if (!analytic) continue;
    const x = Float64Array.from(inp.data);
    const all = c.inputs.map((other, j) => (j === i ? x : other.data));
    const idx = sampleIndices(x.length, c.samples ?? 48, 7 + i);
    const numerical = numericalGradient(() => dot(c.reference(all), r), x, 1e-4, idx);
    expectGradClose(analytic, numerical, gradTol, `${c.what} d/d${inp.name} vs reference`);

    const gpuSamples = c.gpuSamples ?? 4;
    if (gpuSamples === 0) continue;
    const x32 = Float32Array.from(inp.data);
    const lossOnGpu = async () => {
      const ts = upload(c.inputs.map((other, j) => (j === i ? x32 : other.data)));
      const out = await c.run(ts).read();
      gpu.endStep();
      for (const t of ts) t.buffer.destroy();
      return dot(out, r);
    };
    const gpuIdx = sampleIndices(x.length, gpuSamples, 11 + i);
    const gpuNumerical = await numericalGradientAsync(lossOnGpu, x32, c.gpuStep ?? 1e-2, gpuIdx);
    expectGradClose(analytic, gpuNumerical, gpuGradTol, `${c.what} d/d${inp.name} vs GPU forward`);
  }
}

/** Dispatches that backward() encodes for `run` on inputs of `shapes`, each requiring grad as
 * `needsGrad` says, and which inputs got a gradient. */
export function backwardDispatches(
  gpu: Gpu,
  shapes: number[][],
  needsGrad: boolean[],
  run: (inputs: Tensor[]) => Tensor,
): { dispatches: number; gradients: boolean[] } {
  const rng = new Rng(99);
  const xs = shapes.map((shape, i) => {
    const t = gpu.persistent(shape, Float32Array.from(rng.uniform(sizeOf(shape))), `input ${i}`);
    t.requiresGrad = needsGrad[i];
    return t;
  });
  const y = run(xs);
  const seed = gpu.persistent(y.shape, Float32Array.from(rng.uniform(y.size)), 'seed');
  const before = gpu.dispatchCount;
  backward(y, seed);
  const result = { dispatches: gpu.dispatchCount - before, gradients: xs.map((t) => t.grad !== null) };
  gpu.endStep();
  for (const t of [...xs, seed]) t.buffer.destroy();
  return result;
}
