// The GPU mixing generator on the real datasets: its random draws against the CPU twin, and its
// mixtures against a CPU reference built from the source images.
import { beforeAll, describe, expect, it } from 'vitest';
import { type PaddedLayout, paddedCopy } from '../../src/autograd/padded-copies.ts';
import type { SourceImages } from '../../src/data/datasets.ts';
import type { IdxImages } from '../../src/data/idx.ts';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import { drawIndices, hash32, type MixBatch, Mixer, random32, type Split } from '../../src/data/mixer.ts';
import { expectClose, F32 } from '../helpers/check.ts';
import { useGpu } from '../helpers/gpu.ts';

interface Read {
  mixture: Float32Array;
  digit: Float32Array;
  item: Float32Array;
  indices: Uint32Array;
}

async function read(b: MixBatch): Promise<Read> {
  const [mixture, digit, item, indices] = await Promise.all([b.mixture.read(), b.digit.read(), b.item.read(), b.indices.read()]);
  return { mixture, digit, item, indices: new Uint32Array(indices.buffer) };
}

/** Image `k` zero-padded to 32×32 and scaled to [0, 1], in f64. */
function padded(images: IdxImages, k: number): Float64Array {
  const out = new Float64Array(32 * 32);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) out[(y + 2) * 32 + x + 2] = images.pixels[k * 784 + y * 28 + x] / 255;
  return out;
}

