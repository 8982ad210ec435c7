import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { mseLoss, mseLossOfPairs, ONE_GROUP_MAX } from '../../src/ops/mse.ts';
import { useGpu } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

const mseRef = ([pred, target]: Float64Array[]) => {
  let s = 0;
  for (let i = 0; i < pred.length; i++) s += (pred[i] - target[i]) ** 2;
  return Float64Array.of(s / pred.length);
};

describe('mse loss', () => {
  const gpu = useGpu();
  const rng = new Rng(11);
  // Batch 1, one element, odd sizes, sizes that need 2 and 3 reduction passes, random shapes.
  const shapes = [
    [1, 1, 1, 1],
    [1, 1, 5, 7],
    [2, 3, 9, 11],
    [3, 1, 17, 13],
    [1, 1, 65, 64],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 4), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const shape of shapes) {
    const n = sizeOf(shape);
    it(`forward and gradients to pred and target, ${shape.join('×')}`, async () => {
      await checkOp(gpu(), {
        what: `mse ${shape}`,
        inputs: [
          { name: 'pred', shape, data: rng.uniform(n) },
          { name: 'target', shape, data: rng.uniform(n) },
        ],
        reference: mseRef,
        run: ([pred, target]) => mseLoss(pred, target),
      });
    });
  }

  it('a target that needs no gradient gets none; pred gets dloss · 2 (pred - target) / n', async () => {
    const shape = [2, 1, 6, 5];
    await checkOp(gpu(), {
      what: 'mse, constant target',
      inputs: [
        { name: 'pred', shape, data: rng.uniform(60) },
        { name: 'target', shape, data: rng.uniform(60), grad: false },
      ],
      reference: mseRef,
      run: ([pred, target]) => mseLoss(pred, target),
    });
  });

  // The loss sums up to 256·32·32 squares in f32. Three passes of 64-value sums bound the relative
  // error by ~3·64 ulps (1.1e-5); measured 1e-8..2e-7 here, where a serial f32 sum is off by ~8e-5.
  it('is accurate in f32 on a full batch of 256×1×32×32 (rtol 2e-6 vs f64)', async () => {
    const shape = [256, 1, 32, 32];
    const n = sizeOf(shape);
    const pred = rng.uniform(n, 0, 1);
    const target = rng.uniform(n, 0, 1);
    const g = gpu();
    const loss = mseLoss(g.persistent(shape, Float32Array.from(pred)), g.persistent(shape, Float32Array.from(target)));
    expect(loss.shape).toEqual([1]);
    const [actual] = await loss.read();
    g.endStep();
    const expected = mseRef([Float64Array.from(Float32Array.from(pred)), Float64Array.from(Float32Array.from(target))])[0];
    expect(Math.abs(actual - expected) / expected).toBeLessThan(2e-6);
  });

  // Up to ONE_GROUP_MAX values one workgroup sums them in one dispatch (the training step's loss);
  // beyond, the passes (the evaluation's big batches). Both ways match f64, alone and in pairs.
  for (const [n, dispatches] of [
    [ONE_GROUP_MAX, 1],
    [ONE_GROUP_MAX + 1, 3],
  ]) {
    it(`sums ${n} values in ${dispatches} dispatch${dispatches > 1 ? 'es' : ''}, accurate in f32 (rtol 2e-6 vs f64)`, async () => {
      const g = gpu();
      const [pred, target] = [rng.uniform(n, 0, 1), rng.uniform(n, 0, 1)].map((v) => Float32Array.from(v));
      const expected = mseRef([Float64Array.from(pred), Float64Array.from(target)])[0];
      const [p, t] = [pred, target].map((v) => g.persistent([n], v));
      const half = Math.floor(n / 2);
      const [pa, ta, pb, tb] = [pred, target, pred, target].map((v, i) =>
        g.persistent([i < 2 ? half : n - half], i < 2 ? v.subarray(0, half) : v.subarray(half)),
      );
      const before = g.dispatchCount;
      const loss = mseLoss(p, t);
      expect(g.dispatchCount - before).toBe(dispatches);
      const pairs = mseLossOfPairs([pa, ta], [pb, tb]);
      expect(g.dispatchCount - before).toBe(2 * dispatches);
      for (const [actual] of await Promise.all([loss.read(), pairs.read()]))
        expect(Math.abs(actual - expected) / expected).toBeLessThan(2e-6);
      g.endStep();
      for (const x of [p, t, pa, ta, pb, tb]) x.destroy();
    });
  }

  it('backward scales by the upstream gradient (here 3)', async () => {
    const g = gpu();
    const pred = g.persistent([4], [1, 2, 3, 4]);
    pred.requiresGrad = true;
    const target = g.persistent([4], [0, 0, 0, 0]);
    backward(mseLoss(pred, target), g.persistent([1], [3]));
    expect([...(await pred.grad!.read())]).toEqual([1.5, 3, 4.5, 6]);
    g.endStep();
  });

  // Two pairs as one loss: the mean over all their values, as mseLoss of their concatenations.
  for (const [shapeA, shapeB] of [
    [
      [2, 1, 6, 5],
      [2, 1, 6, 5],
    ],
    [
      [1, 1, 1, 1],
      [3, 2, 5, 7],
    ],
    [
      [4, 1, 32, 32],
      [4, 1, 32, 32],
    ],
  ]) {
    it(`of two pairs ${shapeA.join('×')} and ${shapeB.join('×')}: forward and gradients to both preds`, async () => {
      const [na, nb] = [sizeOf(shapeA), sizeOf(shapeB)];
      await checkOp(gpu(), {
        what: `mse of pairs ${shapeA}, ${shapeB}`,
        inputs: [
          { name: 'pred a', shape: shapeA, data: rng.uniform(na) },
          { name: 'target a', shape: shapeA, data: rng.uniform(na), grad: false },
          { name: 'pred b', shape: shapeB, data: rng.uniform(nb) },
          { name: 'target b', shape: shapeB, data: rng.uniform(nb), grad: false },
        ],
        reference: ([pa, ta, pb, tb]) => mseRef([Float64Array.of(...pa, ...pb), Float64Array.of(...ta, ...tb)]),
        run: ([pa, ta, pb, tb]) => mseLossOfPairs([pa, ta], [pb, tb]),
      });
    });
  }

  it('of two pairs: one dispatch back, where concatenating took three', () => {
    const g = gpu();
    const shape = [2, 1, 8, 8];
    const { dispatches, gradients } = backwardDispatches(g, [shape, shape, shape, shape], [true, false, true, false], ([pa, ta, pb, tb]) =>
      mseLossOfPairs([pa, ta], [pb, tb]),
    );
    expect({ dispatches, gradients }).toEqual({ dispatches: 1, gradients: [true, false, true, false] });
  });

  it('of two pairs: rejects a target that needs a gradient, and mismatched shapes, before dispatching', () => {
    const g = gpu();
    const [p, t, q] = [g.persistent([1, 1, 4, 4]), g.persistent([1, 1, 4, 4]), g.persistent([1, 1, 4, 4])];
    q.requiresGrad = true;
    const before = g.dispatchCount;
    expect(() => mseLossOfPairs([p, t], [p, q])).toThrow(
      /mse of two pairs: the second target .* needs a gradient, which this op does not give/,
    );
    expect(() => mseLossOfPairs([p, g.persistent([1, 2, 4, 4])], [p, t])).toThrow(
      /mse of two pairs: first pred \[1, 1, 4, 4\] and first target \[1, 2, 4, 4\] must have the same shape/,
    );
    expect(g.dispatchCount).toBe(before);
  });

  it('rejects mismatched shapes before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => mseLoss(g.persistent([2, 1, 4, 4]), g.persistent([2, 2, 4, 4]))).toThrow(
      /mse: pred \[2, 1, 4, 4\] and target \[2, 2, 4, 4\] must have the same shape/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
