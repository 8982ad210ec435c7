// Training: one step is mix → forward → loss → backward → update, encoded into one command buffer
// with no read-back. The loss of the latest step is kept on the GPU and read when asked for.
import { backward, zeroGrads } from '../autograd/graph.ts';
import type { Mixer } from '../data/mixer.ts';
import { type NamedTensor, readSafetensors, writeSafetensors } from '../data/safetensors.ts';
import { gatherIntoArena } from '../gpu/arena.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { BatchNorm2d, DEFAULT_BN_MOMENTUM } from '../model/layers.ts';
import { checkModelConfig, type ModelConfig, Separator } from '../model/separator.ts';
import { Adam } from '../ops/adam.ts';
import { mseLossOfPairs } from '../ops/mse.ts';
import { Ema } from './ema.ts';
import { type EvalOptions, type EvalResult, evaluateProtocol, readLosses } from './evaluate.ts';

export type { EvalResult, ModelConfig };

export interface TrainConfig {
  model: ModelConfig;
  steps: number;
  batch: number;
  /** Peak learning rate, reached after warm-up, then cosine-decayed to COSINE_FLOOR of it at `steps`. */
  lr: number;
  warmupSteps: number;
  /** The share of the steps after warm-up that the decay takes (warm-up, stable, decay): the
   * learning rate holds its peak until the last `cooldown` of them. Absent: 1, a cosine over all of
   * them. Below 1, a time budget can keep refining the step count until the decay begins, since no
   * earlier rate depends on it (src/train/session.ts). */
  cooldown?: number;
  /** AdamW's decoupled weight decay. */
  weightDecay: number;
  seed: number;
  /** Decay of an exponential moving average of the weights (e.g. 0.999) that evaluation,
   * predictions and checkpoints use; absent or 0: none, the live weights. */
  ema?: number;
}

/** Chosen by measurement of test MSE per second of training on lavapipe (2 CPU cores): width 8 is
 * 4× cheaper per sample than width 16 and, in equal time, reaches a lower MSE (smaller nets take
 * more steps); batch 16 beat batch 32 in equal time, and depth 4 did not pay. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  model: { width: 8, depth: 3, upsample: 'nearest' },
  steps: 2000,
  batch: 16,
  lr: 5e-3,
  warmupSteps: 100,
  weightDecay: 1e-4,
  seed: 1,
};

const CHECKPOINT_FORMAT = 'unmix-checkpoint-v1';
/** Seeds of the held-out streams, far from any training seed's batches. */
const TEST_LOSS_SEED = 777_777;
/** The training images' stream that recalibrateBatchNorm draws, apart from any training seed's. */
const RECALIBRATION_SEED = 555_555;
/** Held-out batches averaged by testLoss (the page's test curve). */
export const TEST_LOSS_BATCHES = 4;
/** The learning rate at the last step, as a fraction of the peak: the cosine ends here, not at zero. */
export const COSINE_FLOOR = 0.05;

