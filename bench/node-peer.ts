// One peer's training-step benchmark in Node + Dawn, in a process of its own (bench/run.ts starts
// it), so each framework has the device to itself and a hang or crash cannot take the run down.
// Usage: tsx bench/node-peer.ts tfjs|jaxjs <batch> <warmup steps> <timed steps>
// Prints the result as one line: RESULT {json}.
import { exposeDawnAsNavigator } from './peers/node-env.ts';

const [peer, batch, warmup, steps] = process.argv.slice(2);
const opts = { batch: Number(batch), warmup: Number(warmup), steps: Number(steps), environment: 'Node + Dawn', adapter: await exposeDawnAsNavigator() };
if (peer === 'tfjs') {
  const { loadTfjs, benchTfjs } = await import('./peers/tfjs.ts');
  console.log(`RESULT ${JSON.stringify(await benchTfjs(await loadTfjs(), opts))}`);
} else if (peer === 'jaxjs') {
  const { loadJax, benchJax } = await import('./peers/jaxjs.ts');
  console.log(`RESULT ${JSON.stringify(await benchJax(await loadJax(), opts))}`);
} else {
  throw new Error(`node-peer: unknown peer "${peer}"; use tfjs or jaxjs`);
}
process.exit(0);
