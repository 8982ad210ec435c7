// The last step of `npm run setup`: asks Dawn for a WebGPU adapter, as training will, and names it.
import { exitOnError } from '../src/cli/common.ts';
import { createNodeGpu, releaseNodeGpu } from '../src/gpu/node.ts';

exitOnError();
const gpu = await createNodeGpu();
console.log(`setup: WebGPU in Node: ${gpu.info.description}: ok`);
releaseNodeGpu(gpu);
process.exit(0);
