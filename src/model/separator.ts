// The separation network: a U-Net-style encoder–decoder. The encoder halves the resolution at each
// level (max-pool) while doubling the width; the decoder upsamples ×2 and concatenates the encoder
// features of the same resolution (skip connections) before each block; two 1×1 heads give the
// digit and the item, through a sigmoid each (`heads`), optionally made consistent with the
// mixture (`output: 'projected'`: the two estimates are projected onto digit + item = 2·mixture);
// or one 1×1 head gives the digit's share of the mixture, from which both sources follow
// (`output: 'share'`: consistent with the mixture and in [0, 1] by construction).
// Options: residual blocks (`residual`), attention gates on the skip connections (`attention`), and
// `patch`: the network works on patch×patch blocks of pixels, the mixture pixel-unshuffled into
// patch² channels at 1/patch of the size and each head's patch² channels shuffled back.
//
//   depth 3, width w:  enc1 block(1,w) ─pool→ enc2 block(w,2w) ─pool→ mid block(2w,4w)
//                      dec2 block(4w+2w, 2w) ←up─┘   dec1 block(2w+w, w) ←up   → heads
import { Module } from '../autograd/module.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { sigmoid } from '../ops/activations.ts';
import { concatChannels } from '../ops/concat.ts';
import { maxPool2d } from '../ops/maxpool2d.ts';
import { pixelShuffle, pixelUnshuffle } from '../ops/pixelshuffle.ts';
import { projectOntoMixture } from '../ops/projection.ts';
import { shareOfMixture } from '../ops/share.ts';
import { type UpsampleMode, upsample2x } from '../ops/upsample2d.ts';
import { Rng } from '../util/rng.ts';
import { AttentionGate, Conv2d, ConvBlock } from './layers.ts';

export const MODEL_OUTPUTS = ['independent', 'projected', 'share'] as const;
export type ModelOutput = (typeof MODEL_OUTPUTS)[number];

export interface ModelConfig {
  /** Channels of the first encoder level; each level down doubles it. */
  width: number;
  /** Resolution levels including the bottleneck (2 to 4 for 32×32 inputs). */
  depth: number;
  upsample: UpsampleMode;
  /** 'independent' (default): the heads' outputs as they are. 'projected': both are projected onto
   * the constraint digit + item = 2·mixture (half the residual added to each) and clamped to [0, 1].
   * 'share': a single head's sigmoid is the digit's share of the range the mixture leaves it, and
   * the item takes the rest (ops/share.ts). */
  output?: ModelOutput;
  /** The heads' activation, before any projection: 'sigmoid' (default), or 'linear', allowed only
   * with output 'projected', whose clamp then bounds the outputs (its gradient is 0 where it clamps). */
  heads?: 'sigmoid' | 'linear';
  /** Residual blocks: each block's output is ReLU(its second batch norm + a shortcut of its input,
   * a 1×1 conv where the channels change). Default false. */
  residual?: boolean;
  /** Attention gates (Attention U-Net) on the skip connections, gated by the upsampled decoder
   * features. Default false. */
  attention?: boolean;
  /** Side of the pixel blocks the network works on: 1 (default), full resolution; 2, a pixel
   * unshuffle makes the 32×32 mixture 4 channels at 16×16, and each head's 4 channels are shuffled
   * back to 32×32 (as FFDNet does): a quarter of the positions, so 2× the width costs the same. */
  patch?: number;
}

export const MODEL_PATCHES = [1, 2] as const;

/** The network of docs/BENCH_NET.md, which the benchmarks compare on (472,290 parameters). */
export const BENCH_NET_CONFIG: ModelConfig = { width: 32, depth: 3, upsample: 'nearest' };

