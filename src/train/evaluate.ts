// The task's evaluation protocol: MSE between predictions and the true sources on the 32×32 padded
// images, averaged over the two outputs, over `mixtures` random test mixtures, repeated `repeats`
// times with different draws; reported as mean ± standard deviation over the repeats, and per source.
import type { Mixer } from '../data/mixer.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { Separation } from '../model/separator.ts';
import { mseLoss } from '../ops/mse.ts';

/** The baseline every score is read against: the mixture itself as the prediction of both sources
 * (0.0363 on the protocol). */
export const mixtureAsPrediction = (mixture: Tensor): Separation => ({ digit: mixture, item: mixture });

export interface EvalOptions {
  mixtures?: number;
  repeats?: number;
  seed?: number;
  /** Mixtures per forward pass. */
  batch?: number;
  /** Mixtures whose losses the GPU has finished (not merely been handed), of the total. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting ends the evaluation within a few batches, with an error naming it. */
  signal?: AbortSignal;
}

export interface EvalResult {
  mse_mean: number;
  mse_std: number;
  mse_digit: number;
  mse_item: number;
  mixtures: number;
  repeats: number;
}

export const PROTOCOL = { mixtures: 20_000, repeats: 10, seed: 20_000 };
/** Mixtures per forward pass of the evaluation: large enough to keep the GPU busy, small enough for
 * a browser's buffer limits at any width the page offers. */
export const EVAL_BATCH = 250;

/** Fixed test pairs (MNIST index, Fashion-MNIST index) shown in sample grids, in the CLI's PNG and
 * the page alike, so that grids of different runs and steps show the same mixtures. */
export const DISPLAY_PAIRS = {
  digits: [3, 2, 1, 18, 4, 8, 11, 0],
  items: [17, 1266, 2515, 3764, 5013, 6262, 7511, 8760],
};

/** Evaluates any predictor (the network in eval mode, or a baseline) on fresh test mixtures. */
export async function evaluateProtocol(
  gpu: Gpu,
  mixer: Mixer,
  predict: (mixture: Tensor) => Separation,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const mixtures = opts.mixtures ?? PROTOCOL.mixtures;
  const repeats = opts.repeats ?? PROTOCOL.repeats;
  const seed = opts.seed ?? PROTOCOL.seed;
  const batch = Math.min(opts.batch ?? EVAL_BATCH, mixtures);
  if (!(mixtures > 0 && repeats > 0)) throw new Error(`evaluate: mixtures (${mixtures}) and repeats (${repeats}) must be positive`);
  const batches = Math.ceil(mixtures / batch);
  const digitMse: number[] = [];
  const itemMse: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const sizes: number[] = [];
    const values = await readLosses(
      gpu,
      batches,
      2,
      (b) => {
        const n = Math.min(batch, mixtures - b * batch);
        sizes.push(n);
        const { mixture, digit, item } = mixer.batch('test', n, seed + r, b);
        const pred = predict(mixture);
        return [mseLoss(pred.digit, digit), mseLoss(pred.item, item)];
      },
      { afterPass: (b) => opts.onProgress?.(r * mixtures + b * batch + sizes[b], repeats * mixtures), signal: opts.signal },
    );
    let d = 0;
    let i = 0;
    sizes.forEach((n, b) => {
      d += values[2 * b] * n;
      i += values[2 * b + 1] * n;
    });
    digitMse.push(d / mixtures);
    itemMse.push(i / mixtures);
  }
  const both = digitMse.map((d, r) => (d + itemMse[r]) / 2);
  return {
    mse_mean: mean(both),
    mse_std: std(both),
    mse_digit: mean(digitMse),
    mse_item: mean(itemMse),
    mixtures,
    repeats,
  };
}

/** Passes queued on the GPU at most when readLosses can be aborted: an abort lands within as many. */
const ABORTABLE_IN_FLIGHT = 3;

/** Runs `passes` forward passes, each giving `perPass` scalar losses, copies every loss into a slot of
 * one buffer on the GPU and reads them all back with a single wait: [pass 0's losses, pass 1's, …].
 * afterPass(p) runs once the GPU has finished pass p. With a signal, only a few passes are queued at a
 * time, so that aborting stops the work soon. */
export async function readLosses(
  gpu: Gpu,
  passes: number,
  perPass: number,
  pass: (index: number) => Tensor[],
  opts: { afterPass?: (index: number) => void; signal?: AbortSignal } = {},
): Promise<Float32Array> {
  const { afterPass, signal } = opts;
  const slots = gpu.persistent([passes * perPass], undefined, 'loss slots');
  const finished: Promise<void>[] = [];
  try {
    for (let p = 0; p < passes; p++) {
      if (signal) {
        if (p >= ABORTABLE_IN_FLIGHT) await finished[p - ABORTABLE_IN_FLIGHT];
        if (signal.aborted) throw new Error('evaluation cancelled');
      }
      const losses = pass(p);
      if (losses.length !== perPass) throw new Error(`readLosses: pass ${p} gave ${losses.length} losses, expected ${perPass}`);
      gpu.encode((e) => {
        losses.forEach((loss, k) => {
          e.copyBufferToBuffer(loss.buffer, loss.byteOffset, slots.buffer, 4 * (p * perPass + k), 4);
        });
      });
      gpu.endStep();
      if (afterPass || signal) finished.push(gpu.device.queue.onSubmittedWorkDone().then(() => afterPass?.(p)));
    }
    const values = await slots.read();
    await Promise.all(finished); // every afterPass has run
    return values;
  } finally {
    slots.buffer.destroy();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Population standard deviation over the repeats (numpy's default, as published results use). */
function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}
