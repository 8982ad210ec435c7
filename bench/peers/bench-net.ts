// The benchmark network of docs/BENCH_NET.md, as data both peers build from, so that
// TensorFlow.js and jax-js run exactly the work unmix runs.

export interface Block {
  name: string;
  cin: number;
  cout: number;
}

/** U-Net blocks in forward order: conv3×3 → BN → ReLU → conv3×3 → BN → ReLU each. Encoder blocks
 * are followed by a 2×2 max-pool; decoder blocks take [nearest-upsampled previous, skip]. */
export const ENCODER: Block[] = [
  { name: 'enc1', cin: 1, cout: 32 },
  { name: 'enc2', cin: 32, cout: 64 },
];
export const MID: Block = { name: 'mid', cin: 64, cout: 128 };
export const DECODER: Block[] = [
  { name: 'dec2', cin: 128 + 64, cout: 64 },
  { name: 'dec1', cin: 64 + 32, cout: 32 },
];
/** Two 1×1 heads (32 → 1) with sigmoid: digit and item. */
export const HEAD_IN = 32;

export const IMAGE = 32;
export const PARAMETERS = 472_290;
export const LR = 1e-3;
export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const ADAM_EPS = 1e-8;
export const BN_MOMENTUM = 0.1;
export const BN_EPS = 1e-5;
/** Forward multiply-adds ×2 per sample (BENCH_NET.md: about 0.25 GFLOP); a step is about 3×. */
export const STEP_GFLOP_PER_SAMPLE = 0.75;

export const BLOCKS: Block[] = [...ENCODER, MID, ...DECODER];

/** Images resident on the GPU that each step's batch is mixed from: peers have no dataset, so the
 * batch is gathered from a pool of random images by indices computed on the GPU from a step
 * counter, then averaged, which is the same work as unmix's GPU mixer. */
export const POOL_BATCHES = 4;

/** unmix's second run in an environment, after the peers (the comparison uses the mean of both). */
export const UNMIX_AFTER = 'unmix (again, after the peers)';

/** unmix with the conv kernels chosen as they were before the tuner: the packed kernels everywhere,
 * summing all K kernel rows per update on SwiftShader (one adapter check in src/ops/conv2d.ts). The
 * bench runs it beside the tuned step to show that the tuner's choice is at least as fast. */
export const UNMIX_HAND_PICKED = 'unmix (hand-picked kernels, as before the tuner)';

/** What every peer (and unmix) reports for one training configuration. */
export interface TrainStepResult {
  framework: string;
  environment: string;
  adapter: string;
  batch: number;
  warmupSteps: number;
  timedSteps: number;
  /** Wall time of the first step, including shader compilation, until its loss was read back. */
  firstStepMs: number;
  msPerStep: number;
  samplesPerS: number;
  /** unmix only: GPU time of one more step from timestamps (null without them); far below
   * msPerStep means the step is bound by encoding and submission on the CPU, not by kernels. */
  gpuMsPerStep?: number | null;
  /** unmix only: compute dispatches one step encodes. */
  dispatchesPerStep?: number;
  /** unmix only: CPU time to encode and submit one step, the GPU idle before it and not waited for
   * after (median of a few steps): the floor of a step on an infinitely fast GPU. */
  encodeMsPerStep?: number;
  /** unmix only: GPU time of one more step by kernel (shader.entry), from a timestamp around each
   * dispatch; absent without timestamps. */
  profile?: KernelShare[];
  /** unmix only: how its conv kernels were chosen (src/gpu/tuner.ts), what tuning took after the
   * first step (null: nothing to measure, the choices were cached or fixed), and the kernel each
   * shape class ran. */
  kernels?: { mode: string; tuningSeconds: number | null; variants: Record<string, string> };
  /** Bytes of GPU memory the framework holds after training, or null where it exposes none. */
  gpuMemoryBytes: number | null;
  memoryNote: string;
  loss: number;
}

/** One kernel's part of a step: how many dispatches ran it and their summed GPU time. */
export interface KernelShare {
  kernel: string;
  dispatches: number;
  ms: number;
}

/** How a training-step measurement was run. */
export interface StepRun {
  batch: number;
  warmup: number;
  steps: number;
  environment: string;
  adapter: string;
}

/** A result from a framework's own timings and memory figures, the rest derived the same way for all. */
export function stepResult(
  framework: string,
  run: StepRun,
  timing: { firstStepMs: number; msPerStep: number },
  own: Pick<TrainStepResult, 'gpuMemoryBytes' | 'memoryNote' | 'loss' | 'profile' | 'kernels' | 'dispatchesPerStep' | 'encodeMsPerStep'> & {
    gpuMsPerStep?: number | null;
  },
): TrainStepResult {
  return {
    framework,
    environment: run.environment,
    adapter: run.adapter,
    batch: run.batch,
    warmupSteps: run.warmup,
    timedSteps: run.steps,
    ...timing,
    samplesPerS: (run.batch * 1000) / timing.msPerStep,
    ...own,
  };
}
