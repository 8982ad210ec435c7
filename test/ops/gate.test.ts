import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { gate } from '../../src/ops/gate.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference: each channel of x times the gate at the same sample and position. */
function gateRef(c: number, hw: number) {
  return ([x, g]: Float64Array[]) => x.map((v, i) => v * g[Math.floor(i / (c * hw)) * hw + (i % hw)]);
}

describe('gate (multiply broadcast over channels)', () => {
  const gpu = useGpu();
  const rng = new Rng(8);
  // [N, C, H, W]: single elements, one channel, odd sizes, past one 256-wide workgroup, random.
  const shapes = [
    [1, 1, 1, 1],
    [1, 1, 5, 7],
    [2, 3, 9, 11],
    [3, 16, 8, 8],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 8), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const [n, c, h, w] of shapes) {
    it(`[${n},${c},${h},${w}] · [${n},1,${h},${w}]`, async () => {
      const xShape = [n, c, h, w];
      const gShape = [n, 1, h, w];
      await checkOp(gpu(), {
        what: `gate ${xShape}`,
        inputs: [
          { name: 'x', shape: xShape, data: rng.uniform(sizeOf(xShape), -1, 1) },
          { name: 'gate', shape: gShape, data: rng.uniform(sizeOf(gShape), 0, 1) },
        ],
        reference: gateRef(c, h * w),
        run: ([x, g]) => gate(x, g),
      });
    });
  }

  it('computes only the gradients an input needs', () => {
    const g = gpu();
    const x = g.persistent([2, 3, 4, 4], Float32Array.from(rng.uniform(96)));
    const gt = g.persistent([2, 1, 4, 4], Float32Array.from(rng.uniform(32)));
    for (const needs of [x, gt]) {
      x.requiresGrad = needs === x;
      gt.requiresGrad = needs === gt;
      const y = gate(x, gt);
      const before = g.dispatchCount;
      backward(y, g.persistent(y.shape, new Float32Array(96).fill(1)));
      expect(g.dispatchCount - before).toBe(1);
      expect(needs.grad?.shape).toEqual(needs.shape);
      expect((needs === x ? gt : x).grad).toBeNull();
      needs.grad = null;
      g.endStep();
    }
  });

  it('rejects a gate that is not [N,1,H,W] of x, and non-NCHW tensors, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    const x = g.persistent([2, 3, 4, 4]);
    expect(() => gate(x, g.persistent([2, 3, 4, 4]))).toThrow(
      /gate: gate must have shape \[2, 1, 4, 4\] \(one channel, broadcast over the 3 of x \[2, 3, 4, 4\]\), got \[2, 3, 4, 4\]/,
    );
    expect(() => gate(x, g.persistent([1, 1, 4, 4]))).toThrow(/gate: gate must have shape \[2, 1, 4, 4\].*got \[1, 1, 4, 4\]/);
    expect(() => gate(x, g.persistent([2, 1, 4, 5]))).toThrow(/gate: gate must have shape \[2, 1, 4, 4\].*got \[2, 1, 4, 5\]/);
    expect(() => gate(x, g.persistent([16]))).toThrow(/gate: gate must have rank 4 \(N, C, H, W\), got shape \[16\]/);
    expect(g.dispatchCount).toBe(before);
  });
});
