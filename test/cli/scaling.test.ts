// The scaling fit that prices the quality targets in docs/QUALITY.md (scripts/quality-report.ts).
import { describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../src/cli/ledger.ts';
import { fitPowerLaw, inverse, predict, scalingFamilies, speedKey } from '../../src/cli/scaling.ts';
import { BASE_TRAIN_CONFIG } from '../../src/train/trainer.ts';

describe('power-law scaling fit', () => {
  it('recovers a and b from points on a power law, and inverse() undoes predict()', () => {
    const law = { a: 0.05, b: 0.21 };
    const points = [64e3, 96e3, 104e3, 324e3].map((x) => ({ x, y: predict(law, x) }));
    const fit = fitPowerLaw(points);
    expect(fit.a).toBeCloseTo(law.a, 10);
    expect(fit.b).toBeCloseTo(law.b, 12);
    expect(inverse(fit, predict(law, 1.5e6))).toBeCloseTo(1.5e6, 3);
  });

  it('is the least-squares line in log–log: symmetric scatter about a law leaves its exponent', () => {
    const law = { a: 2, b: 0.5 };
    const points = [1e3, 1e4, 1e5].flatMap((x) => [1.1, 1 / 1.1].map((f) => ({ x, y: f * predict(law, x) })));
    expect(fitPowerLaw(points).b).toBeCloseTo(0.5, 12);
  });

  it('never reaches a lower value on a flat or rising law', () => {
    expect(inverse({ a: 1e-3, b: 0 }, 5e-4)).toBe(Number.POSITIVE_INFINITY);
    expect(inverse({ a: 1e-3, b: -0.1 }, 5e-4)).toBe(Number.POSITIVE_INFINITY);
  });

  it('refuses what it cannot fit, naming why', () => {
    expect(() =>
      fitPowerLaw([
        { x: 64e3, y: 1.5e-3 },
        { x: 64e3, y: 1.6e-3 },
      ]),
    ).toThrow(/2 or more distinct x, got 1/);
    expect(() =>
      fitPowerLaw([
        { x: 64e3, y: 0 },
        { x: 96e3, y: 1e-3 },
      ]),
    ).toThrow(/positive and finite, got \(64000, 0\)/);
  });
});

describe('scaling families from the ledger', () => {
  const law = { a: 0.05, b: 0.2 };
  /** A finished run of `steps` at batch 32; `cut`: stopped by its budget before its schedule ended. */
  const run = (steps: number, over: Partial<LedgerRecord['config']> = {}, seed = 1, cut = false): LedgerRecord =>
    ({
      config: { ...BASE_TRAIN_CONFIG, batch: 32, steps, seed, ...over },
      budget_minutes: null,
      steps_reached: cut ? steps - 1 : steps,
      samples_seen: 32 * steps,
      eval: { mse_mean: predict(law, 32 * steps) },
    }) as LedgerRecord;

  it('groups a recipe across seeds and lengths, leaves out runs cut short and recipes of one length', () => {
    const families = scalingFamilies([
      run(2000),
      run(2000, {}, 2),
      run(4000),
      run(3000, {}, 1, true), // cut by its budget: not a point of its curve
      run(2000, { lr: 0.5 }), // another recipe, one length only
      { ...run(8000), eval: null }, // not evaluated
    ]);
    expect(families).toHaveLength(1);
    expect(families[0].runs.map((r) => r.config.steps)).toEqual([2000, 2000, 4000]);
    expect(families[0].law.b).toBeCloseTo(law.b, 10);
  });

  it('keys speed by network and batch, not by the recipe', () => {
    expect(speedKey(run(2000))).toBe(speedKey(run(4000, { lr: 0.5 }, 3)));
    expect(speedKey(run(2000))).not.toBe(speedKey(run(2000, { batch: 64 })));
    expect(speedKey(run(2000))).not.toBe(speedKey(run(2000, { model: { ...BASE_TRAIN_CONFIG.model, width: 16 } })));
  });
});
