import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { mseLoss } from '../../src/ops/mse.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
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

  it('backward scales by the upstream gradient (here 3)', async () => {
    const g = gpu();
    const pred = g.persistent([4], [1, 2, 3, 4]);
    pred.requiresGrad = true;
    const target = g.persistent([4], [0, 0, 0, 0]);
    backward(mseLoss(pred, target), g.persistent([1], [3]));
    expect([...(await pred.grad!.read())]).toEqual([1.5, 3, 4.5, 6]);
    g.endStep();
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