/** Chi-square statistic of counts against a uniform distribution. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

describe('mixer', () => {
  const gpu = useGpu();
  let images: SourceImages;
  let mixer: Mixer;
  beforeAll(async () => {
    images = await loadSourceImagesNode();
    mixer = new Mixer(gpu(), images);
  });

  /** Checks every output of a batch against the CPU reference for the pairs it reports. */
  function expectMixed(split: Split, r: Read, n: number): void {
    const [digits, items] = split === 'train' ? [images.mnistTrain, images.fashionTrain] : [images.mnistTest, images.fashionTest];
    expect(r.mixture.length).toBe(n * 1024);
    for (let s = 0; s < n; s++) {
      const at = s * 1024;
      const what = `${split} sample ${s} (digit ${r.indices[2 * s]}, item ${r.indices[2 * s + 1]})`;
      expectClose(r.digit.subarray(at, at + 1024), padded(digits, r.indices[2 * s]), F32, `${what}: digit`);
      expectClose(r.item.subarray(at, at + 1024), padded(items, r.indices[2 * s + 1]), F32, `${what}: item`);
    }
    for (let k = 0; k < r.mixture.length; k++) {
      if (r.mixture[k] !== Math.fround((r.digit[k] + r.item[k]) / 2))
        throw new Error(`mixture[${k}] = ${r.mixture[k]} is not (digit + item) / 2 = (${r.digit[k]} + ${r.item[k]}) / 2`);
    }
    // The 2-pixel border is zero in all three, the interior is not (every image has some ink).
    for (let s = 0; s < n; s++) {
      for (const t of [r.mixture, r.digit, r.item]) {
        for (let p = 0; p < 1024; p++) {
          const y = p >> 5;
          const x = p & 31;
          if ((x < 2 || x >= 30 || y < 2 || y >= 30) && t[s * 1024 + p] !== 0)
            throw new Error(`sample ${s}: border pixel (${y}, ${x}) is ${t[s * 1024 + p]}`);
        }
      }
      expect(Math.max(...r.digit.subarray(s * 1024, (s + 1) * 1024))).toBeGreaterThan(0.5);
    }
  }

  it('the CPU twin of the hash is lowbias32 (values from an independent 64-bit Python evaluation)', () => {
    expect(hash32(0)).toBe(0);
    expect(hash32(1)).toBe(0x688990c0);
    expect(hash32(2)).toBe(0xd1132181);
    expect(hash32(0xdeadbeef)).toBe(0xe628c683);
  });

  for (const [split, n, seed, step] of [
    ['train', 1, 0, 0],
    ['train', 37, 7, 12345],
    ['test', 300, 42, 3],
  ] as const) {
    it(`${split}: batch of ${n} (seed ${seed}, step ${step}) draws the CPU twin's pairs and mixes them`, async () => {
      const r = await read(mixer.batch(split, n, seed, step));
      gpu().endStep();
      const counts = mixer.counts(split);
      expect(Array.from(r.indices)).toEqual(Array.from(drawIndices(n, seed, step, counts.digits, counts.items)));
      expectMixed(split, r, n);
    });
  }

  it('the same (seed, step) gives the same batch; another step or seed, another one', async () => {
    const draw = async (seed: number, step: number) => {
      const r = await read(mixer.batch('train', 64, seed, step));
      gpu().endStep();
      return r;
    };
    const a = await draw(5, 10);
    const b = await draw(5, 10);
    expect(b.mixture).toEqual(a.mixture);
    expect(b.indices).toEqual(a.indices);
    for (const other of [await draw(5, 11), await draw(6, 10)]) {
      const same = other.indices.filter((v, k) => v === a.indices[k]).length;
      expect(same).toBeLessThan(4); // chance agreement: 128 draws × 1/60000
      expect(other.mixture).not.toEqual(a.mixture);
    }
  });

  it('several batch() and pairs() calls in one unsubmitted step each keep their own draws', async () => {
    const batches = [
      mixer.batch('test', 16, 1, 0),
      mixer.batch('test', 16, 1, 1),
      mixer.pairs('test', [0, 1, 2], [3, 4, 5]),
      mixer.batch('train', 8, 2, 0),
    ];
    const r = await Promise.all(batches.map(read));
    gpu().endStep();
    expect(r[0].indices).toEqual(drawIndices(16, 1, 0, 10000, 10000));
    expect(r[1].indices).toEqual(drawIndices(16, 1, 1, 10000, 10000));
    expect(Array.from(r[2].indices)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(r[3].indices).toEqual(drawIndices(8, 2, 0, 60000, 60000));
    expectMixed('test', r[2], 3);
  });

  it('pairs() mixes exactly the requested images', async () => {
    const digits = [0, 9999, 17];
    const items = [5, 0, 9999];
    const r = await read(mixer.pairs('test', digits, items));
    gpu().endStep();
    expect(Array.from(r.indices)).toEqual([0, 5, 9999, 0, 17, 9999]);
    expectMixed('test', r, 3);
  });

  it('the draws cover both ranges uniformly and independently (CPU twin, which the GPU matches above)', () => {
    const n = 200_000;
    const pairs = drawIndices(n, 1234, 0, 60000, 60000);
    const bins = 50;
    const digit = new Array(bins).fill(0);
    const item = new Array(bins).fill(0);
    const joint = new Array(100).fill(0);
    for (let s = 0; s < n; s++) {
      const d = Math.floor((pairs[2 * s] * bins) / 60000);
      const i = Math.floor((pairs[2 * s + 1] * bins) / 60000);
      digit[d]++;
      item[i]++;
      joint[Math.floor(d / 5) * 10 + Math.floor(i / 5)]++;
    }
    // Critical values at p = 0.001: 85.4 for 49 degrees of freedom, 148.2 for 99.
    expect(chiSquare(digit)).toBeLessThan(85.4);
    expect(chiSquare(item)).toBeLessThan(85.4);
    expect(chiSquare(joint)).toBeLessThan(148.2);
    // Consecutive steps and seeds are not correlated either: the same sample's draws across steps.
    const acrossSteps = new Array(bins).fill(0);
    for (let step = 0; step < 20_000; step++) acrossSteps[Math.floor(((random32(7, step, 0, 0) % 60000) * bins) / 60000)]++;
    expect(chiSquare(acrossSteps)).toBeLessThan(85.4);
  });

  // The training step's batch written padded as the first conv reads it, in the same dispatch: the
  // batch as without, and the copy the mixture at (top, left) with zeros around it. A layout the
  // grid cannot write whole (dilated, cropped) gets no copy: the conv pads the mixture itself.
  for (const layout of [
    { ph: 34, pw: 36, top: 1, left: 1, dilation: 1 },
    { ph: 37, pw: 40, top: 5, left: 3, dilation: 1 },
    { ph: 63, pw: 64, top: 0, left: 0, dilation: 2 },
    { ph: 32, pw: 32, top: -1, left: 0, dilation: 1 },
  ]) {
    it(`a batch with its mixture padded as ${JSON.stringify(layout)}`, async () => {
      const g = gpu();
      const n = 5;
      const plain = await read(mixer.batch('train', n, 3, 8));
      // Garbage in the pool's buffer of the padded size, which the padded mixture then takes.
      g.write(g.empty([n, 1, layout.ph, layout.pw]), new Float32Array(n * layout.ph * layout.pw).fill(7));
      g.endStep();
      const before = g.dispatchCount;
      const batch = mixer.batch('train', n, 3, 8, layout);
      expect(g.dispatchCount - before).toBe(1);
      const copy = paddedCopy(batch.mixture, layout);
      const [r, padded] = await Promise.all([read(batch), copy?.read()]);
      g.endStep();
      expect(r).toEqual(plain);
      const whole = layout.dilation === 1 && layout.top >= 0;
      expect(padded !== undefined).toBe(whole);
      if (!padded) return;
      const { ph, pw, top, left } = layout;
      for (let k = 0; k < padded.length; k++) {
        const [s, y, x] = [Math.floor(k / (ph * pw)), Math.floor((k % (ph * pw)) / pw) - top, (k % pw) - left];
        const inside = y >= 0 && y < 32 && x >= 0 && x < 32;
        const expected = inside ? r.mixture[s * 1024 + y * 32 + x] : 0;
        if (padded[k] !== expected)
          throw new Error(`padded mixture at sample ${s}, (${y}, ${x}) from the image's corner: ${padded[k]}, expected ${expected}`);
      }
    });
  }

  it('rejects bad arguments before any dispatch', () => {
    const before = gpu().dispatchCount;
    expect(() => mixer.batch('train', 0, 1, 1)).toThrow('mixer.batch: batch size 0 must be a positive integer');
    expect(() => mixer.batch('train', 4, -1, 1)).toThrow('mixer.batch: seed -1 must be an integer in [0, 2^32)');
    expect(() => mixer.batch('train', 4, 1, 2.5)).toThrow('mixer.batch: step 2.5 must be an integer in [0, 2^32)');
    expect(() => mixer.batch('valid' as Split, 4, 1, 1)).toThrow('mixer: split "valid" must be "train" or "test"');
    const rowsOfHalfVec4s: PaddedLayout = { ph: 34, pw: 34, top: 1, left: 1, dilation: 1 };
    expect(() => mixer.batch('train', 4, 1, 1, rowsOfHalfVec4s)).toThrow(
      /mixer\.batch: padded mixture of \[4, 1, 32, 32\] needs positive whole ph, pw \(a multiple of 4\)/,
    );
    expect(() => mixer.pairs('test', [1, 2], [3])).toThrow(
      'mixer.pairs: need as many item indices as digit indices, at least one (got 2 and 1)',
    );
    expect(() => mixer.pairs('test', [10000], [3])).toThrow("mixer.pairs: MNIST index 10000 is outside the test split's 0..9999");
    expect(() => mixer.pairs('train', [1], [-1])).toThrow("mixer.pairs: Fashion-MNIST index -1 is outside the train split's 0..59999");
    expect(gpu().dispatchCount).toBe(before);
    const small = { ...images, mnistTest: { count: 1, rows: 32, cols: 32, pixels: new Uint8Array(1024) } };
    expect(() => new Mixer(gpu(), small)).toThrow('Mixer: mnist test images are 32×32; the generator pads 28×28 images to 32×32');
  });
});
