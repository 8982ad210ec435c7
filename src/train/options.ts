// The options of a training configuration, one row each: what values an option takes, its help line,
// whether it shapes the model or the training, whether a checkpoint fixes it, and the page's label
// for it where the page shows it. The CLI's flags, usage lines and flag errors, the configuration check (checkTrainConfig)
// and the page's form are derived from this table, so adding or removing an option is one row here
// plus the code that uses it. Options of a run that are not part of its configuration (paths, budget,
// logging) are the CLI's own.
import { MODEL_OUTPUTS, type ModelConfig } from '../model/separator.ts';
import type { TrainConfig } from './trainer.ts';

/** What an option's values are: an integer or a number in a range, one of some words, or on/off. */
export type OptionValues =
  | { type: 'integer'; min: number; max: number }
  | { type: 'number'; min: number; max: number; minOpen?: boolean; maxOpen?: boolean }
  | { type: 'choice'; choices: readonly string[] }
  | { type: 'boolean' };

export interface OptionRow {
  /** The CLI flag without its dashes; the page's form field is `field`. */
  flag: string;
  /** Where the value lives in a TrainConfig: a field of its model or of the config itself. */
  kind: 'model' | 'training';
  field: string;
  values: OptionValues;
  /** How an error message names the values it takes: "an integer from 1 to 512". */
  says: string;
  /** The usage line after the flag (the default is appended). */
  help: string;
  /** The value an absent optional field means; absent for fields every config has. */
  absent?: number | string | boolean;
  /** A resumed run keeps the checkpoint's value: the model, its averaging and the data stream. */
  fixedByCheckpoint: boolean;
  /** The label of its field in the page's form (named `field`); absent: the page takes it from the
   * preset or the loaded model. */
  page?: string;
}

export const OPTIONS: readonly OptionRow[] = [
  {
    flag: 'width',
    kind: 'model',
    field: 'width',
    values: { type: 'integer', min: 1, max: 512 },
    says: 'an integer from 1 to 512',
    help: 'channels of the first level, doubled per level',
    fixedByCheckpoint: true,
    page: 'Width',
  },
  {
    flag: 'depth',
    kind: 'model',
    field: 'depth',
    values: { type: 'integer', min: 2, max: 4 },
    says: '2, 3 or 4 (resolution levels of a 32×32 input, pooled at most 3 times)',
    help: 'resolution levels, 2 to 4',
    fixedByCheckpoint: true,
    page: 'Depth',
  },
  {
    flag: 'output',
    kind: 'model',
    field: 'output',
    values: { type: 'choice', choices: MODEL_OUTPUTS },
    says: MODEL_OUTPUTS.join(', '),
    help: "independent | projected (onto digit + item = 2·mixture) | share (both from the digit's share of the mixture)",
    absent: 'independent',
    fixedByCheckpoint: true,
  },
  {
    flag: 'residual',
    kind: 'model',
    field: 'residual',
    values: { type: 'boolean' },
    says: 'true or false',
    help: 'residual connections inside the blocks',
    absent: false,
    fixedByCheckpoint: true,
  },
  {
    flag: 'steps',
    kind: 'training',
    field: 'steps',
    values: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER },
    says: 'a positive integer',
    help: 'training steps',
    fixedByCheckpoint: false,
    page: 'Steps',
  },
  {
    flag: 'batch',
    kind: 'training',
    field: 'batch',
    values: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER },
    says: 'a positive integer',
    help: 'mixtures per step',
    fixedByCheckpoint: true,
    page: 'Batch size',
  },
  {
    flag: 'lr',
    kind: 'training',
    field: 'lr',
    values: { type: 'number', min: 0, max: Number.POSITIVE_INFINITY, minOpen: true, maxOpen: true },
    says: 'a number > 0',
    help: 'peak learning rate, after linear warm-up, cosine-decayed',
    fixedByCheckpoint: false,
    page: 'Learning rate',
  },
  {
    flag: 'warmup',
    kind: 'training',
    field: 'warmupSteps',
    values: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER },
    says: 'an integer >= 0',
    help: 'warm-up steps',
    fixedByCheckpoint: false,
    page: 'Warm-up steps',
  },
  {
    flag: 'cooldown',
    kind: 'training',
    field: 'cooldown',
    values: { type: 'number', min: 0, max: 1, minOpen: true },
    says: 'a share of the steps in (0, 1], e.g. 0.2',
    help: 'share of the steps after warm-up that the decay takes, the rate holding its peak before (1: a cosine over all of them)',
    absent: 1,
    fixedByCheckpoint: false,
  },
  {
    flag: 'weight-decay',
    kind: 'training',
    field: 'weightDecay',
    values: { type: 'number', min: 0, max: Number.POSITIVE_INFINITY, maxOpen: true },
    says: 'a number >= 0',
    help: 'AdamW weight decay',
    fixedByCheckpoint: false,
  },
  {
    flag: 'seed',
    kind: 'training',
    field: 'seed',
    values: { type: 'integer', min: 0, max: 2 ** 32 - 1 },
    says: 'an integer from 0 to 4294967295',
    help: 'seed of the initial weights and of the training mixtures',
    fixedByCheckpoint: true,
    page: 'Seed',
  },
  {
    flag: 'ema',
    kind: 'training',
    field: 'ema',
    values: { type: 'number', min: 0, max: 1, maxOpen: true },
    says: 'a decay in [0, 1), e.g. 0.999',
    help: 'decay of an exponential moving average of the weights, used to evaluate and checkpoint (0: none)',
    absent: 0,
    fixedByCheckpoint: true,
  },
];

