// Messages between the page (main.ts) and the training worker (worker.ts). The worker owns the GPU
// device, the datasets on it, the Mixer and the Trainer; the page only draws what it is sent.
import type { EvalResult, TrainConfig } from '../train/trainer.ts';

/** The model the page ships (public/weights/: the best that `npm run train` made within a preset's
 * budget, the hour preset's; its command and score are in docs/QUALITY.md), and how the page names it. */
export const SHIPPED_WEIGHTS = 'weights/hour.safetensors';
export const SHIPPED_ORIGIN = 'shipped with the page (the hour preset, trained by npm run train -- --preset hour)';

/** The five images of a separation, each n·32·32 values in [0, 1]. */
export interface Separated {
  mixture: Float32Array;
  digit: Float32Array;
  item: Float32Array;
  predDigit: Float32Array;
  predItem: Float32Array;
}

/** One point of a loss curve. */
export type LossPoint = [step: number, loss: number];

export interface LossHistory {
  train: LossPoint[];
  test: LossPoint[];
}

export type RunState = 'none' | 'running' | 'paused' | 'stopped' | 'done';

export type ToWorker =
  | { type: 'load-data'; files?: File[] } // no files: those the host serves (DATA_DIR)
  /** minutes: a training-time budget; conv: the page's ?conv= (auto, retune, default or a kernel variant). */
  | { type: 'start'; config: TrainConfig; minutes?: number; conv?: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  | { type: 'evaluate' }
  | { type: 'cancel-evaluation' }
  /** The shipped model again, and no other kept in storage. */
  | { type: 'restore-shipped' }
  | { type: 'download' }
  | { type: 'load-weights'; bytes: Uint8Array; name: string }
  | { type: 'try-pair'; digit: number; item: number }
  | { type: 'try-drawn'; digit: Float32Array; item: number };

export type FromWorker =
  | { type: 'gpu'; adapter: string }
  | { type: 'fatal'; message: string }
  | { type: 'data-progress'; fraction: number; file: string }
  /** Test images to try, by class: of the full test sets, or (full false) of the sample the page ships. */
  | { type: 'data-ready'; full: boolean; digitsByClass: number[][]; itemsByClass: number[][] }
  /** notServed: this host has no datasets (the page asks for the files). */
  | { type: 'data-error'; message: string; notServed: boolean }
  /** inFile: the model is a file's content as loaded (replacing it loses nothing). */
  | {
      type: 'model';
      config: TrainConfig;
      step: number;
      parameterCount: number;
      summary: string;
      history: LossHistory;
      origin: string;
      inFile: boolean;
    }
  | { type: 'state'; state: RunState; step: number }
  /** `steps`: the schedule's step count (a budget run estimates it until the decay starts); samplesPerSecond 0
   * and secondsLeft NaN with a test loss alone. */
  | { type: 'loss'; train: LossPoint[]; test: LossPoint[]; samplesPerSecond: number; secondsLeft: number; steps: number }
  | { type: 'grid'; step: number; digits: number[]; items: number[]; images: Separated }
  /** Mixtures finished, of the mixture's own evaluation (the reference score) or then of the model's. */
  | { type: 'eval-progress'; what: 'model' | 'mixture'; done: number; total: number }
  /** The protocol's score of the mixture itself as the prediction of both sources. */
  | { type: 'eval-reference'; mixtureScore: number }
  | { type: 'eval-result'; result: EvalResult; step: number }
  | { type: 'eval-cancelled' }
  | { type: 'weights'; bytes: Uint8Array; name: string }
  | { type: 'try-result'; images: Separated }
  /** The conv kernels the training runs: one line per shape class, and how they were chosen; or,
   * measuring, how far the measuring is (done of total shape classes). */
  | { type: 'kernels'; lines: string[]; note: string; measuring: boolean }
  | { type: 'error'; message: string };
