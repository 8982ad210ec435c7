import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { pixelShuffle, pixelUnshuffle } from '../../src/ops/pixelshuffle.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference of the shuffle of deep [N, C·r², H, W] into wide [N, C, H·r, W·r], written from
 * the wide side's loops (PyTorch's definition), independent of the shader's index arithmetic. */
function shuffleRef([n, cDeep, h, w]: number[], r: number) {
  const c = cDeep / (r * r);
  return ([x]: Float64Array[]) => {
    const y = new Float64Array(n * cDeep * h * w);
    let o = 0;
    for (let s = 0; s < n; s++)
      for (let ch = 0; ch < c; ch++)
        for (let oy = 0; oy < h * r; oy++)
          for (let ox = 0; ox < w * r; ox++) {
            const deep = ch * r * r + (oy % r) * r + (ox % r);
            y[o++] = x[((s * cDeep + deep) * h + Math.floor(oy / r)) * w + Math.floor(ox / r)];
          }
    return y;
  };
}

/** f64 reference of the unshuffle of wide [N, C, H, W] into deep [N, C·r², H/r, W/r]. */
function unshuffleRef([n, c, h, w]: number[], r: number) {
  return ([x]: Float64Array[]) => {
    const y = new Float64Array(n * c * h * w);
    let o = 0;
    for (let s = 0; s < n; s++)
      for (let ch = 0; ch < c; ch++)
        for (let i = 0; i < r; i++)
          for (let j = 0; j < r; j++)
            for (let y0 = 0; y0 < h / r; y0++)
              for (let x0 = 0; x0 < w / r; x0++) y[o++] = x[((s * c + ch) * h + y0 * r + i) * w + x0 * r + j];
    return y;
  };
}

describe('pixelShuffle and pixelUnshuffle', () => {
  const gpu = useGpu();
  const rng = new Rng(21);

  // [shape, r]: factor 1 (identity), 2 and 3, one channel, several, odd sides, a batch.
  const shuffles: [number[], number][] = [
    [[1, 1, 1, 1], 1],
    [[1, 4, 1, 1], 2],
    [[2, 8, 3, 5], 2],
    [[3, 9, 2, 3], 3],
    [[1, 4, 16, 16], 2],
  ];
  for (const [shape, r] of shuffles) {
    it(`shuffle ${shape.join('×')} by ${r}`, async () => {
      await checkOp(gpu(), {
        what: `pixelShuffle ${shape} r=${r}`,
        inputs: [{ name: 'x', shape, data: rng.uniform(sizeOf(shape)) }],
        reference: shuffleRef(shape, r),
        run: ([x]) => pixelShuffle(x, r),
      });
    });
  }

  const unshuffles: [number[], number][] = [
    [[1, 1, 2, 2], 2],
    [[2, 3, 4, 6], 2],
    [[1, 2, 6, 9], 3],
    [[3, 1, 32, 32], 2],
  ];
  for (const [shape, r] of unshuffles) {
    it(`unshuffle ${shape.join('×')} by ${r}`, async () => {
      await checkOp(gpu(), {
        what: `pixelUnshuffle ${shape} r=${r}`,
        inputs: [{ name: 'x', shape, data: rng.uniform(sizeOf(shape)) }],
        reference: unshuffleRef(shape, r),
        run: ([x]) => pixelUnshuffle(x, r),
      });
    });
  }

  it("matches PyTorch's F.pixel_unshuffle(x, 2) on a 4×4 plane, and shuffle undoes it", async () => {
    const g = gpu();
    const x = g.persistent(
      [1, 1, 4, 4],
      Array.from({ length: 16 }, (_, i) => i),
    );
    const deep = pixelUnshuffle(x, 2);
    // F.pixel_unshuffle(torch.arange(16.).reshape(1, 1, 4, 4), 2).flatten()
    expect([...(await deep.read())]).toEqual([0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15]);
    expect([...(await pixelShuffle(deep, 2).read())]).toEqual(Array.from({ length: 16 }, (_, i) => i));
    g.endStep();
  });

  it('rejects shapes it cannot permute, naming the shape and the fix, before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    expect(() => pixelShuffle(g.persistent([1, 6, 2, 2]), 2)).toThrow(
      /pixelShuffle: x \[1, 6, 2, 2\] has 6 channels, not a multiple of r² = 4; give it C·4 channels/,
    );
    expect(() => pixelUnshuffle(g.persistent([1, 1, 5, 4]), 2)).toThrow(
      /pixelUnshuffle: x \[1, 1, 5, 4\] is 5×4, not divisible by r = 2; pad or crop it to a multiple of 2/,
    );
    expect(() => pixelUnshuffle(g.persistent([1, 4, 4]), 2)).toThrow(/pixelUnshuffle: x must have rank 4/);
    expect(() => pixelShuffle(g.persistent([1, 4, 2, 2]), 1.5)).toThrow(/pixelShuffle: the factor must be a positive integer, got 1.5/);
    expect(g.dispatchCount).toBe(before);
  });
});
