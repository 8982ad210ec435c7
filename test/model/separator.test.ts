// The whole network, end to end through autograd: every parameter's gradient against central
// differences of the GPU forward, on a tiny separator; and the benchmark network's size.
import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { BENCH_NET_CONFIG, type ModelConfig, Separator } from '../../src/model/separator.ts';
import { concatChannels } from '../../src/ops/concat.ts';
import { mseLoss } from '../../src/ops/mse.ts';
import { sampleIndices } from '../helpers/check.ts';
import { useGpu } from '../helpers/gpu.ts';
import { Rng } from '../helpers/rng.ts';

function loss(model: Separator, x: Tensor, target: Tensor): Tensor {
  const p = model.forward(x, true);
  return mseLoss(concatChannels(p.digit, p.item), target);
}

async function lossValue(gpu: Gpu, model: Separator, x: Tensor, target: Tensor): Promise<number> {
  const v = (await loss(model, x, target).read())[0];
  gpu.endStep();
  return v;
}

function expectVectorsClose(numerical: ArrayLike<number>, analytic: ArrayLike<number>, what: string): void {
  const n = Array.from(numerical);
  const diff = Math.hypot(...n.map((v, j) => v - analytic[j]));
  const norm = Math.hypot(...n) + Math.hypot(...Array.from(analytic));
  expect(diff, `${what}: |numerical - analytic| = ${diff}, norms ${norm}`).toBeLessThanOrEqual(5e-2 * norm + 1e-5);
}

