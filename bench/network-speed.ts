// `npm run bench:networks`: the training samples/s of every network that docs/QUALITY.md fits a
// scaling law for (the ledger's recipes trained at two or more lengths), measured alternately in one
// run (A, B, C, A, B, C, …) so that the machine's drift falls on all alike, with the ALU ceiling
// measured before and after. `npm run quality-report` converts each recipe's fit from samples to
// time with these figures: how the presets are chosen at equal time.
//   npm run bench:networks -- [--rounds N] [--steps N]
// Each network trains its recipe's config (synthetic images: the speed does not depend on them)
// with the tuner's kernels, as `npm run train` would (kernel choices from the user cache, measured
// first where missing). Writes bench/results/network-speed.json.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitOnError } from '../src/cli/common.ts';
import { readLedger } from '../src/cli/ledger.ts';
import { scalingFamilies, speedKey } from '../src/cli/scaling.ts';
import { Mixer } from '../src/data/mixer.ts';
import { createNodeGpu, nodeTuningStore, releaseNodeGpu } from '../src/gpu/node.ts';
import { tunerOf } from '../src/gpu/tuner.ts';
import { type TrainConfig, Trainer, withoutRetiredOptions } from '../src/train/trainer.ts';
import { measureAlu } from './peak.ts';
import { describeAdapter, syntheticImages } from './train-unmix.ts';

const LEDGER = 'docs/quality/ledger.jsonl';
const OUT = 'bench/results/network-speed.json';

export interface NetworkSpeedFile {
  date: string;
  command: string;
  adapter: string;
  /** The best ALU ceiling measured before and after the networks, GFLOP/s. */
  ceiling: number;
  networks: {
    /** scaling.ts's speedKey: network and batch. */
    key: string;
    config: TrainConfig;
    /** Samples/s of each round's timed steps. */
    rounds: number[];
    /** The median round. */
    samplesPerSecond: number;
  }[];
}

exitOnError();
const { values: flags } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, steps: { type: 'string', default: '60' } },
});
const rounds = Number(flags.rounds);
const steps = Number(flags.steps);

const gpu = await createNodeGpu();
await tunerOf(gpu).configure({ kind: 'tune' }, nodeTuningStore());
const ALU_TIMING = { budgetMs: 1500, maxIterations: 20, rounds: 3 };
const ceiling = async () => Math.max(...(await measureAlu(gpu, ALU_TIMING)).map((a) => a.gflops));

// One network per speed key; a recipe whose network a removed option shaped cannot be built now.
const configs = new Map<string, TrainConfig>();
for (const { runs } of scalingFamilies(readLedger(LEDGER))) {
  const current = withoutRetiredOptions(runs[0].config.model);
  if ('model' in current) configs.set(speedKey(runs[0]), { ...runs[0].config, model: current.model });
}

const mixer = new Mixer(gpu, syntheticImages());
const trainers = new Map<string, Trainer>();
for (const [key, config] of configs) {
  const trainer = await Trainer.create(gpu, mixer, config);
  trainer.trainStep();
  await trainer.readLoss();
  await tunerOf(gpu).tunePending();
  trainers.set(key, trainer);
}

const ceilingBefore = await ceiling();
const samples = new Map<string, number[]>([...configs.keys()].map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [key, trainer] of trainers) {
    for (let s = 0; s < 3; s++) trainer.trainStep(); // warm again: the other networks ran in between
    await trainer.readLoss();
    const start = performance.now();
    for (let s = 0; s < steps; s++) trainer.trainStep();
    await trainer.readLoss();
    const rate = (steps * trainer.config.batch) / ((performance.now() - start) / 1000);
    samples.get(key)!.push(rate);
    console.log(`round ${r + 1}/${rounds}  ${rate.toFixed(1).padStart(7)} samples/s  ${key}`);
  }
}
const ceilingAfter = await ceiling();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const result: NetworkSpeedFile = {
  date: new Date().toISOString(),
  command: `npm run bench:networks -- --rounds ${rounds} --steps ${steps}`,
  adapter: describeAdapter(gpu.info),
  ceiling: Math.max(ceilingBefore, ceilingAfter),
  networks: [...configs].map(([key, config]) => ({ key, config, rounds: samples.get(key)!, samplesPerSecond: median(samples.get(key)!) })),
};
writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
console.log(`ALU ceiling ${ceilingBefore.toFixed(1)} GFLOP/s before, ${ceilingAfter.toFixed(1)} after; ${OUT}`);
releaseNodeGpu(gpu);
