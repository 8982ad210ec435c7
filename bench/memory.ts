// `npm run bench:memory`: where the GPU memory of the benchmark network's training step goes, in
// Node. Trains it as `npm run bench` does (synthetic images, its tuning mode), then, after a few
// steady steps, counts the live bytes of every buffer created for training (the images apart), the
// pool's buffers and those one step acquires, by the function that asked for them, and what the
// pool holds beyond a step's needs (leftovers). Prints a table; nothing is written.
import { parseArgs } from 'node:util';
import { exitOnError, UsageError } from '../src/cli/common.ts';
import { Mixer } from '../src/data/mixer.ts';
import { createNodeGpu, nodeTuningStore, releaseNodeGpu } from '../src/gpu/node.ts';
import { pooledSize } from '../src/gpu/pool.ts';
import { type TuneMode, tunerOf } from '../src/gpu/tuner.ts';
import { Trainer } from '../src/train/trainer.ts';
import { countBufferBytes } from './gpu-memory.ts';
import { benchNetTrainConfig, syntheticImages } from './train-unmix.ts';

const USAGE = `usage: npm run bench:memory -- [options]
  --batch N      the training batch (default: 64, as npm run bench)
  --conv MODE    auto: measure the conv kernels after step 1, with the cached choices of --store
                 first (default); default: each pass's default kernel
  --store FILE   the tuning cache (default: the user cache's tuning.json; a new file measures all)
  --help`;

exitOnError();
const HELP = '`npm run bench:memory -- --help` lists the options';
const { values: flags } = parseArgs({
  options: {
    batch: { type: 'string', default: '64' },
    conv: { type: 'string', default: 'auto' },
    store: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
const batch = Number(flags.batch);
if (!(Number.isInteger(batch) && batch > 0)) throw new UsageError(`--batch takes a positive integer, not "${flags.batch}"`, HELP);
if (flags.conv !== 'auto' && flags.conv !== 'default') throw new UsageError(`--conv takes auto or default, not "${flags.conv}"`, HELP);
const mode: TuneMode = flags.conv === 'auto' ? { kind: 'tune' } : { kind: 'default' };

const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

const gpu = await createNodeGpu();
const tuner = tunerOf(gpu);
await tuner.configure(mode, nodeTuningStore(flags.store));
const liveBytes = countBufferBytes(gpu.device);
const mixer = new Mixer(gpu, syntheticImages());
const imageBytes = liveBytes();
const trainer = await Trainer.create(gpu, mixer, benchNetTrainConfig(batch));
const live = () => MiB(liveBytes() - imageBytes);

// Each pooled buffer a step acquires, with the first function on the stack outside the runtime.
const pool = gpu.pool;
const acquire = pool.acquire.bind(pool);
let acquired: { size: number; caller: string }[] | null = null;
pool.acquire = (bytes: number, label?: string) => {
  if (acquired) {
    const frames = new Error().stack!.split('\n').slice(2, 6);
    const caller = frames.map((f) => f.trim().replace(/^at /, '').split(' ')[0]).find((name) => !name.startsWith('Gpu.')) ?? '?';
    acquired.push({ size: pooledSize(bytes), caller });
  }
  return acquire(bytes, label);
};

trainer.trainStep();
await trainer.readLoss();
console.log(`after step 1: ${live()} MiB live`);
if (tuner.pendingCount) {
  const report = await tuner.tunePending();
  console.log(`tuned ${report.tuned} shape classes in ${report.seconds.toFixed(0)} s: ${live()} MiB live`);
}
for (let s = 0; s < 3; s++) {
  trainer.trainStep();
  await trainer.readLoss();
}
acquired = [];
// A replayed step takes its recorded buffers without acquiring them: this one records itself anew.
gpu.forgetRecordings();
trainer.trainStep();
await trainer.readLoss();
const step = acquired;
acquired = null;

// The pool's idle buffers by size (all of them, between steps), against what one step acquires.
const idle = (pool as unknown as { free: Map<number, GPUBuffer[]> }).free;
const needed = new Map<number, number>();
for (const { size } of step) needed.set(size, (needed.get(size) ?? 0) + 1);
let pooled = 0;
let leftover = 0;
for (const [size, list] of idle) {
  pooled += size * list.length;
  leftover += size * Math.max(0, list.length - (needed.get(size) ?? 0));
}
const stepBytes = step.reduce((a, { size }) => a + size, 0);
console.log(
  `steady: ${live()} MiB live (${MiB(imageBytes)} MiB of images apart); pooled ${MiB(pooled)} MiB, of which a step acquires ${MiB(stepBytes)} MiB in ${step.length} buffers and ${MiB(leftover)} MiB no step asks for`,
);
const byCaller = new Map<string, { buffers: number; bytes: number }>();
for (const { size, caller } of step) {
  const entry = byCaller.get(caller) ?? { buffers: 0, bytes: 0 };
  entry.buffers++;
  entry.bytes += size;
  byCaller.set(caller, entry);
}
console.log('\n| asked by | buffers | MiB |\n| --- | ---: | ---: |');
for (const [caller, { buffers, bytes }] of [...byCaller].sort((a, b) => b[1].bytes - a[1].bytes)) {
  console.log(`| ${caller} | ${buffers} | ${MiB(bytes)} |`);
}
releaseNodeGpu(gpu);
