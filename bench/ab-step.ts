// One training step of a preset in the checkout at ROOT (this one, or an older commit's worktree),
// for `npm run bench:ab`: its compute dispatches, the CPU time to encode and submit it with the GPU
// idle (median of 5), its GPU time (best of 3, timestamps) and, per kernel, its GPU time from a
// timestamp around each dispatch (the best-of-3 step's). It imports ROOT's own modules, so it
// measures that commit's code; it uses only APIs that unmix has had since before the A/B tool.
// Prints one JSON line. Synthetic images: the step's work does not depend on the pixels.
//
//   tsx bench/ab-step.ts ROOT PRESET
import { resolve } from 'node:path';

const [rootArg, preset = 'default'] = process.argv.slice(2);
if (!rootArg) throw new Error('usage: tsx bench/ab-step.ts ROOT PRESET');
const root = resolve(rootArg);
const { createNodeGpu } = await import(`${root}/src/gpu/node.ts`);
const { Mixer } = await import(`${root}/src/data/mixer.ts`);
const { Trainer } = await import(`${root}/src/train/trainer.ts`);
const { PRESETS } = await import(`${root}/src/train/presets.ts`);
const { tunerOf } = await import(`${root}/src/gpu/tuner.ts`);

const ROUNDS = 3;
const ENCODE_STEPS = 5;

const gpu = await createNodeGpu();
// Each pass's default kernel, so both sides run the same kernels without tuning.
await tunerOf(gpu).configure({ kind: 'default' }, null);
const images = (count: number, seed: number) => {
  const pixels = new Uint8Array(count * 28 * 28);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i + seed, 0x9e3779b1) >>> 24;
  return { count, rows: 28, cols: 28, pixels };
};
const mixer = new Mixer(gpu, {
  mnistTrain: images(6000, 1),
  mnistTest: images(1000, 2),
  fashionTrain: images(6000, 3),
  fashionTest: images(1000, 4),
  mnistTestLabels: new Uint8Array(1000),
  fashionTestLabels: new Uint8Array(1000),
});
const trainer = await Trainer.create(gpu, mixer, PRESETS[preset].config);
for (let s = 0; s < 3; s++) {
  trainer.trainStep();
  await trainer.readLoss();
}
const encodeMs: number[] = [];
let dispatches = 0;
for (let s = 0; s < ENCODE_STEPS; s++) {
  await trainer.readLoss();
  const before = gpu.dispatchCount;
  const t = performance.now();
  trainer.trainStep();
  encodeMs.push(performance.now() - t);
  dispatches = gpu.dispatchCount - before;
}
await trainer.readLoss();
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
encodeMs.sort((a, b) => a - b);
console.log(JSON.stringify({ preset, dispatches, encodeMs: encodeMs[ENCODE_STEPS >> 1], gpuMs, kernels }));
process.exit(0);
