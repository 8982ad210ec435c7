// Presets: each a valid training config; the page's choice by adapter.
import { describe, expect, it } from 'vitest';
import { checkTrainConfig } from '../../src/train/options.ts';
import { PRESET_NAMES, PRESETS, presetForAdapter } from '../../src/train/presets.ts';
import { MIN_BUDGET_WARMUP } from '../../src/train/session.ts';
import type { BASE_TRAIN_CONFIG } from '../../src/train/trainer.ts';

describe('presets', () => {
  it('are valid configs; budget presets have a warm-up the session can time; default takes both sources from the share of the digit', () => {
    expect(PRESET_NAMES).toEqual(['default', 'hour', 'gpu']);
    for (const name of PRESET_NAMES) {
      const preset: { config: typeof BASE_TRAIN_CONFIG; minutes?: number } = PRESETS[name];
      expect(() => checkTrainConfig(preset.config), name).not.toThrow();
      if (preset.minutes !== undefined) expect(preset.config.warmupSteps, name).toBeGreaterThanOrEqual(MIN_BUDGET_WARMUP);
    }
    expect(PRESETS.default.config.model.output).toBe('share');
    expect(PRESETS.hour.minutes).toBe(60);
  });

  it('the page picks the short default on a CPU adapter and the GPU preset on a real GPU', () => {
    expect(presetForAdapter('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)')).toBe('default');
    expect(presetForAdapter('Google SwiftShader')).toBe('default');
    expect(presetForAdapter('Microsoft Basic Render Driver')).toBe('default');
    expect(presetForAdapter('')).toBe('default'); // unknown: the short run
    expect(presetForAdapter('NVIDIA GeForce RTX 4090')).toBe('gpu');
    expect(presetForAdapter('Apple M2, metal-3')).toBe('gpu');
  });
});
