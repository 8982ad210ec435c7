import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { add } from '../../src/ops/add.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

describe('add', () => {
  const gpu = useGpu();
  const rng = new Rng(7);
  for (const shape of [
    [1, 1, 1, 1],
    [2, 3, 5, 7],
    [4, 16, 9, 9],
  ]) {
    it(`forward and both gradients, ${shape.join('×')}`, async () => {
      const n = sizeOf(shape);
      await checkOp(gpu(), {
        what: `add ${shape}`,
        inputs: [
          { name: 'a', shape, data: rng.uniform(n) },
          { name: 'b', shape, data: rng.uniform(n) },
        ],
        reference: ([a, b]) => a.map((v, i) => v + b[i]),
        run: ([a, b]) => add(a, b),
      });
    });
  }

  it('sums gradients that reach a tensor along two paths (x + x)', async () => {
    const shape = [1, 2, 3, 3];
    await checkOp(gpu(), {
      what: 'x + x',
      inputs: [{ name: 'x', shape, data: rng.uniform(18) }],
      reference: ([v]) => v.map((e) => 2 * e),
      run: ([t]) => add(t, t),
    });
  });

  it('rejects mismatched shapes before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    const a = g.persistent([1, 2, 3, 3]);
    const b = g.persistent([1, 2, 3, 4]);
    expect(() => add(a, b)).toThrow(/add: a \[1, 2, 3, 3\] and b \[1, 2, 3, 4\] must have the same shape/);
    expect(g.dispatchCount).toBe(before);
  });

  it('rejects zero-sized dimensions', () => {
    expect(() => gpu().persistent([1, 0, 3, 3])).toThrow(/shape \[1,0,3,3\] must be a non-empty list of positive integers/);
  });
});
