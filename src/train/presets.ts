// Training presets by name, for `npm run train -- --preset NAME` and the page. Each is a plain object:
// edit its values here (flags given beside a preset override them). With `minutes`, the preset trains
// for that wall-clock budget and its `steps` is only a fallback the budget replaces. Why each value is
// what it is, with the runs that chose it: docs/QUALITY.md, "Why the presets are what they are".
import { BASE_TRAIN_CONFIG, type TrainConfig } from './trainer.ts';

export interface Preset {
  description: string;
  config: TrainConfig;
  /** Training-time budget; absent: train for config.steps. */
  minutes?: number;
}

export const PRESETS = {
  default: {
    description: "the README's short run",
    config: {
      ...BASE_TRAIN_CONFIG,
      model: { ...BASE_TRAIN_CONFIG.model, output: 'share' },
      steps: 3000,
      batch: 32,
      lr: 2e-2,
      cooldown: 0.2,
    },
    minutes: 7.5,
  },
  hour: {
    description: 'a one-hour run on a CPU adapter',
    config: {
      ...BASE_TRAIN_CONFIG,
      model: { ...BASE_TRAIN_CONFIG.model, width: 16, output: 'projected', residual: true },
      batch: 32,
      lr: 1e-2,
      warmupSteps: 200,
    },
    minutes: 60,
  },
  gpu: {
    description: 'an hour on a real GPU (not yet measured)',
    config: {
      ...BASE_TRAIN_CONFIG,
      model: { ...BASE_TRAIN_CONFIG.model, width: 32, depth: 4, output: 'projected', residual: true },
      batch: 64,
      lr: 2e-3,
      warmupSteps: 500,
      ema: 0.999,
    },
    minutes: 60,
  },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}

/** Software rasterizers that WebGPU falls back to on machines without a GPU driver. */
const CPU_ADAPTERS = /llvmpipe|lavapipe|swiftshader|basic render|warp/i;

export function isCpuAdapter(description: string): boolean {
  return CPU_ADAPTERS.test(description);
}

/** The preset that suits an adapter: the GPU preset on a real GPU, the short default on a CPU or
 * where the browser keeps the adapter's name to itself (privacy). */
export function presetForAdapter(description: string): PresetName {
  return description.trim() === '' || isCpuAdapter(description) ? 'default' : 'gpu';
}
