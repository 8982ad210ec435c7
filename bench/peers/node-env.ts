// Lets the peers find WebGPU in Node: they look for navigator.gpu (jax-js also reads
// navigator.userAgent), which Node lacks, so Dawn (npm `webgpu`) stands in for it. The driver
// environment is the one unmix's own Node runtime prepares, so all three run on the same adapter.
import { createNodeGpu, releaseNodeGpu } from '../../src/gpu/node.ts';
import { describeAdapter } from '../train-unmix.ts';

/** Appended to a peer's name when it ran with unmix's paced Dawn polling instead of Dawn's own. */
export const PACED_SUFFIX = ', Dawn polling paced as in unmix';

/** Defines navigator.gpu from Dawn and returns the adapter's description (unmix's wording). */
export async function exposeDawnAsNavigator(): Promise<string> {
  // Opening (and closing) an unmix device prepares the Vulkan environment and names the adapter.
  const gpu = await createNodeGpu();
  const adapter = describeAdapter(gpu.info);
  releaseNodeGpu(gpu);
  const { create } = await import('webgpu');
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: create([]), userAgent: `Node.js/${process.versions.node}`, hardwareConcurrency: 2 },
    configurable: true,
    writable: true,
  });
  return adapter;
}
