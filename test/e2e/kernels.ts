// Test page for browser-kernels.test.ts: the project's own ops (op-cases.ts) on the browser's
// WebGPU, driven from Node through window.kernels.
import { createBrowserGpu } from '../../src/gpu/browser.ts';
import { type OpResult, runCase } from './op-cases.ts';

declare global {
  interface Window {
    kernels: {
      adapter: string;
      run(name: string, seed: number): Promise<OpResult>;
    };
  }
}

const status = document.getElementById('status')!;
try {
  const gpu = await createBrowserGpu();
  window.kernels = {
    adapter: gpu.info.description,
    run: (name, seed) => runCase(gpu, name, seed),
  };
  status.textContent = `ready: ${gpu.info.description}`;
} catch (e) {
  status.textContent = `error: ${(e as Error).message}`;
}
