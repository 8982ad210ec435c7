// Training: one step is mix → forward → loss → backward → update, encoded into one command buffer
// with no read-back. The loss of the latest step is kept on the GPU and read when asked for.
import { backward, zeroGrads } from '../autograd/graph.ts';
import { type Mixer, mixKey } from '../data/mixer.ts';
import { findNonFinite, type NamedTensor, readSafetensors, writeSafetensors } from '../data/safetensors.ts';
import { gatherIntoArena } from '../gpu/arena.ts';
import type { Gpu, Recording } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { type ModelConfig, Separator } from '../model/separator.ts';
import { Adam } from '../ops/adam.ts';
import { mseLossOfPairs } from '../ops/mse.ts';
import { UserError } from '../util/user-error.ts';
import { Ema } from './ema.ts';
import { type EvalOptions, type EvalResult, evaluateProtocol, readLosses } from './evaluate.ts';
import { checkTrainConfig } from './options.ts';

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

/** The values the presets start from (src/train/presets.ts overrides what each changes), and the
 * benchmarks' "unmix, default model". The project's first recipe: width 8, depth 3, batch 16 at lr
 * 5e-3, independent heads; the default preset has since moved to share outputs at batch 32 and lr
 * 2e-2 (docs/QUALITY.md says why). */
export const BASE_TRAIN_CONFIG: TrainConfig = {
  model: { width: 8, depth: 3 },
  steps: 2000,
  batch: 16,
  lr: 5e-3,
  warmupSteps: 100,
  weightDecay: 1e-4,
  seed: 1,
};

const CHECKPOINT_FORMAT = 'unmix-checkpoint-v1';
const DAMAGED_CHECKPOINT_FIX = 'use an intact checkpoint: each run keeps step-*.safetensors beside latest.safetensors';

/** A state that must not be saved or trained from: NaN or Infinity in a weight, a statistic or the
 * optimizer's moments. */
export class NonFiniteStateError extends Error {
  override readonly name = 'NonFiniteStateError';
}
/** Seeds of the held-out streams, far from any training seed's batches. */
const TEST_LOSS_SEED = 777_777;
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

export class Trainer {
  /** Steps completed (the next step's index). */
  step = 0;
  readonly model: Separator;
  readonly parameterCount: number;
  private readonly adam: Adam;
  /** The model's parameters, listed once: the module tree's walk is a step's work otherwise. */
  private readonly parameters: Tensor[];
  private readonly lastLoss: Tensor;
  /** The training step's commands, recorded by the first step (trainStep). */
  private recording: Recording | null = null;
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
    this.parameters = this.model.parameters();
    gatherIntoArena(gpu, this.parameters, 'parameters');
    gatherIntoArena(
      gpu,
      this.model.namedBuffers().map(([, t]) => t),
      'batch-norm statistics',
    );
    const modelState = [...this.model.namedParameters(), ...this.model.namedBuffers()].map(([, t]) => t);
    this.adam = new Adam(gpu, this.parameters, { lr: config.lr, weightDecay: config.weightDecay, decoupled: true });
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
    trainer.restore(saved.tensors, saved.metadata, name);
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

  /** One training step, encoded and submitted; nothing is read back. Every step encodes the same
   * commands but for three values (the batch's key, Adam's rates, the EMA's decay), so the first
   * step is recorded and later ones replay it with their own values: no op, graph or cache is
   * visited again until the recording goes stale (a buffer released, kernels chosen anew). */
  trainStep(): void {
    const { gpu } = this;
    if (!this.recording || !gpu.replay(this.recording, () => this.stepValues())) {
      this.recording = gpu.record(() => this.encodeStep());
    }
    gpu.endStep();
    zeroGrads(this.parameters);
    this.step++;
  }

  /** mix → forward → loss → backward → update, encoded into the step's command buffer. */
  private encodeStep(): void {
    const { config } = this;
    // mix: a fresh batch of random (digit, item) pairs, drawn and mixed on the GPU
    const { mixture, digit, item } = this.mixer.batch('train', config.batch, config.seed, this.step, this.model.inputLayout(config.batch));
    // forward
    const pred = this.model.forward(mixture, true);
    // loss: the MSE over both outputs, i.e. (MSE(digit) + MSE(item)) / 2 since they are the same size
    const loss = mseLossOfPairs([pred.digit, digit], [pred.item, item]);
    // backward
    backward(loss);
    // update
    this.adam.step(learningRate(config, this.step));
    this.ema?.update();
    this.gpu.copy(loss, this.lastLoss);
  }

