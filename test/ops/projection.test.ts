import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { projectOntoMixture } from '../../src/ops/projection.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

const projectionRef = ([x, own, other]: Float64Array[]) => x.map((v, i) => Math.min(1, Math.max(0, v + 0.5 * (own[i] - other[i]))));

/** A mixture in [0, 1] and two estimates in [−0.5, 1.5], so that both sides of the clamp occur,
 * redrawn where the unclamped value lies within 0.05 of 0 or 1: finite differences (steps up to
 * 1e-2) then never cross a kink. */
function inputs(rng: Rng, n: number): Float64Array[] {
  const [x, own, other] = [rng.uniform(n, 0, 1), rng.uniform(n, -0.5, 1.5), rng.uniform(n, -0.5, 1.5)];
  for (let i = 0; i < n; i++) {
    const nearKink = () => {
      const v = x[i] + 0.5 * (own[i] - other[i]);
      return Math.abs(v) < 0.05 || Math.abs(v - 1) < 0.05;
    };
    while (nearKink()) own[i] = rng.uniform(1, -0.5, 1.5)[0];
  }
  return [x, own, other];
}

describe('projection onto the mixture', () => {
  const gpu = useGpu();
  const rng = new Rng(3);
  const shapes = [
    [1, 1, 1, 1],
    [2, 1, 32, 32],
    [3, 2, 5, 7],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 3), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const shape of shapes) {
    for (const mixtureGrad of [false, true]) {
      it(`${shape.join('×')}, ${mixtureGrad ? 'with' : 'without'} the mixture's gradient`, async () => {
        const [x, own, other] = inputs(rng, sizeOf(shape));
        await checkOp(gpu(), {
          what: `projection ${shape}`,
          inputs: [
            { name: 'mixture', shape, data: x, grad: mixtureGrad },
            { name: 'own', shape, data: own },
            { name: 'other', shape, data: other },
          ],
          reference: projectionRef,
          run: ([xt, a, b]) => projectOntoMixture(xt, a, b),
        });
      });
    }
  }

  it('the two projected estimates add up to twice the mixture where neither is clamped', async () => {
    const g = gpu();
    const n = 4096;
    const x = rng.uniform(n, 0.3, 0.7);
    const [d, i] = [rng.uniform(n, 0.2, 0.8), rng.uniform(n, 0.2, 0.8)];
    const [xt, dt, it_] = [x, d, i].map((v) => g.persistent([4, 1, 32, 32], Float32Array.from(v)));
    const [pd, pi] = await Promise.all([projectOntoMixture(xt, dt, it_).read(), projectOntoMixture(xt, it_, dt).read()]);
    g.endStep();
    for (let k = 0; k < n; k++) expect(pd[k] + pi[k]).toBeCloseTo(2 * x[k], 5);
  });

  it('computes only the gradients an input needs', () => {
    const g = gpu();
    const shape = [2, 1, 4, 4];
    const [x, own, other] = inputs(rng, sizeOf(shape)).map((v) => g.persistent(shape, Float32Array.from(v)));
    own.requiresGrad = true;
    const y = projectOntoMixture(x, own, other);
    const before = g.dispatchCount;
    backward(y, g.persistent(shape, new Float32Array(32).fill(1)));
    expect(g.dispatchCount - before).toBe(1);
    expect(x.grad).toBeNull();
    expect(other.grad).toBeNull();
    g.endStep();
  });

  it('rejects estimates whose shape differs from the mixture, and non-NCHW tensors, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    const x = g.persistent([2, 1, 32, 32]);
    expect(() => projectOntoMixture(x, g.persistent([2, 1, 32, 32]), g.persistent([2, 2, 32, 32]))).toThrow(
      /projection: mixture \[2, 1, 32, 32\] and other estimate \[2, 2, 32, 32\] must have the same shape/,
    );
    expect(() => projectOntoMixture(x, g.persistent([1, 1, 32, 32]), g.persistent([2, 1, 32, 32]))).toThrow(
      /projection: mixture \[2, 1, 32, 32\] and own estimate \[1, 1, 32, 32\] must have the same shape/,
    );
    expect(() => projectOntoMixture(g.persistent([1024]), g.persistent([1024]), g.persistent([1024]))).toThrow(
      /projection: mixture must have rank 4 \(N, C, H, W\), got shape \[1024\]/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
