// The scaling fit that prices the quality targets in docs/QUALITY.md (scripts/quality-report.ts).
import { describe, expect, it } from 'vitest';
import { fitPowerLaw, inverse, predict } from '../../src/cli/scaling.ts';

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
