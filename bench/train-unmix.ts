// unmix's own training step, timed as the peers' are: Trainer.trainStep() in a loop (GPU mixing,
// forward, loss, backward, Adam; no read-back), the loss read once at the end.
import type { SourceImages } from '../src/data/datasets.ts';
import type { IdxImages } from '../src/data/idx.ts';
import { Mixer } from '../src/data/mixer.ts';
import type { Gpu, GpuInfo } from '../src/gpu/gpu.ts';
import { type TuneMode, type TuningStore, tunerOf } from '../src/gpu/tuner.ts';
import { BENCH_NET_CONFIG } from '../src/model/separator.ts';
import { BASE_TRAIN_CONFIG, type TrainConfig, Trainer } from '../src/train/trainer.ts';
import { countBufferBytes } from './gpu-memory.ts';
import { type KernelShare, LR, PARAMETERS, stepResult, type TrainStepResult } from './peers/bench-net.ts';

/** The adapter as results name it: its description, plus its architecture where that says more
 * (SwiftShader in Chromium reports no description, only vendor "google" and "swiftshader"). */
export function describeAdapter(info: GpuInfo): string {
  return info.architecture && !info.description.toLowerCase().includes(info.architecture.toLowerCase())
    ? `${info.description}, ${info.architecture}`
    : info.description;
}

/** The kernel choice before the tuner (UNMIX_HAND_PICKED): the packed kernels, K rows per update on
 * SwiftShader. */
export function handPickedKernels(info: GpuInfo): TuneMode {
  return info.architecture === 'swiftshader' ? { kind: 'force', kernel: 'packed-rows' } : { kind: 'default' };
}

/** The benchmark network under unmix's trainer: plain Adam at lr 1e-3 (no decay, no warm-up). */
export function benchNetTrainConfig(batch: number): TrainConfig {
  return { ...BASE_TRAIN_CONFIG, model: BENCH_NET_CONFIG, batch, lr: LR, warmupSteps: 0, weightDecay: 0 };
}

/** Random 28×28 images in the datasets' sizes: the mixer's work does not depend on the pixels, and
 * the benchmark then needs no download (and runs the same in the browser). */
export function syntheticImages(): SourceImages {
  const images = (count: number, seed: number): IdxImages => {
    const pixels = new Uint8Array(count * 28 * 28);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i + seed, 0x9e3779b1) >>> 24;
    return { count, rows: 28, cols: 28, pixels };
  };
  return {
    mnistTrain: images(60_000, 1),
    mnistTest: images(10_000, 2),
    fashionTrain: images(60_000, 3),
    fashionTest: images(10_000, 4),
    mnistTestLabels: new Uint8Array(10_000),
    fashionTestLabels: new Uint8Array(10_000),
  };
}

/** Per-dispatch timings summed by kernel (the label's "shader.entry"), largest first. */
function byKernel(dispatches: { label: string; ms: number }[]): KernelShare[] {
  const shares = new Map<string, KernelShare>();
  for (const { label, ms } of dispatches) {
    const kernel = label.split(' ')[0];
    const share = shares.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
    share.dispatches++;
    share.ms += ms;
    shares.set(kernel, share);
  }
  return [...shares.values()].sort((a, b) => b.ms - a.ms);
}

/** Steps whose encoding is timed one by one; the median is reported. */
const ENCODE_STEPS = 5;

/** The compute dispatches of one training step, and the CPU time to encode and submit it (median
 * of ENCODE_STEPS), each step started with the GPU idle (its loss read back), so that the driver's
 * threads do not compete with the encoding for the CPU. */
export async function measureEncoding(
  gpu: { dispatchCount: number },
  trainer: { trainStep(): void; readLoss(): Promise<number> },
  steps = ENCODE_STEPS,
): Promise<{ dispatches: number; encodeMs: number }> {
  const encodeMs: number[] = [];
  let dispatches = 0;
  for (let s = 0; s < steps; s++) {
    await trainer.readLoss();
    const before = gpu.dispatchCount;
    const t = performance.now();
    trainer.trainStep();
    encodeMs.push(performance.now() - t);
    dispatches = gpu.dispatchCount - before;
  }
  await trainer.readLoss();
  return { dispatches, encodeMs: encodeMs.sort((a, b) => a - b)[steps >> 1] };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function benchUnmix(
  gpu: Gpu,
  opts: {
    config: TrainConfig;
    warmup: number;
    steps: number;
    environment: string;
    label: string;
    /** How conv kernels are chosen; measured after the first step in 'tune' mode, cached in `store`. */
    kernels: TuneMode;
    store: TuningStore | null;
  },
): Promise<TrainStepResult> {
  const tuner = tunerOf(gpu);
  await tuner.configure(opts.kernels, opts.store);
  const liveBytes = countBufferBytes(gpu.device);
  const mixer = new Mixer(gpu, syntheticImages());
  // The datasets live on the GPU for unmix only (peers mix from a pool of 4 batches of random
  // images), so they are reported apart from the training memory.
  const datasetBytes = liveBytes();
  const trainer = await Trainer.create(gpu, mixer, opts.config);
  if (opts.config.model === BENCH_NET_CONFIG && trainer.parameterCount !== PARAMETERS) {
    throw new Error(`unmix bench net has ${trainer.parameterCount} parameters, BENCH_NET.md says ${PARAMETERS}`);
  }
  const t0 = performance.now();
  trainer.trainStep();
  await trainer.readLoss();
  const firstStepMs = performance.now() - t0;
  const tuningSeconds = tuner.pendingCount ? (await tuner.tunePending()).seconds : null;
  // Tuned kernels get a step of their own before the timing, as the first step was: their first run
  // makes their buffers and bind groups (a browser profile tunes afresh on every page).
  const warmupSteps = opts.warmup + (tuningSeconds === null ? 0 : 1);
  for (let s = 1; s < warmupSteps; s++) {
    trainer.trainStep();
    await trainer.readLoss();
  }
  const start = performance.now();
  for (let s = 0; s < opts.steps; s++) trainer.trainStep();
  const loss = await trainer.readLoss();
  const msPerStep = (performance.now() - start) / opts.steps;
  const gpuMsPerStep = await gpu.timeGpu(() => trainer.trainStep());
  const encoding = await measureEncoding(gpu, trainer);
  const dispatches = await gpu.profile(() => trainer.trainStep());
  // What the pool holds now, not what it ever allocated: scratch outgrown in step 1 is gone.
  const pool = gpu.pool.heldBytes;
  const result = stepResult(
    opts.label,
    { ...opts, warmup: warmupSteps, batch: opts.config.batch, adapter: describeAdapter(gpu.info) },
    { firstStepMs, msPerStep },
    {
      gpuMsPerStep,
      gpuMemoryBytes: liveBytes() - datasetBytes,
      memoryNote:
        `live bytes of the GPU buffers created for training (parameters, Adam moments, batch-norm statistics, uniforms, pool; the pool alone ${mib(pool)}), ` +
        `not counting the ${mib(datasetBytes)} of MNIST + Fashion-MNIST images the mixer keeps on the GPU`,
      loss,
      dispatchesPerStep: encoding.dispatches,
      encodeMsPerStep: encoding.encodeMs,
      kernels: {
        mode: opts.kernels.kind === 'force' ? `force ${opts.kernels.kernel}` : opts.kernels.kind,
        tuningSeconds,
        variants: tuner.variants(),
      },
      ...(dispatches ? { profile: byKernel(dispatches) } : {}),
    },
  );
  mixer.destroy();
  return result;
}
