// The separation network: a U-Net-style encoder–decoder. The encoder halves the resolution at each
// level (max-pool) while doubling the width; the decoder upsamples ×2 and concatenates the encoder
// features of the same resolution (skip connections) before each block; two 1×1 heads give the
// digit and the item, through a sigmoid each, optionally made consistent with the mixture
// (`output: 'projected'`: the two estimates are projected onto digit + item = 2·mixture); or one 1×1
// head gives the digit's share of the mixture, from which both sources follow (`output: 'share'`:
// consistent with the mixture and in [0, 1] by construction). Option: residual blocks (`residual`).
// Options that lost their ablations (attention gates, 2×2 patches, linear heads, bilinear
// upsampling) last lived at c8291d8; docs/QUALITY.md keeps their results.
//
//   depth 3, width w:  enc1 block(1,w) ─pool→ enc2 block(w,2w) ─pool→ mid block(2w,4w)
//                      dec2 block(4w+2w, 2w) ←up─┘   dec1 block(2w+w, w) ←up   → heads
import { Module } from '../autograd/module.ts';
import type { PaddedLayout } from '../autograd/padded-copies.ts';
import { SIZE } from '../data/mixer.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { sigmoid } from '../ops/activations.ts';
import { upsampleConcat } from '../ops/concat.ts';
import { maxPool2d } from '../ops/maxpool2d.ts';
import { projectOntoMixture } from '../ops/projection.ts';
import { sharesOfMixture } from '../ops/share.ts';
import { Rng } from '../util/rng.ts';
import { Conv2d, ConvBlock } from './layers.ts';

export const MODEL_OUTPUTS = ['independent', 'projected', 'share'] as const;
export type ModelOutput = (typeof MODEL_OUTPUTS)[number];

export interface ModelConfig {
  /** Channels of the first encoder level; each level down doubles it. */
  width: number;
  /** Resolution levels including the bottleneck (2 to 4 for 32×32 inputs). The values' ranges are
   * src/train/options.ts's, which checkTrainConfig checks. */
  depth: number;
  /** 'independent' (default): the heads' outputs as they are. 'projected': both are projected onto
   * the constraint digit + item = 2·mixture (half the residual added to each) and clamped to [0, 1].
   * 'share': a single head's sigmoid is the digit's share of the range the mixture leaves it, and
   * the item takes the rest (ops/share.ts). */
  output?: ModelOutput;
  /** Residual blocks: each block's output is ReLU(its second batch norm + a shortcut of its input,
   * a 1×1 conv where the channels change). Default false. */
  residual?: boolean;
}

/** The network of docs/BENCH_NET.md, which the benchmarks compare on (472,290 parameters). */
export const BENCH_NET_CONFIG: ModelConfig = { width: 32, depth: 3 };

export interface Separation {
  digit: Tensor;
  item: Tensor;
}

export class Separator extends Module {
  private readonly encoders: ConvBlock[] = [];
  private readonly decoders: ConvBlock[] = [];
  /** The digit's head; with output 'share', the head of the digit's share (the only one). */
  private readonly digitHead: Conv2d;
  private readonly itemHead: Conv2d | null;

  constructor(
    gpu: Gpu,
    readonly config: ModelConfig,
    seed: number,
  ) {
    super(gpu);
    const rng = new Rng(seed);
    const widths = Array.from({ length: config.depth }, (_, i) => config.width << i);
    widths.forEach((w, i) => {
      const name = i === config.depth - 1 ? 'mid' : `enc${i + 1}`;
      this.encoders.push(this.child(name, new ConvBlock(gpu, rng, i === 0 ? 1 : widths[i - 1], w, config.residual)));
    });
    for (let i = config.depth - 2; i >= 0; i--) {
      this.decoders.push(this.child(`dec${i + 1}`, new ConvBlock(gpu, rng, widths[i + 1] + widths[i], widths[i], config.residual)));
    }
    if (config.output === 'share') {
      this.digitHead = this.child('share_head', new Conv2d(gpu, rng, config.width, 1, 1));
      this.itemHead = null;
    } else {
      this.digitHead = this.child('digit_head', new Conv2d(gpu, rng, config.width, 1, 1));
      this.itemHead = this.child('item_head', new Conv2d(gpu, rng, config.width, 1, 1));
    }
  }

  /** The zero-padded layout forward() reads a batch of `n` mixtures in, for the mixer to write
   * (none where the first conv reads the mixture as it is). */
  inputLayout(n: number): PaddedLayout | undefined {
    return this.encoders[0].inputLayout([n, 1, SIZE, SIZE]);
  }

  /** mixture [N,1,32,32] → digit and item, each [N,1,32,32] in [0, 1]. */
  forward(mixture: Tensor, training: boolean): Separation {
    const skips: Tensor[] = [];
    let h = mixture;
    this.encoders.forEach((encoder, i) => {
      if (i > 0) {
        // The pool writes its output padded as the encoder's first conv reads it.
        const [n, c, height, width] = h.shape;
        h = maxPool2d(h, encoder.inputLayout([n, c, height / 2, width / 2]));
      }
      h = encoder.forward(h, training);
      skips.push(h);
    });
    skips.pop();
    for (const decoder of this.decoders) {
      const skip = skips.pop()!;
      // The join writes its output padded as the decoder's first conv reads it.
      const joined = [skip.shape[0], h.shape[1] + skip.shape[1], skip.shape[2], skip.shape[3]];
      h = decoder.forward(upsampleConcat(h, skip, decoder.inputLayout(joined)), training);
    }
    if (!this.itemHead) {
      const logit = this.digitHead.forward(h);
      const { own, rest } = sharesOfMixture(mixture, logit);
      return { digit: own, item: rest };
    }
    const digit = sigmoid(this.digitHead.forward(h));
    const item = sigmoid(this.itemHead.forward(h));
    if (this.config.output !== 'projected') return { digit, item };
    return { digit: projectOntoMixture(mixture, digit, item), item: projectOntoMixture(mixture, item, digit) };
  }
}