export function learningRate(c: TrainConfig, step: number): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const start = decayStart(c);
  const progress = Math.min(1, Math.max(0, step - start) / Math.max(1, c.steps - start));
  return c.lr * (COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

/** The first step whose learning rate depends on config.steps: the decay's start. */
export function decayStart(c: TrainConfig): number {
  return c.warmupSteps + Math.floor((1 - (c.cooldown ?? 1)) * Math.max(0, c.steps - c.warmupSteps));
}

/** Training-config fields a resumed run may change; the model, its averaging and the data stream
 * stay the checkpoint's. */
export type CheckpointOverrides = Partial<Omit<TrainConfig, 'model' | 'seed' | 'batch' | 'ema'>>;

export function checkTrainConfig(c: TrainConfig): void {
  checkModelConfig(c.model);
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`train config: ${name} must be a positive integer, got ${v}`);
  };
  positiveInt('steps', c.steps);
  positiveInt('batch', c.batch);
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new Error(`train config: lr must be a positive number, got ${c.lr}`);
  if (!(c.warmupSteps >= 0)) throw new Error(`train config: warmupSteps must be >= 0, got ${c.warmupSteps}`);
  if (!(c.weightDecay >= 0)) throw new Error(`train config: weightDecay must be >= 0, got ${c.weightDecay}`);
  if (c.cooldown !== undefined && !(c.cooldown > 0 && c.cooldown <= 1))
    throw new Error(`train config: cooldown must be a share of the steps in (0, 1], got ${c.cooldown}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new Error(`train config: seed must be a non-negative integer, got ${c.seed}`);
  if (c.ema !== undefined && !(c.ema >= 0 && c.ema < 1)) throw new Error(`train config: ema must be a decay in [0, 1), got ${c.ema}`);
}

export class Trainer {
  /** Steps completed (the next step's index). */
  step = 0;
  readonly model: Separator;
  readonly parameterCount: number;
  private readonly adam: Adam;
  private readonly lastLoss: Tensor;
  /** Averages of the model's parameters and buffers, in that order, when config.ema is set. */
  private readonly ema: Ema | null;

  /** The metadata of the checkpoint this trainer was restored from (empty for a fresh model). */
  metadata: Record<string, string> = {};

  private constructor(
    readonly gpu: Gpu,
    readonly mixer: Mixer,
    private settings: TrainConfig,
  ) {
    const config = settings;
    checkTrainConfig(config);
    this.model = new Separator(gpu, config.model, config.seed);
    this.parameterCount = this.model.parameterCount();
    // The parameters in one arena and the batch-norm statistics in another: Adam updates the first
    // in one dispatch per step, the EMA both in two. Not one arena: a buffer bound for writing
    // (batch norm's running statistics) may not be bound in the same dispatch for reading (its
    // gamma and beta).
    gatherIntoArena(gpu, this.model.parameters(), 'parameters');
    gatherIntoArena(
      gpu,
      this.model.namedBuffers().map(([, t]) => t),
      'batch-norm statistics',
    );
    const modelState = [...this.model.namedParameters(), ...this.model.namedBuffers()].map(([, t]) => t);
    this.adam = new Adam(gpu, this.model.parameters(), { lr: config.lr, weightDecay: config.weightDecay, decoupled: true });
    this.lastLoss = gpu.persistent([1], [NaN], 'last loss');
    this.ema = config.ema ? new Ema(gpu, modelState, config.ema) : null;
  }

  /** A fresh model. */
  static async create(gpu: Gpu, mixer: Mixer, config: TrainConfig): Promise<Trainer> {
    return new Trainer(gpu, mixer, config);
  }

  /** A model restored from a checkpoint, with its config (`overrides` change e.g. the step count). */
  static async fromCheckpoint(
    gpu: Gpu,
    mixer: Mixer,
    bytes: Uint8Array,
    overrides: CheckpointOverrides = {},
    name = 'checkpoint',
  ): Promise<Trainer> {
    const saved = readSafetensors(bytes, name);
    const trainer = new Trainer(gpu, mixer, { ...checkpointConfig(saved.metadata), ...overrides });
    trainer.restore(saved.tensors, saved.metadata);
    trainer.metadata = saved.metadata;
    return trainer;
  }

  get config(): TrainConfig {
    return this.settings;
  }

  /** Fixes the step count the schedule decays over (a time-budget run does so once warm-up has
   * measured the throughput). */
  setTotalSteps(steps: number): void {
    const next = { ...this.settings, steps };
    checkTrainConfig(next);
    this.settings = next;
  }

  /** One training step, encoded and submitted; nothing is read back. */
  trainStep(): void {
    const { gpu, config } = this;
    // mix: a fresh batch of random (digit, item) pairs, drawn and mixed on the GPU
    const { mixture, digit, item } = this.mixer.batch('train', config.batch, config.seed, this.step);
    // forward
    const pred = this.model.forward(mixture, true);
    // loss: the MSE over both outputs, i.e. (MSE(digit) + MSE(item)) / 2 since they are the same size
    const loss = mseLossOfPairs([pred.digit, digit], [pred.item, item]);
    // backward
    backward(loss);
    // update
    this.adam.step(learningRate(config, this.step));
    this.ema?.update();
    gpu.copy(loss, this.lastLoss);
    gpu.endStep();
    zeroGrads(this.model.parameters());
    this.step++;
  }

  /** Loss of the latest step. The copy is encoded now, so a caller may keep training and await later. */
  async readLoss(): Promise<number> {
    return (await this.gpu.read(this.lastLoss))[0];
  }

  /** Re-estimates every batch norm's running statistics from the final weights: the plain average
   * of their statistics over `batches` fresh training batches (of the training batch size, drawn
   * from a stream of their own), instead of the moving average that training left, which weighs
   * its last ~10 batches and the weights they were taken with ("precise BN", Wu & Johnson 2021).
   * Only the statistics change; with an EMA, the averaged model's. */
  async recalibrateBatchNorm(batches: number): Promise<void> {
    if (!Number.isInteger(batches) || batches < 1)
      throw new Error(`recalibrateBatchNorm: batches must be a positive integer, got ${batches}`);
    const norms = this.model.modules().filter((m) => m instanceof BatchNorm2d);
    try {
      await this.withEvalWeights(async () => {
        for (let k = 0; k < batches; k++) {
          // Momentum 1/(k+1) makes the running statistics the mean over the batches so far.
          for (const bn of norms) bn.momentum = 1 / (k + 1);
          this.model.forward(this.mixer.batch('train', this.config.batch, RECALIBRATION_SEED, k).mixture, true);
          this.gpu.endStep();
        }
      });
    } finally {
      for (const bn of norms) bn.momentum = DEFAULT_BN_MOMENTUM;
    }
  }

  /** Mean loss over fixed held-out test batches, with batch norm in evaluation mode. */
  testLoss(batches = TEST_LOSS_BATCHES): Promise<number> {
    return this.withEvalWeights(() => this.meanTestLoss(batches));
  }

  private async meanTestLoss(batches: number): Promise<number> {
    const losses = await readLosses(this.gpu, batches, 1, (b) => {
      const { mixture, digit, item } = this.mixer.batch('test', this.config.batch, TEST_LOSS_SEED, b);
      const pred = this.model.forward(mixture, false);
      return [mseLossOfPairs([pred.digit, digit], [pred.item, item])];
    });
    return losses.reduce((a, b) => a + b, 0) / batches;
  }

  evaluate(opts?: EvalOptions): Promise<EvalResult> {
    return this.withEvalWeights(() => evaluateProtocol(this.gpu, this.mixer, (m) => this.model.forward(m, false), opts));
  }

  /** Predictions for fixed test pairs (display grids), all n·32·32 values in [0, 1]. */
  async predictPairs(digitIdx: number[], itemIdx: number[]) {
    const batch = this.mixer.pairs('test', digitIdx, itemIdx);
    const [mixture, digit, item, predDigit, predItem] = await this.withEvalWeights(() => {
      const pred = this.model.forward(batch.mixture, false);
      return Promise.all([batch.mixture, batch.digit, batch.item, pred.digit, pred.item].map((t) => t.read()));
    });
    this.gpu.endStep();
    return { mixture, digit, item, predDigit, predItem };
  }

  /** Separates arbitrary mixtures (n·32·32 values), e.g. one drawn by hand. */
  async predictMixture(mixture: Float32Array, n: number) {
    const input = this.gpu.empty([n, 1, 32, 32]);
    this.gpu.write(input, mixture);
    const [predDigit, predItem] = await this.withEvalWeights(() => {
      const pred = this.model.forward(input, false);
      return Promise.all([pred.digit.read(), pred.item.read()]);
    });
    this.gpu.endStep();
    return { predDigit, predItem };
  }

  /** Weights, batch-norm statistics and optimizer state as .safetensors, with the config, the step
   * and `extra` metadata (a training session's budget and time). */
  async checkpoint(extra: Record<string, string> = {}): Promise<Uint8Array> {
    // All read-backs in flight together: one wait for the queue instead of one per tensor.
    const state = this.stateTensors();
    const data = await Promise.all(state.map(([, t]) => t.read()));
    const tensors: Record<string, NamedTensor> = {};
    state.forEach(([name, t], i) => {
      tensors[name] = { shape: [...t.shape], data: data[i] };
    });
    return writeSafetensors(tensors, {
      ...extra,
      format: CHECKPOINT_FORMAT,
      config: JSON.stringify(this.config),
      step: String(this.step),
      parameter_count: String(this.parameterCount),
    });
  }

  destroy(): void {
    this.model.destroy();
    this.adam.destroy();
    this.lastLoss.destroy();
    this.ema?.destroy();
    this.gpu.trim();
  }

  /** Runs `fn` with the averaged weights in the model when there is an EMA. */
  private withEvalWeights<T>(fn: () => Promise<T>): Promise<T> {
    return this.ema ? this.ema.withAverages(fn) : fn();
  }

  /** Every tensor a checkpoint holds, by name: the model's own names (loadable as a PyTorch
   * state_dict of the same architecture), then the optimizer's moments. With an EMA, the model's
   * names hold the averages (what is evaluated and shipped) and `live.<name>` the training weights. */
  private stateTensors(): [string, Tensor][] {
    const params = this.model.namedParameters();
    const moments = this.adam.state();
    const modelState = [...params, ...this.model.namedBuffers()];
    const averages = this.ema?.averages;
    return [
      ...(averages
        ? [
            ...modelState.map(([name], i): [string, Tensor] => [name, averages[i]]),
            ...modelState.map(([name, t]): [string, Tensor] => [`live.${name}`, t]),
          ]
        : modelState),
      ...params.flatMap(([name], i): [string, Tensor][] => [
        [`optimizer.m.${name}`, moments[2 * i]],
        [`optimizer.v.${name}`, moments[2 * i + 1]],
      ]),
    ];
  }

  private restore(tensors: Record<string, NamedTensor>, metadata: Record<string, string>): void {
    const hasOptimizer = Object.keys(tensors).some((k) => k.startsWith('optimizer.'));
    for (const [name, t] of this.stateTensors()) {
      // A file without live weights (trained without an EMA, or weights only) starts them from its weights.
      const saved = tensors[name] ?? (name.startsWith('live.') ? tensors[name.slice('live.'.length)] : undefined);
      if (!saved) {
        if (name.startsWith('optimizer.') && !hasOptimizer) continue; // weights-only file: fresh moments
        throw new Error(`checkpoint: tensor ${name} is missing; the file was written for another model`);
      }
      if (saved.shape.join() !== t.shape.join()) {
        throw new Error(`checkpoint: ${name} has shape [${saved.shape}] in the file but [${t.shape}] in the model`);
      }
      this.gpu.write(t, saved.data);
    }
    this.step = Number(metadata.step ?? 0);
    this.adam.setStepCount(hasOptimizer ? this.step : 0);
    this.ema?.setUpdateCount(this.step);
  }
}

/** The training config stored in a checkpoint's metadata. */
export function checkpointConfig(metadata: Record<string, string>): TrainConfig {
  if (metadata.format !== CHECKPOINT_FORMAT || !metadata.config) {
    throw new Error(
      `checkpoint: not an unmix checkpoint (metadata format is ${JSON.stringify(metadata.format)}, expected "${CHECKPOINT_FORMAT}")`,
    );
  }
  const config = JSON.parse(metadata.config) as TrainConfig;
  checkTrainConfig(config);
  return config;
}
