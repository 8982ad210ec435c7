import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { type PaddedLayout, paddedCopy } from '../../src/autograd/padded-copies.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { concatChannels } from '../../src/ops/concat.ts';
import { maxPool2d } from '../../src/ops/maxpool2d.ts';
import { upsample2x } from '../../src/ops/upsample2d.ts';
import { useGpu } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference: the maximum of each 2×2 window. */
function maxPoolRef([n, c, h, w]: number[]) {
  return ([x]: Float64Array[]) => {
    const ho = h / 2;
    const wo = w / 2;
    const y = new Float64Array(n * c * ho * wo);
    for (let plane = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const at = (dy: number, dx: number) => x[plane * h * w + (2 * oy + dy) * w + 2 * ox + dx];
          y[(plane * ho + oy) * wo + ox] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
        }
      }
    }
    return y;
  };
}

/** Distinct values 0.05 apart in random order: no ties, and finite differences (h ≤ 1e-2) never
 * change which element of a window is the maximum. */
function distinct(rng: Rng, count: number): Float64Array {
  const v = Float64Array.from({ length: count }, (_, i) => (i - count / 2) * 0.05);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

describe('maxpool2d (2×2, stride 2)', () => {
  const gpu = useGpu();
  const rng = new Rng(3);
  // Batch 1, a single window, odd output sizes, planes of more than 64 outputs (one workgroup),
  // N past the 16 samples an invocation pools, random shapes.
  const shapes = [
    [1, 1, 2, 2],
    [1, 3, 6, 10],
    [2, 4, 18, 18],
    [3, 2, 18, 6],
    [17, 2, 4, 6],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 6), 2 * rng.int(1, 7), 2 * rng.int(1, 7)]),
  ];

  for (const shape of shapes) {
    it(`${shape.join('×')}`, async () => {
      await checkOp(gpu(), {
        what: `maxpool2d ${shape}`,
        inputs: [{ name: 'x', shape, data: distinct(rng, sizeOf(shape)) }],
        reference: maxPoolRef(shape),
        run: ([x]) => maxPool2d(x),
      });
    });
  }

  // An encoder's output feeds both the pool and a skip connection: the pool's backward adds the
  // skip's gradient (here an identity's, through concat) in its own dispatch, with no sum.
  for (const shape of [
    [2, 3, 6, 10],
    [17, 2, 4, 6],
  ]) {
    it(`${shape.join('×')}: a second consumer's gradient added by the pool's backward dispatch`, async () => {
      const [n, c, h, w] = shape;
      const both = ([x]: Tensor[]) => concatChannels(upsample2x(maxPool2d(x)), x);
      await checkOp(gpu(), {
        what: `maxpool2d beside a skip ${shape}`,
        inputs: [{ name: 'x', shape, data: distinct(rng, sizeOf(shape)) }],
        reference: ([x]) => {
          const pooled = maxPoolRef(shape)([x]);
          const out = new Float64Array(2 * x.length);
          for (let s = 0; s < n; s++)
            for (let ch = 0; ch < 2 * c; ch++)
              for (let y = 0; y < h; y++)
                for (let xx = 0; xx < w; xx++) {
                  const from =
                    ch < c ? pooled[((s * c + ch) * (h / 2) + (y >> 1)) * (w / 2) + (xx >> 1)] : x[((s * c + ch - c) * h + y) * w + xx];
                  out[((s * 2 * c + ch) * h + y) * w + xx] = from;
                }
          return out;
        },
        run: both,
      });
      // concat's split, upsample's, and the pool's (with the sum): no add.
      expect(backwardDispatches(gpu(), [shape], [true], both)).toEqual({ dispatches: 3, gradients: [true] });
    });
  }

  // The conv after a pool reads its input zero-padded (packed kernels): the pool writes that copy
  // in its own dispatch. Layouts as conv2d's packed forward pass makes them (3×3: a border of 1,
  // rows of whole segments), planes past the 8 an invocation pools; a layout that crops y gets
  // none (the conv pads y itself), y all the same.
  const layouts: [number[], PaddedLayout][] = [
    [[2, 3, 8, 16], { ph: 6, pw: 12, top: 1, left: 1, dilation: 1 }],
    [[3, 5, 16, 16], { ph: 10, pw: 20, top: 1, left: 1, dilation: 1 }],
    [[1, 2, 6, 10], { ph: 2, pw: 4, top: -1, left: 0, dilation: 1 }],
  ];
  for (const [shape, layout] of layouts) {
    it(`${shape.join('×')}: also writes y padded as ${JSON.stringify(layout)} where it holds all of y, in the same dispatch`, async () => {
      const g = gpu();
      const [n, c, h, w] = shape;
      const [ho, wo] = [h / 2, w / 2];
      const x = g.persistent(shape, Float32Array.from(distinct(rng, sizeOf(shape))));
      const before = g.dispatchCount;
      const y = maxPool2d(x, layout);
      expect(g.dispatchCount - before).toBe(1);
      const copy = paddedCopy(y, layout);
      expect(copy === undefined).toBe(layout.top < 0);
      const [yv, padded] = await Promise.all([y.read(), (copy ?? y).read()]);
      g.endStep();
      expect(yv).toEqual(Float32Array.from(maxPoolRef(shape)([Float64Array.from(await x.read())])));
      if (!copy) return x.destroy();
      const expected = new Float32Array(n * c * layout.ph * layout.pw);
      for (let plane = 0; plane < n * c; plane++)
        for (let py = 0; py < layout.ph; py++)
          for (let px = 0; px < layout.pw; px++) {
            const [oy, ox] = [py - layout.top, px - layout.left];
            if (oy >= 0 && oy < ho && ox >= 0 && ox < wo)
              expected[(plane * layout.ph + py) * layout.pw + px] = yv[(plane * ho + oy) * wo + ox];
          }
      expect(padded).toEqual(expected);
      x.destroy();
    });
  }

  it('routes the gradient to the first maximum on ties', async () => {
    const g = gpu();
    const x = g.persistent([1, 1, 2, 4], [5, 5, 1, 7, 5, 5, 7, 2]);
    x.requiresGrad = true;
    const y = maxPool2d(x);
    backward(y, g.persistent([1, 1, 1, 2], [2, 3]));
    expect([...(await y.read())]).toEqual([5, 7]);
    expect([...(await x.grad!.read())]).toEqual([2, 0, 0, 3, 0, 0, 0, 0]);
    g.endStep();
  });

  it('rejects odd heights or widths and non-NCHW tensors before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => maxPool2d(g.persistent([2, 3, 5, 4]))).toThrow(/maxpool2d: x \[2, 3, 5, 4\] needs an even height and width/);
    expect(() => maxPool2d(g.persistent([2, 3, 4, 7]))).toThrow(/maxpool2d: x \[2, 3, 4, 7\] needs an even height and width/);
    expect(() => maxPool2d(g.persistent([3, 4, 4]))).toThrow(/maxpool2d: x must have rank 4 \(N, C, H, W\), got shape \[3, 4, 4\]/);
    expect(() => maxPool2d(g.persistent([2, 3, 4, 4]), { ph: 4, pw: 6, top: 1, left: 1, dilation: 1 })).toThrow(
      /maxpool2d: padded y of \[2, 3, 2, 2\] needs .*pw \(a multiple of 4\)/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