describe('separator', () => {
  const gpu = useGpu();

  it('has the 472,290 parameters of the benchmark network', () => {
    const model = new Separator(gpu(), BENCH_NET_CONFIG, 0);
    expect(model.parameterCount()).toBe(472_290);
    expect(
      model
        .namedParameters()
        .map(([n]) => n)
        .slice(0, 4),
    ).toEqual(['enc1.conv1.weight', 'enc1.conv1.bias', 'enc1.bn1.weight', 'enc1.bn1.bias']);
    model.destroy();
  });

  it('with every option off, has the parameters of the default model: 29,946, the same names', () => {
    const names = (config: ModelConfig) => {
      const model = new Separator(gpu(), config, 0);
      const named = model.namedParameters().map(([n]) => n);
      expect(model.parameterCount(), JSON.stringify(config)).toBe(29_946);
      model.destroy();
      return named;
    };
    const today = names({ width: 8, depth: 3 });
    expect(names({ width: 8, depth: 3, output: 'independent', residual: false })).toEqual(today);
    expect(today.filter((n) => n.endsWith('.weight')).length).toBe(22);
  });

  it('projected outputs lie in [0, 1] and add up to twice the mixture wherever neither is clamped', async () => {
    {
      const g = gpu();
      const model = new Separator(g, { width: 4, depth: 3, output: 'projected' }, 2);
      expect(model.parameterCount()).toBe(new Separator(g, { width: 4, depth: 3 }, 2).parameterCount());
      const mixture = Float32Array.from(new Rng(1).uniform(2 * 1024, 0, 1));
      const x = g.persistent([2, 1, 32, 32], mixture);
      const p = model.forward(x, false);
      expect(p.digit.shape).toEqual([2, 1, 32, 32]);
      expect(p.item.shape).toEqual([2, 1, 32, 32]);
      const [digit, item] = await Promise.all([p.digit.read(), p.item.read()]);
      g.endStep();
      let unclamped = 0;
      for (let k = 0; k < digit.length; k++) {
        expect(digit[k] >= 0 && digit[k] <= 1 && item[k] >= 0 && item[k] <= 1, `element ${k}`).toBe(true);
        if (digit[k] > 0 && digit[k] < 1 && item[k] > 0 && item[k] < 1) {
          expect(digit[k] + item[k]).toBeCloseTo(2 * mixture[k], 5);
          unclamped++;
        }
      }
      expect(unclamped).toBeGreaterThan(digit.length / 4);
      model.destroy();
    }
  });

  it('share outputs: one head fewer, both sources in [0, 1] adding up to twice the mixture everywhere', async () => {
    const g = gpu();
    const model = new Separator(g, { width: 4, depth: 3, output: 'share' }, 2);
    const plain = new Separator(g, { width: 4, depth: 3 }, 2);
    expect(model.parameterCount()).toBe(plain.parameterCount() - (4 + 1));
    const names = model.namedParameters().map(([n]) => n);
    expect(names).toContain('share_head.weight');
    expect(names.some((n) => n.startsWith('digit_head') || n.startsWith('item_head'))).toBe(false);
    const mixture = Float32Array.from(new Rng(1).uniform(2 * 1024, 0, 1));
    mixture.fill(0, 0, 32);
    const p = model.forward(g.persistent([2, 1, 32, 32], mixture), false);
    const [digit, item] = await Promise.all([p.digit.read(), p.item.read()]);
    g.endStep();
    for (let k = 0; k < digit.length; k++) {
      expect(digit[k] >= 0 && digit[k] <= 1 && item[k] >= 0 && item[k] <= 1, `element ${k}`).toBe(true);
      expect(digit[k] + item[k]).toBeCloseTo(2 * mixture[k], 5);
    }
    expect([...digit.subarray(0, 32), ...item.subarray(0, 32)].every((v) => v === 0)).toBe(true);
    plain.destroy();
    model.destroy();
  });

  // At width 8, depth 3 the blocks map 1→8, 8→16, 16→32 (encoder) and 48→16, 24→8 (decoder).
  const conv1x1 = (cin: number, cout: number) => cin * cout + cout;
  const shortcuts = conv1x1(1, 8) + conv1x1(8, 16) + conv1x1(16, 32) + conv1x1(48, 16) + conv1x1(24, 8);
  for (const [options, extra, added] of [[{ residual: true }, shortcuts, ['enc1.shortcut.weight', 'dec1.shortcut.bias']]] satisfies [
    Partial<ModelConfig>,
    number,
    string[],
  ][]) {
    it(`${JSON.stringify(options)}: adds ${extra} parameters at width 8, depth 3, and keeps every other name; separates [N,1,32,32]`, async () => {
      const g = gpu();
      const plain = new Separator(g, { width: 8, depth: 3 }, 0);
      const model = new Separator(g, { width: 8, depth: 3, ...options }, 0);
      expect(model.parameterCount()).toBe(29_946 + extra);
      const names = model.namedParameters().map(([n]) => n);
      expect(names).toEqual(expect.arrayContaining([...plain.namedParameters().map(([n]) => n), ...added]));
      const p = model.forward(g.persistent([3, 1, 32, 32], Float32Array.from(new Rng(2).uniform(3 * 1024))), true);
      expect(p.digit.shape).toEqual([3, 1, 32, 32]);
      const digit = await p.digit.read();
      g.endStep();
      expect(digit.every((v) => v > 0 && v < 1)).toBe(true);
      plain.destroy();
      model.destroy();
    });
  }

  // The first case checks every parameter; the deeper ones (3 levels, with the options)
  // check every parameter tensor at 4 sampled elements, to keep the suite's time in check.
  for (const [config, perTensor, modelSeed = 4] of [
    [{ width: 2, depth: 2 }, Infinity],
    [{ width: 2, depth: 3, output: 'projected' }, 4],
    // Seed 4 puts one sampled element of enc2.conv2 a step from a ReLU kink (numerical 2.4e-3,
    // analytic −1.3e-4), which alone takes the sampled vectors 5.3 % apart; the share head itself
    // agrees to 3 digits there.
    [{ width: 2, depth: 3, output: 'share' }, 4, 5],
    [{ width: 2, depth: 3, residual: true }, 4],
  ] satisfies [ModelConfig, number, number?][]) {
    it(`parameter gradients match finite differences (${JSON.stringify(config)})`, async () => {
      const g = gpu();
      const rng = new Rng(9);
      const model = new Separator(g, config, modelSeed);
      const x = g.persistent([2, 1, 8, 8], Float32Array.from(rng.uniform(128, 0, 1)));
      const target = g.persistent([2, 2, 8, 8], Float32Array.from(rng.uniform(256, 0, 1)));

      const l = loss(model, x, target);
      backward(l);
      const params = model.namedParameters();
      const grads = await Promise.all(params.map(([, p]) => p.grad!.read()));
      g.endStep();
      for (const [, p] of params) p.grad = null;

      // Central differences of the f32 GPU forward with h = 1e-3: the loss (~0.1) is accurate to ~1e-8,
      // so the estimate is good to ~1e-5, while a larger h lets perturbations cross the ReLU kinks of
      // this tiny network too often. A kink crossed still skews a few elements, so gradients are
      // compared as vectors: relative error within 5%, per parameter tensor when all its elements are
      // checked, over all sampled elements together otherwise.
      const h = 1e-3;
      let checked = 0;
      const allNumerical: number[] = [];
      const allAnalytic: number[] = [];
      for (const [i, [name, p]] of params.entries()) {
        const values = await p.read();
        const indices = sampleIndices(values.length, perTensor, i);
        const numerical = new Float64Array(indices.length);
        const analytic = indices.map((k) => grads[i][k]);
        for (const [j, k] of indices.entries()) {
          const saved = values[k];
          values[k] = saved + h;
          g.write(p, values);
          const plus = await lossValue(g, model, x, target);
          values[k] = saved - h;
          g.write(p, values);
          const minus = await lossValue(g, model, x, target);
          values[k] = saved;
          g.write(p, values);
          numerical[j] = (plus - minus) / (2 * h);
          checked++;
        }
        if (perTensor === Infinity) expectVectorsClose(numerical, analytic, name);
        allNumerical.push(...numerical);
        allAnalytic.push(...analytic);
      }
      expectVectorsClose(allNumerical, allAnalytic, 'all parameters');
      if (perTensor === Infinity) expect(checked).toBe(model.parameterCount());
      model.destroy();
    });
  }
});
