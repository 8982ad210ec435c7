// One Dawn device per test file, released afterwards so the worker can exit.
import { afterAll, beforeAll } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { createNodeGpu, releaseNodeGpu } from '../../src/gpu/node.ts';

export function useGpu(): () => Gpu {
  let gpu: Gpu | null = null;
  beforeAll(async () => {
    gpu = await createNodeGpu();
  });
  afterAll(() => {
    if (gpu) releaseNodeGpu(gpu);
  });
  return () => {
    if (!gpu) throw new Error('useGpu(): the GPU is only available inside tests');
    return gpu;
  };
}
