// Test page for browser-kernels.test.ts: the project's own ops (op-cases.ts) on the browser's
// WebGPU, driven from Node through window.kernels.
import { createBrowserGpu } from '../../src/gpu/browser.ts';
import { type Conv2dOptions, geometry } from '../../src/ops/conv2d/geometry.ts';
import { CONV_KERNELS } from '../../src/ops/conv2d/kernels.ts';
import { convVariantData, runConvVariant } from '../helpers/conv-reference.ts';
import { type OpResult, runCase } from './op-cases.ts';

declare global {
  interface Window {
    kernels: {
      adapter: string;
      run(name: string, seed: number): Promise<OpResult>;
      /** One conv2d kernel variant of one pass on seeded data; null where it does not apply here. */
      convVariant(
        pass: 'forward' | 'input' | 'weight',
        name: string,
        xShape: number[],
        cout: number,
        k: number,
        opts: Conv2dOptions,
        seed: number,
      ): Promise<number[] | null>;
    };
  }
}

const status = document.getElementById('status')!;
try {
  const gpu = await createBrowserGpu();
  window.kernels = {
    adapter: gpu.info.description,
    run: (name, seed) => runCase(gpu, name, seed),
    convVariant: async (pass, name, xShape, cout, k, opts, seed) => {
      const kernel = CONV_KERNELS[pass].find((c) => c.name === name);
      if (!kernel) throw new Error(`conv2d has no ${pass} kernel '${name}'`);
      const g = geometry('conv2d', xShape, [cout, xShape[1], k, k], opts);
      if (kernel.applies && !kernel.applies(gpu, g)) return null;
      return Array.from(await runConvVariant(gpu, kernel, g, convVariantData(g, seed)));
    },
  };
  status.textContent = `ready: ${gpu.info.description}`;
} catch (e) {
  status.textContent = `error: ${(e as Error).message}`;
}