/** Whether `value` is one the option takes. */
export function accepts(row: OptionRow, value: unknown): boolean {
  const v = row.values;
  if (v.type === 'boolean') return typeof value === 'boolean';
  if (v.type === 'choice') return typeof value === 'string' && v.choices.includes(value);
  if (typeof value !== 'number' || Number.isNaN(value)) return false;
  if (v.type === 'integer') return Number.isInteger(value) && value >= v.min && value <= v.max;
  if (v.maxOpen && value === Number.POSITIVE_INFINITY) return false;
  return (v.minOpen ? value > v.min : value >= v.min) && (v.maxOpen ? value < v.max : value <= v.max);
}

/** A valued option's value as a command line gives it, as the config holds it; NaN where a number
 * is expected and the text is none. (On/off options are flags without a value.) */
export function fromText(row: OptionRow, text: string): number | string {
  if (row.values.type === 'choice') return text;
  return text.trim() === '' ? Number.NaN : Number(text);
}

const holder = (c: TrainConfig, row: OptionRow): Record<string, unknown> =>
  (row.kind === 'model' ? c.model : c) as unknown as Record<string, unknown>;

/** The option's value in a config (undefined where an optional field is absent). */
export function valueIn(c: TrainConfig, row: OptionRow): unknown {
  return holder(c, row)[row.field];
}

/** A copy of `c` with the options given set; the others keep their values (absent ones stay absent). */
export function withOptions(c: TrainConfig, given: Record<string, number | string | boolean>): TrainConfig {
  const model: Record<string, unknown> = { ...c.model };
  const config: Record<string, unknown> = { ...c };
  for (const row of OPTIONS) {
    if (given[row.flag] === undefined) continue;
    (row.kind === 'model' ? model : config)[row.field] = given[row.flag];
  }
  return { ...(config as unknown as TrainConfig), model: model as unknown as ModelConfig };
}

/** The one check of a training configuration's values: every option in its range. */
export function checkTrainConfig(c: TrainConfig): void {
  for (const row of OPTIONS) {
    const value = valueIn(c, row);
    if (value === undefined && row.absent !== undefined) continue;
    if (!accepts(row, value)) {
      const name = row.kind === 'model' ? `model: ${row.field}` : `train config: ${row.field}`;
      throw new Error(`${name} must be ${row.says}, got ${value}`);
    }
  }
}
