// The layers the separator is built from, each a Module over the ops in src/ops.
import { Module } from '../autograd/module.ts';
import type { PaddedLayout } from '../autograd/padded-copies.ts';
import type { Gpu } from '../gpu/gpu.ts';
import type { Shape, Tensor } from '../gpu/tensor.ts';
import { relu } from '../ops/activations.ts';
import { add } from '../ops/add.ts';
import { batchNorm2d } from '../ops/batchnorm2d.ts';
import { conv2d, conv2dInputLayout } from '../ops/conv2d.ts';
import type { Rng } from '../util/rng.ts';

/** PyTorch's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), for weights and bias alike. */
function fanInUniform(rng: Rng, n: number, fanIn: number): Float32Array {
  const bound = 1 / Math.sqrt(fanIn);
  return Float32Array.from(rng.uniform(n, -bound, bound));
}

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(gpu: Gpu, rng: Rng, cin: number, cout: number, kernel: number) {
    super(gpu);
    const fanIn = cin * kernel * kernel;
    this.weight = this.param('weight', [cout, cin, kernel, kernel], fanInUniform(rng, cout * fanIn, fanIn));
    this.bias = this.param('bias', [cout], fanInUniform(rng, cout, fanIn));
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { padding: 'same' });
  }

  /** The zero-padded layout forward() reads an input of `xShape` in, for the op before it to write
   * (none where it reads the input as it is). */
  inputLayout(xShape: Shape): PaddedLayout | undefined {
    return conv2dInputLayout(this.gpu, xShape, this.weight.shape, { padding: 'same' });
  }
}

/** Weight of each training batch's statistics in the running ones (PyTorch's default). */
export const DEFAULT_BN_MOMENTUM = 0.1;

export class BatchNorm2d extends Module {
  momentum = DEFAULT_BN_MOMENTUM;
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;

  constructor(gpu: Gpu, channels: number) {
    super(gpu);
    this.gamma = this.param('weight', [channels], new Float32Array(channels).fill(1));
    this.beta = this.param('bias', [channels], new Float32Array(channels));
    this.runningMean = this.buffer('running_mean', [channels], new Float32Array(channels));
    this.runningVar = this.buffer('running_var', [channels], new Float32Array(channels).fill(1));
  }

  /** `relu`: output max(y, 0), fused into the batch norm's own passes; `padOutput`: in training,
   * also write the output zero-padded so, for the conv after it. */
  forward(x: Tensor, training: boolean, relu = false, padOutput?: PaddedLayout): Tensor {
    const state = { runningMean: this.runningMean, runningVar: this.runningVar };
    return batchNorm2d(x, this.gamma, this.beta, state, { training, relu, momentum: this.momentum, padOutput });
  }
}

/** conv 3×3 → batch norm → ReLU, twice: the unit of every encoder and decoder stage. `residual`:
 * a ResNet basic block instead, ReLU(bn2(conv2(…)) + shortcut(x)), the shortcut a 1×1 conv where
 * the channel count changes and the identity where it does not. */
export class ConvBlock extends Module {
  private readonly conv1: Conv2d;
  private readonly bn1: BatchNorm2d;
  private readonly conv2: Conv2d;
  private readonly bn2: BatchNorm2d;
  private readonly shortcut: Conv2d | null = null;

  constructor(
    gpu: Gpu,
    rng: Rng,
    cin: number,
    cout: number,
    private readonly residual = false,
  ) {
    super(gpu);
    this.conv1 = this.child('conv1', new Conv2d(gpu, rng, cin, cout, 3));
    this.bn1 = this.child('bn1', new BatchNorm2d(gpu, cout));
    this.conv2 = this.child('conv2', new Conv2d(gpu, rng, cout, cout, 3));
    this.bn2 = this.child('bn2', new BatchNorm2d(gpu, cout));
    if (residual && cin !== cout) this.shortcut = this.child('shortcut', new Conv2d(gpu, rng, cin, cout, 1));
  }

  /** The zero-padded layout forward() reads an input of `xShape` in (its first conv's), for the op
   * before it to write. */
  inputLayout(xShape: Shape): PaddedLayout | undefined {
    return this.conv1.inputLayout(xShape);
  }

  forward(x: Tensor, training: boolean): Tensor {
    const c1 = this.conv1.forward(x);
    // bn1 writes its output padded as conv2 reads it: no padding pass of conv2's own.
    const h = this.bn1.forward(c1, training, true, this.conv2.inputLayout(c1.shape));
    if (!this.residual) return this.bn2.forward(this.conv2.forward(h), training, true);
    const y = this.bn2.forward(this.conv2.forward(h), training);
    return relu(add(y, this.shortcut ? this.shortcut.forward(x) : x));
  }
}
