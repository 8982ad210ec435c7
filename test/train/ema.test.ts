import { describe, expect, it } from 'vitest';
import { Ema, emaDecay } from '../../src/train/ema.ts';
import { expectClose } from '../helpers/check.ts';
import { useGpu } from '../helpers/gpu.ts';
import { Rng } from '../helpers/rng.ts';

describe('ema', () => {
  const gpu = useGpu();
  const rng = new Rng(4);

  it('the decay warms up as (1 + t) / (10 + t) to its ceiling', () => {
    expect(emaDecay(0.999, 1)).toBeCloseTo(2 / 11, 12);
    expect(emaDecay(0.999, 100)).toBeCloseTo(101 / 110, 12);
    expect(emaDecay(0.9, 100)).toBe(0.9);
  });

  it('matches an f64 reference over updates of changing weights, several tensors and sizes', async () => {
    const g = gpu();
    // Sizes: one element, odd, past one 256-wide workgroup.
    const sizes = [1, 37, 1000];
    const values = sizes.map((n) => rng.uniform(n, -1, 1));
    const tensors = sizes.map((n, i) => g.persistent([n], Float32Array.from(values[i])));
    const ema = new Ema(g, tensors, 0.9);
    const reference = values.map((v) => Float64Array.from(v));
    for (let t = 1; t <= 30; t++) {
      // New weights each step, as training would leave them.
      values.forEach((v, i) => {
        for (let k = 0; k < v.length; k++) v[k] += rng.uniform(1, -0.1, 0.1)[0];
        g.write(tensors[i], Float32Array.from(v));
      });
      ema.update();
      const d = emaDecay(0.9, t);
      reference.forEach((r, i) => {
        for (let k = 0; k < r.length; k++) r[k] = d * r[k] + (1 - d) * values[i][k];
      });
    }
    expect(ema.updateCount).toBe(30);
    const averages = await Promise.all(ema.averages.map((a) => a.read()));
    averages.forEach((a, i) => expectClose(a, reference[i], { atol: 1e-6, rtol: 1e-5 }, `average ${i}`));
    ema.destroy();
  });

  it('withAverages runs with the averages in place of the weights, and restores both', async () => {
    const g = gpu();
    const live = Float32Array.from(rng.uniform(300));
    const w = g.persistent([300], live);
    const ema = new Ema(g, [w], 0.5);
    g.write(
      w,
      live.map((v) => v + 1),
    );
    ema.update();
    const average = await ema.averages[0].read();
    const seen = await ema.withAverages(() => w.read());
    expect(seen).toEqual(average);
    expect(await w.read()).toEqual(live.map((v) => v + 1));
    expect(await ema.averages[0].read()).toEqual(average);
    // Decay 2/11 at t = 1: the average moved from live by 9/11 of the change.
    expectClose(
      average,
      Array.from(live, (v) => v + 9 / 11),
      { atol: 1e-6, rtol: 1e-6 },
      'first update',
    );
    ema.destroy();
  });

  it('rejects a decay outside [0, 1)', () => {
    expect(() => new Ema(gpu(), [], 1)).toThrow(/Ema: decay must be in \[0, 1\), got 1/);
  });
});
