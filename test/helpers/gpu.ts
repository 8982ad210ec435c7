// One Dawn device per test file, released afterwards so the worker can exit.
import { afterAll, beforeAll } from 'vitest';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import { Mixer } from '../../src/data/mixer.ts';
import { Gpu } from '../../src/gpu/gpu.ts';
import { createNodeGpu, loadShaderSources, releaseNodeGpu } from '../../src/gpu/node.ts';

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

/** One Dawn device with the real datasets on it (the training tests), released afterwards. */
export function useGpuWithData(): () => { gpu: Gpu; mixer: Mixer } {
  let env: { gpu: Gpu; mixer: Mixer } | null = null;
  beforeAll(async () => {
    const gpu = await createNodeGpu();
    env = { gpu, mixer: new Mixer(gpu, await loadSourceImagesNode()) };
  });
  afterAll(() => {
    env?.mixer.destroy();
    if (env) releaseNodeGpu(env.gpu);
  });
  return () => {
    if (!env) throw new Error('useGpuWithData(): the GPU is only available inside tests');
    return env;
  };
}

/** A Gpu on `gpu`'s device that reports `subgroupMinSize` lanes per subgroup (0: none), for the
 * kernels whose shape follows the adapter's subgroup size. Not destroyed: it shares the device. */
export function withSubgroupSize(gpu: Gpu, subgroupMinSize: number): Gpu {
  return new Gpu(gpu.device, { ...gpu.info, subgroupMinSize }, loadShaderSources());
}
