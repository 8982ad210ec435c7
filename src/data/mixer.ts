// The GPU mixing generator: all four image sets live on the GPU (u8 pixels packed 4 per u32), and
// each batch is drawn and mixed there, so training reads nothing from the CPU but a seed and a step.
//   draw: sample s takes MNIST image  random(seed, step, s, 0) mod count
//                    and Fashion image random(seed, step, s, 1) mod count  (independent, with replacement)
//   mix:  each 28×28 image zero-padded to 32×32, scaled to [0, 1]; mixture = (digit + item) / 2
// A batch does both in one dispatch (draw_mix); fixed pairs only mix.
import { checkPaddedLayout, type PaddedLayout, recordPaddedCopy, writesWholeInto } from '../autograd/padded-copies.ts';
import { type Gpu, grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { SourceImages } from './datasets.ts';
import type { IdxImages } from './idx.ts';

export type Split = 'train' | 'test';

export interface MixBatch {
  /** Each [N, 1, 32, 32], transient (returned to the pool at gpu.endStep()). */
  mixture: Tensor;
  digit: Tensor;
  item: Tensor;
  /** [N, 2]: the chosen (MNIST, Fashion-MNIST) image indices as u32 bits, not floats; read them
   * with new Uint32Array((await indices.read()).buffer). */
  indices: Tensor;
}

const WG = 256;
export const SIZE = 32;
const SOURCE_SIZE = 28;

// ---------------------------------------------------------------- the PRNG's CPU twin

/** lowbias32 (Chris Wellons' hash prospector), exactly as hash() in shaders/mix.wgsl. */
export function hash32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The u32 that sample `sample` draws from stream 0 (MNIST) or 1 (Fashion-MNIST). */
export function random32(seed: number, step: number, sample: number, stream: number): number {
  return hash32(hash32(hash32(hash32(seed) ^ step) ^ sample) ^ stream);
}

/** The key batch() writes for the GPU's draw, (seed, step): what a replay of it is given. */
export function mixKey(seed: number, step: number): Uint32Array {
  for (const [name, v] of [
    ['seed', seed],
    ['step', step],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`mixer.batch: ${name} ${v} must be an integer in [0, 2^32)`);
  }
  return Uint32Array.of(seed, step);
}

/** The (MNIST, Fashion-MNIST) index pairs batch() draws, interleaved, computed on the CPU. */
export function drawIndices(n: number, seed: number, step: number, digitCount: number, itemCount: number): Uint32Array {
  const out = new Uint32Array(2 * n);
  for (let s = 0; s < n; s++) {
    out[2 * s] = random32(seed, step, s, 0) % digitCount;
    out[2 * s + 1] = random32(seed, step, s, 1) % itemCount;
  }
  return out;
}

// ---------------------------------------------------------------- the generator

interface SplitImages {
  digits: GPUBuffer;
  items: GPUBuffer;
  digitCount: number;
  itemCount: number;
}

export class Mixer {
  private splits: Record<Split, SplitImages>;

  constructor(
    readonly gpu: Gpu,
    images: SourceImages,
  ) {
    this.splits = {
      train: {
        digits: upload(gpu, images.mnistTrain, 'mnist train'),
        items: upload(gpu, images.fashionTrain, 'fashion-mnist train'),
        digitCount: images.mnistTrain.count,
        itemCount: images.fashionTrain.count,
      },
      test: {
        digits: upload(gpu, images.mnistTest, 'mnist test'),
        items: upload(gpu, images.fashionTest, 'fashion-mnist test'),
        digitCount: images.mnistTest.count,
        itemCount: images.fashionTest.count,
      },
    };
  }

  /** Images in a split: how many MNIST digits and Fashion-MNIST items to draw from. */
  counts(split: Split): { digits: number; items: number } {
    const s = this.split(split);
    return { digits: s.digitCount, items: s.itemCount };
  }

  /** `n` random pairs from `split`, the same for the same (seed, step) in browser and Node; with
   * `padMixture` (the layout the model's first conv reads: Separator.inputLayout), the mixture is
   * also written zero-padded so, in the same dispatch, as its padded copy. */
  batch(split: Split, n: number, seed: number, step: number, padMixture?: PaddedLayout): MixBatch {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`mixer.batch: batch size ${n} must be a positive integer`);
    const s = this.split(split);
    const shape = [n, 1, SIZE, SIZE];
    if (padMixture) checkPaddedLayout('mixer.batch', 'padded mixture', shape, padMixture);
    // The key goes in a pooled buffer of its own: writeBuffer lands before this step's commands
    // run, and no other call of the step shares the buffer (the pool reuses it only after
    // endStep() has submitted them), so several batch() calls in one step each see their own key.
    const key = this.gpu.empty([2]);
    this.gpu.write(key, mixKey(seed, step));
    return this.mix(s, this.gpu.empty([n, 2]), key, padMixture);
  }

  /** Fixed pairs: digitIndices[k] mixed with itemIndices[k] (display grids, "try it"). */
  pairs(split: Split, digitIndices: number[], itemIndices: number[]): MixBatch {
    const s = this.split(split);
    if (digitIndices.length !== itemIndices.length || digitIndices.length === 0) {
      throw new Error(
        `mixer.pairs: need as many item indices as digit indices, at least one (got ${digitIndices.length} and ${itemIndices.length})`,
      );
    }
    const check = (list: number[], count: number, what: string) => {
      const bad = list.find((i) => !Number.isInteger(i) || i < 0 || i >= count);
      if (bad !== undefined) throw new Error(`mixer.pairs: ${what} index ${bad} is outside the ${split} split's 0..${count - 1}`);
    };
    check(digitIndices, s.digitCount, 'MNIST');
    check(itemIndices, s.itemCount, 'Fashion-MNIST');
    const n = digitIndices.length;
    const pairs = new Uint32Array(2 * n);
    digitIndices.forEach((d, k) => {
      pairs[2 * k] = d;
      pairs[2 * k + 1] = itemIndices[k];
    });
    const indices = this.gpu.empty([n, 2]);
    this.gpu.write(indices, pairs); // a pooled buffer of its own, as in batch()
    return this.mix(s, indices);
  }

  destroy(): void {
    for (const s of Object.values(this.splits)) {
      this.gpu.release(s.digits);
      this.gpu.release(s.items);
    }
  }

  private split(split: Split): SplitImages {
    const s = this.splits[split];
    if (!s) throw new Error(`mixer: split "${split}" must be "train" or "test"`);
    return s;
  }

  /** Mixes the pairs in `indices`, or, given the (seed, step) `key`, draws them into `indices` in
   * the same dispatch; then also writes the mixture padded as `padMixture` where that grid writes it
   * whole (writesWholeInto), recorded as its padded copy. */
  private mix(s: SplitImages, indices: Tensor, key?: Tensor, padMixture?: PaddedLayout): MixBatch {
    const n = indices.shape[0];
    const shape = [n, 1, SIZE, SIZE];
    const [mixture, digit, item] = [0, 1, 2].map(() => this.gpu.empty(shape));
    const bound = [s.digits, s.items, indices, mixture, digit, item];
    const params = { n, digit_count: s.digitCount, item_count: s.itemCount };
    if (key && padMixture && writesWholeInto(shape, padMixture)) {
      const padded = this.gpu.empty([n, 1, padMixture.ph, padMixture.pw]);
      this.gpu.dispatch({
        shader: 'mix',
        entry: 'draw_mix_padded',
        defines: mixDefines(padMixture),
        params,
        buffers: [...bound, key, padded],
        workgroups: grid1d(padded.size, WG),
      });
      recordPaddedCopy(mixture, padMixture, padded);
    } else {
      this.gpu.dispatch({
        shader: 'mix',
        entry: key ? 'draw_mix' : 'mix',
        defines: mixDefines({ ph: SIZE, pw: SIZE, top: 0, left: 0 }),
        params,
        buffers: key ? [...bound, key] : bound,
        workgroups: grid1d(n * SIZE * SIZE, WG),
      });
    }
    mixture.op = digit.op = item.op = 'mix';
    return { mixture, digit, item, indices };
  }
}

/** shaders/mix.wgsl's defines: the padded layout draw_mix_padded writes (the entries that write
 * none get the plain one, which they do not read). */
function mixDefines({ ph, pw, top, left }: Pick<PaddedLayout, 'ph' | 'pw' | 'top' | 'left'>) {
  return { WG, PH: ph, PW: pw, TOP: top, LEFT: left };
}

/** One image set as a storage buffer of u8 pixels packed 4 per u32 (little-endian: the bytes as they are). */
function upload(gpu: Gpu, images: IdxImages, what: string): GPUBuffer {
  if (images.rows !== SOURCE_SIZE || images.cols !== SOURCE_SIZE) {
    throw new Error(`Mixer: ${what} images are ${images.rows}×${images.cols}; the generator pads 28×28 images to 32×32`);
  }
  const bytes = images.pixels;
  const buffer = gpu.device.createBuffer({ size: bytes.length, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label: what });
  gpu.write(buffer, bytes); // 784 bytes per image: always a whole number of u32 words
  return buffer;
}
