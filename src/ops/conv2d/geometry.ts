// The sizes every conv2d kernel works from, checked once before any dispatch, and the interface a
// kernel variant implements (src/ops/conv2d/kernels.ts lists them; src/ops/conv2d.ts picks one).

import type { PaddedLayout } from '../../autograd/padded-copies.ts';
import type { Gpu } from '../../gpu/gpu.ts';
import { type Shape, shapeString, type Tensor } from '../../gpu/tensor.ts';

export type Padding = 'same' | 'valid' | number;

export interface Conv2dOptions {
  stride?: 1 | 2;
  /** 'same' pads (K-1)/2 (output ceil(H/stride)), 'valid' pads 0, a number pads that many zeros. */
  padding?: Padding;
}

/** Every size a conv kernel needs. */
export interface Geometry {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  k: number;
  stride: number;
  pad: number;
  oh: number;
  ow: number;
}

/** Validates shapes and options and derives the output size; throws naming the op before any dispatch. */
export function geometry(op: string, xShape: Shape, wShape: Shape, opts: Conv2dOptions = {}): Geometry {
  const positive = (s: Shape) => s.length === 4 && s.every((d) => Number.isInteger(d) && d > 0);
  if (!positive(xShape)) throw new Error(`${op}: x must be [N, Cin, H, W] with positive sizes, got ${shapeString(xShape)}`);
  if (!positive(wShape)) throw new Error(`${op}: w must be [Cout, Cin, K, K] with positive sizes, got ${shapeString(wShape)}`);
  const [n, cin, h, w] = xShape;
  const [cout, wcin, k, k2] = wShape;
  if (wcin !== cin) {
    throw new Error(
      `${op}: x ${shapeString(xShape)} has ${cin} channels but w ${shapeString(wShape)} expects ${wcin} (w is [Cout, Cin, K, K])`,
    );
  }
  if (k !== k2 || k % 2 === 0) throw new Error(`${op}: kernel must be square with an odd size K, got w ${shapeString(wShape)}`);
  const stride = opts.stride ?? 1;
  if (stride !== 1 && stride !== 2) throw new Error(`${op}: stride must be 1 or 2, got ${stride}`);
  const padding = opts.padding ?? 'same';
  const pad = padding === 'same' ? (k - 1) / 2 : padding === 'valid' ? 0 : padding;
  if (!Number.isInteger(pad) || pad < 0)
    throw new Error(`${op}: padding must be 'same', 'valid' or a non-negative integer, got ${padding}`);
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(
      `${op}: kernel ${k}×${k} is larger than the padded input (x ${shapeString(xShape)}, padding ${pad}); use a smaller kernel or more padding`,
    );
  }
  return { n, cin, h, w, cout, k, stride, pad, oh, ow };
}

/** Storage bindings are limited (128 MiB on lavapipe); say so before WebGPU does, with the fix. */
export function assertBindable(op: string, gpu: Gpu, ...tensors: [string, Shape][]): void {
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 4);
    if (bytes > limit) {
      throw new Error(
        `${op}: ${name} ${shapeString(shape)} is ${bytes} bytes, over the ${limit}-byte storage binding limit; lower the batch size`,
      );
    }
  }
}

// ---------------------------------------------------------------- kernel variants

/** The three convolutions of a conv2d layer: y from x, dx from dy, dW from dy and x. */
export type ConvPass = 'forward' | 'input' | 'weight';

export interface ForwardArgs {
  x: Tensor;
  /** x already zero-padded as the kernel's `paddedX` layout (by the op that computed x), which the
   * kernel reads instead of padding x itself. */
  xPadded?: Tensor;
  w: Tensor;
  b: Tensor | null;
  /** The backward will need dx: a kernel may also lay out the weights its input-gradient pass reads
   * (returned as wPacked), in the same dispatch that lays out its own. */
  packForInput?: boolean;
}
/** Weights a forward pass laid out for an input-gradient kernel, named by their layout. */
export interface PackedWeights {
  /** Which layout, e.g. 'packed, flipped': a kernel reads only the one it knows. */
  layout: string;
  tensor: Tensor;
}
export interface InputArgs {
  dy: Tensor;
  /** dy already zero-padded as the kernel's `paddedDy` layout (by the op that computed dy), which
   * the kernel reads instead of padding dy itself. */
  dyPadded?: Tensor;
  w: Tensor;
  /** The weights laid out by the forward pass (its wPacked), which a kernel that knows their layout
   * reads instead of laying them out again. */
  wPacked?: PackedWeights;
}
export interface WeightArgs {
  dy: Tensor;
  x: Tensor;
  /** A zero-padded copy of x that the forward pass made, which a weight kernel may read instead of
   * padding x again (it checks the copy's layout is one it can read). */
  xPadded?: Tensor;
  /** Where a kernel may write dW ([Cout, Cin, K, K]) instead of a new tensor: the weight's
   * gradient slot (src/autograd/graph.ts), so the optimizer needs no copy of it. */
  into?: Tensor;
  /** Where a kernel that declares `sumsBias` writes dB ([Cout], Σ dy over N, OH, OW) beside dW, in
   * the same dispatches; other kernels leave it to conv2dBackwardBias. */
  db?: Tensor;
}

export interface PassTypes {
  forward: { args: ForwardArgs; result: { y: Tensor; xPadded?: Tensor; wPacked?: PackedWeights } };
  input: { args: InputArgs; result: Tensor };
  weight: { args: WeightArgs; result: Tensor };
}

/** One way to compute one pass. Every variant computes the same sums; they differ in speed only,
 * which depends on the adapter, so the tuner (src/gpu/tuner.ts) measures them and picks. */
export interface ConvKernel<P extends ConvPass = ConvPass> {
  /** Unique across kernels of the same pass; what `--conv NAME` forces. */
  name: string;
  pass: P;
  /** Whether it runs on this adapter (features, limits) and geometry; absent: always. */
  applies?: (gpu: Gpu, g: Geometry) => boolean;
  /** Forward pass: the zero-padded layout of x the kernel reads, which x's producer may write
   * (ForwardArgs.xPadded, src/autograd/padded-copies.ts). */
  paddedX?: (g: Geometry) => PaddedLayout;
  /** Input pass: the zero-padded layout of dy the kernel reads, which dy's producer may write
   * (InputArgs.dyPadded, src/autograd/padded-copies.ts). */
  paddedDy?: (g: Geometry) => PaddedLayout;
  /** Weight pass: also writes dB into `args.db` when given (no dispatch of its own). */
  sumsBias?: boolean;
  /** Encodes the pass; shapes are already checked against `g`. */
  run: (gpu: Gpu, args: PassTypes[P]['args'], g: Geometry) => PassTypes[P]['result'];
}

/** A kernel of any pass (what a variant's file exports a list of). */
export type AnyConvKernel = { [P in ConvPass]: ConvKernel<P> }[ConvPass];