  /** The values encodeStep() writes, in its order, for a replay of it. */
  private stepValues(): ArrayBufferView[] {
    const { config } = this;
    const values: ArrayBufferView[] = [mixKey(config.seed, this.step), this.adam.nextStepValues(learningRate(config, this.step))];
    if (this.ema) values.push(this.ema.nextValues());
    return values;
  }

  /** Loss of the latest step. The copy is encoded now, so a caller may keep training and await later. */
  async readLoss(): Promise<number> {
    return (await this.gpu.read(this.lastLoss))[0];
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
    // The loss can stay finite while a weight is not (a saturated sigmoid, a dead channel).
    const bad = findNonFinite(tensors);
    if (bad) throw new NonFiniteStateError(`${bad} at step ${this.step}`);
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

  private restore(tensors: Record<string, NamedTensor>, metadata: Record<string, string>, file: string): void {
    const step = Number(metadata.step ?? 0);
    if (!Number.isInteger(step) || step < 0)
      throw new UserError(`${file}: its metadata step is ${JSON.stringify(metadata.step)}, not a step count`, DAMAGED_CHECKPOINT_FIX);
    const bad = findNonFinite(tensors);
    if (bad) throw new UserError(`${file}: ${bad}; the weights are broken`, DAMAGED_CHECKPOINT_FIX);
    const hasOptimizer = Object.keys(tensors).some((k) => k.startsWith('optimizer.'));
    for (const [name, t] of this.stateTensors()) {
      // A file without live weights (trained without an EMA, or weights only) starts them from its weights.
      const saved = tensors[name] ?? (name.startsWith('live.') ? tensors[name.slice('live.'.length)] : undefined);
      if (!saved) {
        if (name.startsWith('optimizer.') && !hasOptimizer) continue; // weights-only file: fresh moments
        throw new UserError(
          `${file}: tensor "${name}" is missing`,
          `the file was written for another model or is damaged; ${DAMAGED_CHECKPOINT_FIX}`,
        );
      }
      if (saved.shape.join() !== t.shape.join()) {
        throw new UserError(
          `${file}: ${name} has shape [${saved.shape}] in the file but [${t.shape}] in the model`,
          DAMAGED_CHECKPOINT_FIX,
        );
      }
      this.gpu.write(t, saved.data);
    }
    this.step = step;
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
  let config: TrainConfig;
  try {
    config = JSON.parse(metadata.config) as TrainConfig;
  } catch (e) {
    throw new Error(`checkpoint: its config metadata is not JSON (${(e as Error).message})`);
  }
  if (typeof config !== 'object' || config === null || typeof config.model !== 'object' || config.model === null)
    throw new Error(`checkpoint: its config metadata ${metadata.config.slice(0, 80)} has no model`);
  const current = withoutRetiredOptions(config.model);
  if ('retired' in current) {
    throw new Error(
      `checkpoint: its model uses ${current.retired}, an option removed after commit c8291d8 (docs/QUALITY.md keeps its results); evaluate it with that commit`,
    );
  }
  config.model = current.model;
  checkTrainConfig(config);
  return config;
}

/** Model options that lost their ablations and last lived at c8291d8, with the value that means "off":
 * checkpoints and ledger records written before they went record them. */
const RETIRED_MODEL_OPTIONS: Record<string, unknown> = { upsample: 'nearest', heads: 'sigmoid', attention: false, patch: 1 };

/** A recorded model config without the retired options it has off, or the first one it has on. */
export function withoutRetiredOptions(model: ModelConfig): { model: ModelConfig } | { retired: string } {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(model)) {
    if (!Object.hasOwn(RETIRED_MODEL_OPTIONS, name)) kept[name] = value;
    else if (value !== RETIRED_MODEL_OPTIONS[name]) return { retired: `${name} ${JSON.stringify(value)}` };
  }
  return { model: kept as unknown as ModelConfig };
}
