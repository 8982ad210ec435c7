import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { type UpsampleMode, upsample2x } from '../../src/ops/upsample2d.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** Source pixels and weights of output o along an axis of n inputs, as PyTorch's CPU kernel
 * (upsample_bilinear2d, align_corners=false, scale 2) computes them. */
function source(o: number, n: number): [number, number, number, number] {
  const src = Math.max((o + 0.5) / 2 - 0.5, 0);
  const i0 = Math.floor(src);
  const i1 = i0 < n - 1 ? i0 + 1 : i0;
  const l1 = src - i0;
  return [i0, i1, 1 - l1, l1];
}

/** f64 reference of ×2 upsampling of [N,C,H,W]. */
function upsampleRef([n, c, h, w]: number[], mode: UpsampleMode) {
  return ([x]: Float64Array[]) => {
    const y = new Float64Array(n * c * 4 * h * w);
    let i = 0;
    for (let plane = 0; plane < n * c; plane++) {
      const at = (r: number, col: number) => x[(plane * h + r) * w + col];
      for (let oy = 0; oy < 2 * h; oy++) {
        for (let ox = 0; ox < 2 * w; ox++) {
          if (mode === 'nearest') {
            y[i++] = at(Math.floor(oy / 2), Math.floor(ox / 2));
          } else {
            const [y0, y1, ly0, ly1] = source(oy, h);
            const [x0, x1, lx0, lx1] = source(ox, w);
            y[i++] = ly0 * (lx0 * at(y0, x0) + lx1 * at(y0, x1)) + ly1 * (lx0 * at(y1, x0) + lx1 * at(y1, x1));
          }
        }
      }
    }
    return y;
  };
}

describe('upsample2x', () => {
  const gpu = useGpu();
  const rng = new Rng(9);
  // Batch 1, 1×1 and 1-wide planes (every output clamps), odd sizes, planes past one 64-wide
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

  for (const mode of ['nearest', 'bilinear'] as const) {
    for (const shape of shapes) {
      it(`${mode} ${shape.join('×')}`, async () => {
        await checkOp(gpu(), {
          what: `upsample2x ${mode} ${shape}`,
          inputs: [{ name: 'x', shape, data: rng.uniform(sizeOf(shape)) }],
          reference: upsampleRef(shape, mode),
          run: ([x]) => upsample2x(x, mode),
        });
      });
    }
  }

  it("bilinear matches PyTorch's F.interpolate(scale_factor=2, mode='bilinear', align_corners=False) on a 2×2 input", async () => {
    const g = gpu();
    const y = await upsample2x(g.persistent([1, 1, 2, 2], [1, 2, 3, 4]), 'bilinear').read();
    g.endStep();
    // prettier-ignore
    expect([...y]).toEqual([1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0]);
  });

  it('rejects non-NCHW tensors and unknown modes before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => upsample2x(g.persistent([3, 4, 4]), 'nearest')).toThrow(
      /upsample2x: x must have rank 4 \(N, C, H, W\), got shape \[3, 4, 4\]/,
    );
    expect(() => upsample2x(g.persistent([1, 3, 4, 4]), 'bicubic' as UpsampleMode)).toThrow(
      /upsample2x: mode 'bicubic' is not one of 'nearest', 'bilinear'/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
