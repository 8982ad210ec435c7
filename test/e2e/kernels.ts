// Test page for browser-kernels.test.ts: the project's own ops, on the browser's WebGPU, driven from
// Node. window.kernels.run(op, inputs, seed) runs one op forward, then backward from `seed` as the
// output's gradient, and returns the output and every input's gradient.
import { backward } from '../../src/autograd/graph.ts';
import { createBrowserGpu } from '../../src/gpu/browser.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { leakyRelu, relu, sigmoid } from '../../src/ops/activations.ts';
import { add } from '../../src/ops/add.ts';

export interface KernelInput {
  shape: number[];
  data: number[];
}

export interface KernelResult {
  y: number[];
  grads: number[][];
}

const OPS: Record<string, (xs: Tensor[]) => Tensor> = {
  relu: ([x]) => relu(x),
  leakyRelu: ([x]) => leakyRelu(x, 0.1),
  sigmoid: ([x]) => sigmoid(x),
  add: ([a, b]) => add(a, b),
};

declare global {
  interface Window {
    kernels: { adapter: string; run(op: string, inputs: KernelInput[], seed: number[]): Promise<KernelResult> };
  }
}

const status = document.getElementById('status')!;
try {
  const gpu = await createBrowserGpu();
  window.kernels = {
    adapter: gpu.info.description,
    async run(op, inputs, seed) {
      const fn = OPS[op];
      if (!fn) throw new Error(`kernels page: no op ${op}; known: ${Object.keys(OPS).join(', ')}`);
      const xs = inputs.map((input, i) => {
        const t = gpu.persistent(input.shape, input.data, `${op} input ${i}`);
        t.requiresGrad = true;
        return t;
      });
      const y = fn(xs);
      backward(y, gpu.persistent(y.shape, seed, `${op} seed`));
      const result = { y: Array.from(await y.read()), grads: [] as number[][] };
      for (const x of xs) result.grads.push(Array.from(await x.grad!.read()));
      gpu.endStep();
      for (const x of xs) x.buffer.destroy();
      return result;
    },
  };
  status.textContent = `ready: ${gpu.info.description}`;
} catch (e) {
  status.textContent = `error: ${(e as Error).message}`;
}
