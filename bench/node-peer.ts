// One peer's training-step benchmark in Node + Dawn, in a process of its own (bench/run.ts starts
// it), so each framework has the device to itself and a hang or crash cannot take the run down.
// Usage: tsx bench/node-peer.ts tfjs|jaxjs <batch> <warmup steps> <timed steps> busy|paced
// busy: Dawn polls for finished GPU work as it ships (a setImmediate loop that keeps a core busy);
// paced: with the 1 ms polling unmix's Node runtime installs (src/gpu/node.ts setDawnPolling).
// Prints the result as one line: RESULT {json}.
import { setDawnPolling } from '../src/gpu/node.ts';
import type { TrainStepResult } from './peers/bench-net.ts';
import { exposeDawnAsNavigator, PACED_SUFFIX } from './peers/node-env.ts';

const [peer, batch, warmup, steps, polling] = process.argv.slice(2);
if (polling !== 'busy' && polling !== 'paced') throw new Error(`node-peer: polling must be busy or paced, got "${polling}"`);
const opts = {
  batch: Number(batch),
  warmup: Number(warmup),
  steps: Number(steps),
  environment: 'Node + Dawn',
  adapter: await exposeDawnAsNavigator(),
};
setDawnPolling(polling);
let result: TrainStepResult;
if (peer === 'tfjs') {
  const { loadTfjs, benchTfjs } = await import('./peers/tfjs.ts');
  result = await benchTfjs(await loadTfjs(), opts);
} else if (peer === 'jaxjs') {
  const { loadJax, benchJax } = await import('./peers/jaxjs.ts');
  result = await benchJax(await loadJax(), opts);
} else {
  throw new Error(`node-peer: unknown peer "${peer}"; use tfjs or jaxjs`);
}
if (polling === 'paced') result.framework += PACED_SUFFIX;
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
