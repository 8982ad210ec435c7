// The options table: every row names a field the presets' configs hold (or an optional one with its
// meaning when absent), and the one check of a configuration reads its ranges.
import { describe, expect, it } from 'vitest';
import { accepts, checkTrainConfig, fromText, OPTIONS, valueIn, withOptions } from '../../src/train/options.ts';
import { PRESET_NAMES, PRESETS } from '../../src/train/presets.ts';

const row = (flag: string) => OPTIONS.find((r) => r.flag === flag)!;

describe('options', () => {
  it('has one row per flag, each a field of every preset or optional with its absent value', () => {
    expect(new Set(OPTIONS.map((r) => r.flag)).size).toBe(OPTIONS.length);
    for (const name of PRESET_NAMES) {
      for (const r of OPTIONS) {
        const value = valueIn(PRESETS[name].config, r);
        if (value === undefined) expect(r.absent, `${name} lacks ${r.flag}`).toBeDefined();
        else expect(accepts(r, value), `${name}: ${r.flag} ${value}`).toBe(true);
      }
    }
  });

  it('checks ranges at their edges, open or closed', () => {
    expect(accepts(row('lr'), 1e-9)).toBe(true);
    expect([0, -1, Number.POSITIVE_INFINITY, Number.NaN].some((v) => accepts(row('lr'), v))).toBe(false);
    expect(accepts(row('cooldown'), 1)).toBe(true);
    expect(accepts(row('cooldown'), 0)).toBe(false);
    expect(accepts(row('ema'), 0)).toBe(true);
    expect(accepts(row('ema'), 1)).toBe(false);
    expect(accepts(row('depth'), 4)).toBe(true);
    expect(accepts(row('depth'), 5)).toBe(false);
    expect(accepts(row('width'), 2.5)).toBe(false);
    expect(accepts(row('output'), 'share')).toBe(true);
    expect(accepts(row('output'), 'both')).toBe(false);
    expect(fromText(row('steps'), ' ')).toBeNaN();
  });

  it('sets the options given, in the model or the config, and the one check names the field and what it takes', () => {
    const base = PRESETS.default.config;
    const c = withOptions(base, { width: 16, residual: true, lr: 0.01, ema: 0.99 });
    expect(c.model).toEqual({ ...base.model, width: 16, residual: true });
    expect([c.lr, c.ema, c.steps]).toEqual([0.01, 0.99, base.steps]);
    expect(base.model.width).toBe(8);
    expect(() => checkTrainConfig(withOptions(base, { depth: 5 }))).toThrow(/model: depth must be 2, 3 or 4 .*, got 5/);
    expect(() => checkTrainConfig(withOptions(base, { lr: 0 }))).toThrow(/train config: lr must be a number > 0, got 0/);
  });
});
