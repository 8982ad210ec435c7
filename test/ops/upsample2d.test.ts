import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { upsample2x } from '../../src/ops/upsample2d.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference of ×2 nearest-neighbour upsampling of [N,C,H,W]. */
function upsampleRef([n, c, h, w]: number[]) {
  return ([x]: Float64Array[]) => {
    const y = new Float64Array(n * c * 4 * h * w);
    let i = 0;
    for (let plane = 0; plane < n * c; plane++) {
      const at = (r: number, col: number) => x[(plane * h + r) * w + col];
      for (let oy = 0; oy < 2 * h; oy++) {
        for (let ox = 0; ox < 2 * w; ox++) {
          y[i++] = at(Math.floor(oy / 2), Math.floor(ox / 2));
        }
      }
    }
    return y;
  };
}

describe('upsample2x', () => {
  const gpu = useGpu();
  const rng = new Rng(9);
  // Batch 1, 1×1 and 1-wide planes, odd sizes, planes past one 64-wide
  // workgroup, N past the 16 samples an invocation does, random shapes.
  const shapes = [
    [1, 1, 1, 1],
    [1, 2, 3, 5],
    [2, 3, 9, 11],
    [1, 1, 1, 6],
    [3, 2, 5, 1],
    [17, 2, 2, 3],
    ...Array.from({ length: 2 }, () => [rng.int(1, 3), rng.int(1, 4), rng.int(1, 9), rng.int(1, 9)]),
  ];

  for (const shape of shapes) {
    it(`nearest ${shape.join('×')}`, async () => {
      await checkOp(gpu(), {
        what: `upsample2x ${shape}`,
        inputs: [{ name: 'x', shape, data: rng.uniform(sizeOf(shape)) }],
        reference: upsampleRef(shape),
        run: ([x]) => upsample2x(x),
      });
    });
  }

  it('rejects non-NCHW tensors before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => upsample2x(g.persistent([3, 4, 4]))).toThrow(/upsample2x: x must have rank 4 \(N, C, H, W\), got shape \[3, 4, 4\]/);
    expect(g.dispatchCount).toBe(before);
  });
});
