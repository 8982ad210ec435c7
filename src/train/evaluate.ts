// The task's evaluation protocol: MSE between predictions and the true sources on the 32×32 padded
// images, averaged over the two outputs, over `mixtures` random test mixtures, repeated `repeats`
// times with different draws; reported as mean ± standard deviation over the repeats, and per source.
import type { Mixer } from '../data/mixer.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { Separation } from '../model/separator.ts';
import { mseLoss } from '../ops/mse.ts';

export interface EvalOptions {
  mixtures?: number;
  repeats?: number;
  seed?: number;
  /** Mixtures per forward pass. */
  batch?: number;
  onProgress?: (done: number, total: number) => void;
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
  const batch = Math.min(opts.batch ?? 250, mixtures);
  if (!(mixtures > 0 && repeats > 0)) throw new Error(`evaluate: mixtures (${mixtures}) and repeats (${repeats}) must be positive`);
  const batches = Math.ceil(mixtures / batch);
  // Per batch, the digit and item MSE land in slots of one buffer, read once per repeat.
  const results = gpu.persistent([batches * 2], undefined, 'eval results');
  const digitMse: number[] = [];
  const itemMse: number[] = [];
  try {
    for (let r = 0; r < repeats; r++) {
      const sizes: number[] = [];
      for (let b = 0; b < batches; b++) {
        const n = Math.min(batch, mixtures - b * batch);
        sizes.push(n);
        const { mixture, digit, item } = mixer.batch('test', n, seed + r, b);
        const pred = predict(mixture);
        const dLoss = mseLoss(pred.digit, digit);
        const iLoss = mseLoss(pred.item, item);
        gpu.encode((e) => {
          e.copyBufferToBuffer(dLoss.buffer, dLoss.byteOffset, results.buffer, 8 * b, 4);
          e.copyBufferToBuffer(iLoss.buffer, iLoss.byteOffset, results.buffer, 8 * b + 4, 4);
        });
        gpu.endStep();
        opts.onProgress?.(r * mixtures + b * batch + n, repeats * mixtures);
      }
      const values = await results.read();
      let d = 0;
      let i = 0;
      sizes.forEach((n, b) => {
        d += values[2 * b] * n;
        i += values[2 * b + 1] * n;
      });
      digitMse.push(d / mixtures);
      itemMse.push(i / mixtures);
    }
  } finally {
    results.buffer.destroy();
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

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Population standard deviation over the repeats (numpy's default, as published results use). */
function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}
