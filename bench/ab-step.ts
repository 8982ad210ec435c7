// One training step of a preset in the checkout at ROOT (this one, or an older commit's worktree),
// for `npm run bench:ab`: its compute dispatches, the CPU time to encode and submit it with the GPU
// idle (median of ENCODE_STEPS steps), its GPU time (best of 3, timestamps) and, per kernel, its GPU time from a
// timestamp around each dispatch (the best-of-3 step's). It imports ROOT's own modules, so it
// measures that commit's code; it uses only APIs that unmix has had since before the A/B tool
// (the measuring helpers and synthetic images come from this checkout's bench/train-unmix.ts).
// Prints one JSON line.
//
//   tsx bench/ab-step.ts ROOT PRESET
import { resolve } from 'node:path';
import { measureEncoding, syntheticImages } from './train-unmix.ts';

const [rootArg, preset = 'default'] = process.argv.slice(2);
if (!rootArg) throw new Error('usage: tsx bench/ab-step.ts ROOT PRESET');
const root = resolve(rootArg);
const { createNodeGpu } = await import(`${root}/src/gpu/node.ts`);
const { Mixer } = await import(`${root}/src/data/mixer.ts`);
const { Trainer } = await import(`${root}/src/train/trainer.ts`);
const { PRESETS } = await import(`${root}/src/train/presets.ts`);
const { tunerOf } = await import(`${root}/src/gpu/tuner.ts`);

const ROUNDS = 3;
/** Steps whose encoding is timed, each after the GPU went idle: the median is reported. */
const ENCODE_STEPS = 51;

const gpu = await createNodeGpu();
// Each pass's default kernel, so both sides run the same kernels without tuning.
await tunerOf(gpu).configure({ kind: 'default' }, null);
const mixer = new Mixer(gpu, syntheticImages());
const trainer = await Trainer.create(gpu, mixer, PRESETS[preset].config);
for (let s = 0; s < 3; s++) {
  trainer.trainStep();
  await trainer.readLoss();
}
const { dispatches, encodeMs } = await measureEncoding(gpu, trainer, ENCODE_STEPS);
let gpuMs = Number.POSITIVE_INFINITY;
let kernels: Record<string, number> = {};
let profiledMs = Number.POSITIVE_INFINITY;
for (let r = 0; r < ROUNDS; r++) {
  gpuMs = Math.min(gpuMs, (await gpu.timeGpu(() => trainer.trainStep())) ?? Number.NaN);
  const profile: { label: string; ms: number }[] = (await gpu.profile(() => trainer.trainStep())) ?? [];
  const byKernel: Record<string, number> = {};
  for (const { label, ms } of profile) byKernel[label.split(' ')[0]] = (byKernel[label.split(' ')[0]] ?? 0) + ms;
  const total = Object.values(byKernel).reduce((a, b) => a + b, 0);
  if (total < profiledMs) [profiledMs, kernels] = [total, byKernel];
  await trainer.readLoss();
}
console.log(JSON.stringify({ preset, dispatches, encodeMs, gpuMs, kernels }));
process.exit(0);