export function checkModelConfig(c: ModelConfig): void {
  if (!Number.isInteger(c.width) || c.width < 1 || c.width > 512)
    throw new Error(`model: width must be an integer in 1..512, got ${c.width}`);
  if (!Number.isInteger(c.depth) || c.depth < 2 || c.depth > 4) {
    throw new Error(`model: depth must be 2, 3 or 4 (levels of a 32×32 input, pooled at most 3 times), got ${c.depth}`);
  }
  if (c.upsample !== 'nearest' && c.upsample !== 'bilinear')
    throw new Error(`model: upsample must be 'nearest' or 'bilinear', got ${c.upsample}`);
  if (c.output !== undefined && !MODEL_OUTPUTS.includes(c.output))
    throw new Error(`model: output must be one of ${MODEL_OUTPUTS.join(', ')}, got ${c.output}`);
  if (c.heads !== undefined && c.heads !== 'sigmoid' && c.heads !== 'linear')
    throw new Error(`model: heads must be 'sigmoid' or 'linear', got ${c.heads}`);
  for (const flag of ['residual', 'attention'] as const) {
    if (c[flag] !== undefined && typeof c[flag] !== 'boolean') throw new Error(`model: ${flag} must be true or false, got ${c[flag]}`);
  }
  if (c.patch !== undefined && !(MODEL_PATCHES as readonly number[]).includes(c.patch)) {
    throw new Error(`model: patch must be ${MODEL_PATCHES.join(' or ')} (pixels per block side), got ${c.patch}`);
  }
  if (c.patch === 2 && c.depth > 4) throw new Error(`model: patch 2 leaves 16×16, pooled at most 3 times: depth ≤ 4, got ${c.depth}`);
  if (c.heads === 'linear' && c.output !== 'projected') {
    throw new Error(
      `model: linear heads need output 'projected' (its clamp keeps the outputs in [0, 1]); got output ${c.output ?? 'independent'}`,
    );
  }
}

export interface Separation {
  digit: Tensor;
  item: Tensor;
}

export class Separator extends Module {
  private readonly encoders: ConvBlock[] = [];
  private readonly decoders: ConvBlock[] = [];
  /** One per decoder, in the same order, when config.attention is set. */
  private readonly gates: AttentionGate[] = [];
  /** The digit's head; with output 'share', the head of the digit's share (the only one). */
  private readonly digitHead: Conv2d;
  private readonly itemHead: Conv2d | null;

  constructor(
    gpu: Gpu,
    readonly config: ModelConfig,
    seed: number,
  ) {
    super(gpu);
    checkModelConfig(config);
    const rng = new Rng(seed);
    const patch = config.patch ?? 1;
    const widths = Array.from({ length: config.depth }, (_, i) => config.width << i);
    widths.forEach((w, i) => {
      const name = i === config.depth - 1 ? 'mid' : `enc${i + 1}`;
      this.encoders.push(this.child(name, new ConvBlock(gpu, rng, i === 0 ? patch * patch : widths[i - 1], w, config.residual)));
    });
    for (let i = config.depth - 2; i >= 0; i--) {
      if (config.attention) this.gates.push(this.child(`attention${i + 1}`, new AttentionGate(gpu, rng, widths[i], widths[i + 1])));
      this.decoders.push(this.child(`dec${i + 1}`, new ConvBlock(gpu, rng, widths[i + 1] + widths[i], widths[i], config.residual)));
    }
    if (config.output === 'share') {
      this.digitHead = this.child('share_head', new Conv2d(gpu, rng, config.width, patch * patch, 1));
      this.itemHead = null;
    } else {
      this.digitHead = this.child('digit_head', new Conv2d(gpu, rng, config.width, patch * patch, 1));
      this.itemHead = this.child('item_head', new Conv2d(gpu, rng, config.width, patch * patch, 1));
    }
  }

  /** mixture [N,1,32,32] → digit and item, each [N,1,32,32] in [0, 1]. */
  forward(mixture: Tensor, training: boolean): Separation {
    const patch = this.config.patch ?? 1;
    const skips: Tensor[] = [];
    let h = patch > 1 ? pixelUnshuffle(mixture, patch) : mixture;
    this.encoders.forEach((encoder, i) => {
      if (i > 0) h = maxPool2d(h);
      h = encoder.forward(h, training);
      skips.push(h);
    });
    skips.pop();
    this.decoders.forEach((decoder, i) => {
      const up = upsample2x(h, this.config.upsample);
      const skip = skips.pop()!;
      h = decoder.forward(concatChannels(up, this.gates.length ? this.gates[i].forward(skip, up) : skip), training);
    });
    const head = (conv: Conv2d) => (patch > 1 ? pixelShuffle(conv.forward(h), patch) : conv.forward(h));
    if (!this.itemHead) {
      const logit = head(this.digitHead);
      return { digit: shareOfMixture(mixture, logit, 'own'), item: shareOfMixture(mixture, logit, 'rest') };
    }
    const activation = this.config.heads === 'linear' ? (t: Tensor) => t : sigmoid;
    const digit = activation(head(this.digitHead));
    const item = activation(head(this.itemHead));
    if (this.config.output !== 'projected') return { digit, item };
    return { digit: projectOntoMixture(mixture, digit, item), item: projectOntoMixture(mixture, item, digit) };
  }
}
