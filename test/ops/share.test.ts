import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { concatChannels } from '../../src/ops/concat.ts';
import { type ShareSide, shareOfMixture } from '../../src/ops/share.ts';
import { useGpu } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference: the source's range for mixture x is [max(0, 2x − 1), min(1, 2x)]; the share
 * σ(z) picks a point in it (the rest, the complementary point). */
const shareRef =
  (side: ShareSide) =>
  ([x, logit]: Float64Array[]) =>
    x.map((v, i) => {
      const [lo, hi] = [Math.max(0, 2 * v - 1), Math.min(1, 2 * v)];
      const share = 1 / (1 + Math.exp(-logit[i]));
      const s = side === 'own' ? share : 1 - share;
      return lo + s * (hi - lo);
    });

/** A mixture in [0, 1] kept 0.05 away from its kink at 1/2 (finite differences with steps up to
 * 1e-2 then never cross it), and logits in [−4, 4]. */
function inputs(rng: Rng, n: number): Float64Array[] {
  const x = rng.uniform(n, 0, 1);
  for (let i = 0; i < n; i++) while (Math.abs(x[i] - 0.5) < 0.05) x[i] = rng.uniform(1, 0, 1)[0];
  return [x, rng.uniform(n, -4, 4)];
}

describe('a source from its share of the mixture', () => {
  const gpu = useGpu();
  const rng = new Rng(5);
  const shapes = [
    [1, 1, 1, 1],
    [2, 1, 32, 32],
    [3, 2, 5, 7],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 3), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const shape of shapes) {
    for (const side of ['own', 'rest'] as const) {
      for (const mixtureGrad of [false, true]) {
        it(`${shape.join('×')}, ${side}, ${mixtureGrad ? 'with' : 'without'} the mixture's gradient`, async () => {
          const [x, logit] = inputs(rng, sizeOf(shape));
          await checkOp(gpu(), {
            what: `share ${side} ${shape}`,
            inputs: [
              { name: 'mixture', shape, data: x, grad: mixtureGrad },
              { name: 'logit', shape, data: logit },
            ],
            reference: shareRef(side),
            run: ([xt, s]) => shareOfMixture(xt, s, side),
          });
        });
      }
    }
  }

  // The model's use: the digit and the item from one logit (and one mixture), joined here so that
  // one output carries both; the second side's backward adds the first's gradient in its own
  // dispatch (no sum): concat's split, then two dispatches per input.
  for (const shape of [
    [2, 1, 5, 7],
    [1, 2, 8, 8],
  ]) {
    it(`${shape.join('×')}: both sides from one logit and mixture, gradients summed by the second side's dispatches`, async () => {
      const [x, logit] = inputs(rng, sizeOf(shape));
      const both = (t: Tensor[]) => concatChannels(shareOfMixture(t[0], t[1], 'own'), shareOfMixture(t[0], t[1], 'rest'));
      const plane = (shape[1] * shape[2] * shape[3]) as number;
      await checkOp(gpu(), {
        what: `share both sides ${shape}`,
        inputs: [
          { name: 'mixture', shape, data: x },
          { name: 'logit', shape, data: logit },
        ],
        reference: (v) => {
          const [own, rest] = [shareRef('own')(v), shareRef('rest')(v)];
          return Float64Array.from({ length: 2 * own.length }, (_, i) => {
            const [sample, at] = [Math.floor(i / (2 * plane)), i % (2 * plane)];
            return at < plane ? own[sample * plane + at] : rest[sample * plane + at - plane];
          });
        },
        run: both,
      });
      expect(backwardDispatches(gpu(), [shape, shape], [true, true], both)).toEqual({ dispatches: 5, gradients: [true, true] });
    });
  }

  it('gives two sources in [0, 1] that add up to twice the mixture, exact where the mixture is 0 or 1', async () => {
    const g = gpu();
    const n = 4096;
    const x = rng.uniform(n, 0, 1);
    const logit = rng.uniform(n, -6, 6);
    for (let k = 0; k < 64; k++) [x[k], x[n - 1 - k]] = [0, 1];
    const [xt, st] = [x, logit].map((v) => g.persistent([4, 1, 32, 32], Float32Array.from(v)));
    const [digit, item] = await Promise.all([shareOfMixture(xt, st, 'own').read(), shareOfMixture(xt, st, 'rest').read()]);
    g.endStep();
    for (let k = 0; k < n; k++) {
      expect(digit[k] + item[k]).toBeCloseTo(2 * x[k], 5);
      for (const v of [digit[k], item[k]]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    for (let k = 0; k < 64; k++) expect([digit[k], item[k], digit[n - 1 - k], item[n - 1 - k]]).toEqual([0, 0, 1, 1]);
  });

  it('computes only the gradients an input needs', () => {
    const g = gpu();
    const shape = [2, 1, 4, 4];
    const [x, logit] = inputs(rng, sizeOf(shape)).map((v) => g.persistent(shape, Float32Array.from(v)));
    logit.requiresGrad = true;
    const y = shareOfMixture(x, logit, 'own');
    const before = g.dispatchCount;
    backward(y, g.persistent(shape, new Float32Array(32).fill(1)));
    expect(g.dispatchCount - before).toBe(1);
    expect(x.grad).toBeNull();
    g.endStep();
  });

  it('rejects a logit whose shape differs from the mixture, and non-NCHW tensors, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => shareOfMixture(g.persistent([2, 1, 32, 32]), g.persistent([2, 2, 32, 32]), 'own')).toThrow(
      /share: mixture \[2, 1, 32, 32\] and logit \[2, 2, 32, 32\] must have the same shape/,
    );
    expect(() => shareOfMixture(g.persistent([1024]), g.persistent([1024]), 'rest')).toThrow(
      /share: mixture must have rank 4 \(N, C, H, W\), got shape \[1024\]/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
