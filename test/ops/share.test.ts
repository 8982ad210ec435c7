import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { relu } from '../../src/ops/activations.ts';
import { add } from '../../src/ops/add.ts';
import { concatChannels } from '../../src/ops/concat.ts';
import { sharesOfMixture } from '../../src/ops/share.ts';
import { useGpu } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference: the source's range for mixture x is [max(0, 2x − 1), min(1, 2x)]; the share
 * σ(z) picks a point in it (the rest, the complementary point). */
const shareRef =
  (side: 'own' | 'rest') =>
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

/** The op's outputs as one tensor for the gradient check: one of them (the other unused, without a
 * gradient) or both joined along the channels. */
type Used = 'own' | 'rest' | 'both';
const outputs = (used: Used) => (t: Tensor[]) => {
  const { own, rest } = sharesOfMixture(t[0], t[1]);
  return used === 'both' ? concatChannels(own, rest) : used === 'own' ? own : rest;
};

/** f64 reference of `outputs(used)`: per sample, the own planes then the rest's where both. */
const outputsRef = (used: Used, shape: number[]) => (v: Float64Array[]) => {
  if (used !== 'both') return shareRef(used)(v);
  const [own, rest] = [shareRef('own')(v), shareRef('rest')(v)];
  const plane = shape[1] * shape[2] * shape[3];
  return Float64Array.from({ length: 2 * own.length }, (_, i) => {
    const [sample, at] = [Math.floor(i / (2 * plane)), i % (2 * plane)];
    return at < plane ? own[sample * plane + at] : rest[sample * plane + at - plane];
  });
};

describe('both sources from their shares of the mixture', () => {
  const gpu = useGpu();
  const rng = new Rng(5);
  const shapes = [
    [1, 1, 1, 1],
    [2, 1, 32, 32],
    [3, 2, 5, 7],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 3), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const shape of shapes) {
    for (const used of ['both', 'own', 'rest'] as const) {
      for (const mixtureGrad of [false, true]) {
        it(`${shape.join('×')}, ${used === 'both' ? 'both outputs' : `${used} alone`}, ${mixtureGrad ? 'with' : 'without'} the mixture's gradient`, async () => {
          const [x, logit] = inputs(rng, sizeOf(shape));
          await checkOp(gpu(), {
            what: `share ${used} ${shape}`,
            inputs: [
              { name: 'mixture', shape, data: x, grad: mixtureGrad },
              { name: 'logit', shape, data: logit },
            ],
            reference: outputsRef(used, shape),
            run: outputs(used),
          });
        });
      }
    }
  }

  // The model's use: the digit and the item from one logit (and one mixture). Backward: concat's
  // split, then one dispatch per input from both outputs' gradients.
  it('gives each input its gradient from both outputs in one dispatch', () => {
    const shape = [2, 1, 5, 7];
    expect(backwardDispatches(gpu(), [shape, shape], [true, true], outputs('both'))).toEqual({ dispatches: 3, gradients: [true, true] });
    expect(backwardDispatches(gpu(), [shape, shape], [false, true], outputs('both'))).toEqual({ dispatches: 2, gradients: [false, true] });
  });

  // autograd's recordPair: the one rule runs once, after every consumer of either output (own has
  // two, one of them reached through a chain), with both outputs' complete gradients.
  it('gives the inputs their gradients through several consumers of both outputs: relu(own) + (rest + own)', async () => {
    const shape = [2, 1, 4, 6];
    const [x, logit] = inputs(rng, sizeOf(shape));
    await checkOp(gpu(), {
      what: 'relu(own) + (rest + own)',
      inputs: [
        // Without the mixture's gradient: its finite differences would cross relu's kink at x = 0.
        { name: 'mixture', shape, data: x, grad: false },
        { name: 'logit', shape, data: logit },
      ],
      reference: (v) => {
        const [own, rest] = [shareRef('own')(v), shareRef('rest')(v)];
        return own.map((o, i) => 2 * o + rest[i]); // own ≥ 0: relu(own) = own
      },
      run: ([xt, zt]) => {
        const { own, rest } = sharesOfMixture(xt, zt);
        return add(relu(own), add(rest, own));
      },
    });
  });

  it('gives two sources in [0, 1] that add up to twice the mixture, exact where the mixture is 0 or 1', async () => {
    const g = gpu();
    const n = 4096;
    const x = rng.uniform(n, 0, 1);
    const logit = rng.uniform(n, -6, 6);
    for (let k = 0; k < 64; k++) [x[k], x[n - 1 - k]] = [0, 1];
    const [xt, st] = [x, logit].map((v) => g.persistent([4, 1, 32, 32], Float32Array.from(v)));
    const { own, rest } = sharesOfMixture(xt, st);
    const [digit, item] = await Promise.all([own.read(), rest.read()]);
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

  for (const used of ['own', 'rest'] as const) {
    it(`computes only the gradients an input needs, from the ${used} output alone`, () => {
      const g = gpu();
      const shape = [2, 1, 4, 4];
      const [x, logit] = inputs(rng, sizeOf(shape)).map((v) => g.persistent(shape, Float32Array.from(v)));
      logit.requiresGrad = true;
      const y = sharesOfMixture(x, logit)[used];
      const before = g.dispatchCount;
      backward(y, g.persistent(shape, new Float32Array(32).fill(1)));
      expect(g.dispatchCount - before).toBe(1);
      expect(logit.grad).not.toBeNull();
      expect(x.grad).toBeNull();
      g.endStep();
    });
  }

  it('rejects a logit whose shape differs from the mixture, and non-NCHW tensors, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => sharesOfMixture(g.persistent([2, 1, 32, 32]), g.persistent([2, 2, 32, 32]))).toThrow(
      /share: mixture \[2, 1, 32, 32\] and logit \[2, 2, 32, 32\] must have the same shape/,
    );
    expect(() => sharesOfMixture(g.persistent([1024]), g.persistent([1024]))).toThrow(
      /share: mixture must have rank 4 \(N, C, H, W\), got shape \[1024\]/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
