import { describe, expect, it } from 'vitest';
import { type PaddedLayout, paddedCopy } from '../../src/autograd/padded-copies.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { concatChannels, upsampleConcat } from '../../src/ops/concat.ts';
import { useGpu } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference: for each sample, a's channels then b's. */
function concatRef(n: number, aRun: number, bRun: number) {
  return ([a, b]: Float64Array[]) => {
    const out = new Float64Array(n * (aRun + bRun));
    for (let s = 0; s < n; s++) {
      out.set(a.subarray(s * aRun, (s + 1) * aRun), s * (aRun + bRun));
      out.set(b.subarray(s * bRun, (s + 1) * bRun), s * (aRun + bRun) + aRun);
    }
    return out;
  };
}

describe('concat (channels)', () => {
  const gpu = useGpu();
  const rng = new Rng(5);
  // [N, Ca, Cb, H, W]: batch 1, single elements, odd sizes, runs past one 64-wide workgroup, N past
  // the 16 samples an invocation copies, H·W a multiple of 4 (vec4 copies) or not, random.
  const cases = [
    [1, 1, 1, 1, 1],
    [1, 3, 2, 5, 7],
    [2, 4, 5, 9, 11],
    [3, 1, 6, 4, 4],
    [17, 2, 3, 2, 3],
    [17, 1, 2, 2, 2],
    [2, 5, 3, 8, 8],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 6), rng.int(1, 6), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const [n, ca, cb, h, w] of cases) {
    it(`[${n},${ca},${h},${w}] ⊕ [${n},${cb},${h},${w}]`, async () => {
      const aShape = [n, ca, h, w];
      const bShape = [n, cb, h, w];
      await checkOp(gpu(), {
        what: `concat ${aShape} ⊕ ${bShape}`,
        inputs: [
          { name: 'a', shape: aShape, data: rng.uniform(sizeOf(aShape)) },
          { name: 'b', shape: bShape, data: rng.uniform(sizeOf(bShape)) },
        ],
        reference: concatRef(n, ca * h * w, cb * h * w),
        run: ([a, b]) => concatChannels(a, b),
      });
    });
  }

  for (const [n, ca, cb, h, w, needA] of [
    [3, 2, 3, 4, 4, 1],
    [17, 3, 1, 3, 5, 0],
  ]) {
    it(`[${n},${ca},${h},${w}] ⊕ [${n},${cb},${h},${w}] with only ${needA ? 'a' : 'b'} needing a gradient`, async () => {
      const aShape = [n, ca, h, w];
      const bShape = [n, cb, h, w];
      await checkOp(gpu(), {
        what: `concat ${aShape} ⊕ ${bShape}, grad of ${needA ? 'a' : 'b'} only`,
        inputs: [
          { name: 'a', shape: aShape, data: rng.uniform(sizeOf(aShape)), grad: !!needA },
          { name: 'b', shape: bShape, data: rng.uniform(sizeOf(bShape)), grad: !needA },
        ],
        reference: concatRef(n, ca * h * w, cb * h * w),
        run: ([a, b]) => concatChannels(a, b),
      });
    });
  }

  // The decoder's join, a upsampled ×2 as it is copied: against upsample then concat in f64, with
  // the gradient check; batch 1, a single 2×2 output, N past 16 samples, odd channel counts.
  for (const [n, ca, cb, h, w] of [
    [1, 1, 1, 2, 2],
    [2, 3, 2, 6, 10],
    [17, 2, 3, 4, 4],
    [2, 4, 3, 16, 16],
  ]) {
    it(`upsample×2 [${n},${ca},${h / 2},${w / 2}] ⊕ [${n},${cb},${h},${w}], one dispatch each way`, async () => {
      const aShape = [n, ca, h / 2, w / 2];
      const bShape = [n, cb, h, w];
      const upsampleRef = (a: Float64Array) =>
        Float64Array.from({ length: n * ca * h * w }, (_, i) => {
          const [plane, y, x] = [Math.floor(i / (h * w)), Math.floor(i / w) % h, i % w];
          return a[(plane * (h / 2) + (y >> 1)) * (w / 2) + (x >> 1)];
        });
      await checkOp(gpu(), {
        what: `upsample concat ${aShape} ⊕ ${bShape}`,
        inputs: [
          { name: 'a', shape: aShape, data: rng.uniform(sizeOf(aShape)) },
          { name: 'b', shape: bShape, data: rng.uniform(sizeOf(bShape)) },
        ],
        reference: ([a, b]) => concatRef(n, ca * h * w, cb * h * w)([upsampleRef(a), b]),
        run: ([a, b]) => upsampleConcat(a, b),
      });
      const dispatches = gpu().dispatchCount;
      const result = backwardDispatches(gpu(), [aShape, bShape], [true, true], ([a, b]) => upsampleConcat(a, b));
      expect(gpu().dispatchCount - dispatches - result.dispatches).toBe(1); // the forward
      expect(result).toEqual({ dispatches: 1, gradients: [true, true] });
    });
  }

  // The conv after the join reads its input zero-padded (packed kernels): the join writes that copy
  // in its own dispatch, where its grid over the padded cells writes the output whole (else none,
  // and the conv pads): a 3×3 border at the decoder's shape, planes past the 8 an invocation joins.
  for (const [[n, ca, cb, h, w], layout] of [
    [[2, 4, 3, 16, 16], { ph: 18, pw: 20, top: 1, left: 1, dilation: 1 }],
    [[3, 1, 2, 4, 6], { ph: 6, pw: 8, top: 1, left: 1, dilation: 1 }],
    [[1, 2, 1, 4, 4], { ph: 3, pw: 4, top: -1, left: 0, dilation: 1 }],
  ] as [number[], PaddedLayout][]) {
    it(`upsample concat [${n},${ca},${h / 2},${w / 2}] ⊕ [${n},${cb},${h},${w}] also writes its output padded as ${JSON.stringify(layout)} where that holds it, one dispatch`, async () => {
      const g = gpu();
      const [aShape, bShape] = [
        [n, ca, h / 2, w / 2],
        [n, cb, h, w],
      ];
      const [a, b] = [aShape, bShape].map((shape) => g.persistent(shape, Float32Array.from(rng.uniform(sizeOf(shape)))));
      const before = g.dispatchCount;
      const out = upsampleConcat(a, b, layout);
      const plain = upsampleConcat(a, b);
      expect(g.dispatchCount - before).toBe(2);
      const copy = paddedCopy(out, layout);
      expect(copy === undefined).toBe(layout.top < 0);
      const [got, expected, padded] = await Promise.all([out.read(), plain.read(), (copy ?? out).read()]);
      g.endStep();
      expect(got).toEqual(expected);
      if (copy) {
        const c = ca + cb;
        const ref = new Float32Array(n * c * layout.ph * layout.pw);
        for (let plane = 0; plane < n * c; plane++)
          for (let y = 0; y < h; y++)
            for (let x = 0; x < w; x++)
              ref[(plane * layout.ph + y + layout.top) * layout.pw + x + layout.left] = expected[(plane * h + y) * w + x];
        expect(padded).toEqual(ref);
      }
      for (const t of [a, b]) t.destroy();
    });
  }

  it('upsample concat rejects inputs whose sizes do not match after upsampling, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => upsampleConcat(g.persistent([2, 3, 4, 4]), g.persistent([2, 5, 8, 6]))).toThrow(
      /upsample concat: a \[2, 3, 4, 4\] upsampled ×2 must match b \[2, 5, 8, 6\] in N, H and W/,
    );
    expect(() => upsampleConcat(g.persistent([1, 3, 4, 4]), g.persistent([2, 5, 8, 8]))).toThrow(/upsample concat: a \[1, 3, 4, 4\]/);
    expect(() => upsampleConcat(g.persistent([3, 4, 4]), g.persistent([2, 5, 8, 8]))).toThrow(
      /upsample concat: a must have rank 4 \(N, C, H, W\), got shape \[3, 4, 4\]/,
    );
    expect(g.dispatchCount).toBe(before);
  });

  it('copies out only the gradient an input needs: one dispatch, the other input left without', () => {
    const shapes = [
      [2, 3, 4, 4],
      [2, 5, 4, 4],
    ];
    const run = ([a, b]: Tensor[]) => concatChannels(a, b);
    expect(backwardDispatches(gpu(), shapes, [true, true], run)).toEqual({ dispatches: 1, gradients: [true, true] });
    expect(backwardDispatches(gpu(), shapes, [false, true], run)).toEqual({ dispatches: 1, gradients: [false, true] });
    expect(backwardDispatches(gpu(), shapes, [true, false], run)).toEqual({ dispatches: 1, gradients: [true, false] });
  });

  it('rejects tensors that differ in N, H or W, and non-NCHW tensors, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    const a = g.persistent([2, 3, 4, 4]);
    expect(() => concatChannels(a, g.persistent([2, 3, 4, 5]))).toThrow(
      /concat: a \[2, 3, 4, 4\] and b \[2, 3, 4, 5\] must agree in N, H and W/,
    );
    expect(() => concatChannels(a, g.persistent([1, 3, 4, 4]))).toThrow(
      /concat: a \[2, 3, 4, 4\] and b \[1, 3, 4, 4\] must agree in N, H and W/,
    );
    expect(() => concatChannels(a, g.persistent([3, 4, 4]))).toThrow(/concat: b must have rank 4 \(N, C, H, W\), got shape \[3, 4, 4\]/);
    expect(g.dispatchCount).toBe(before);
  });
});
