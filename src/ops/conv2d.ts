// 2-D convolution (NCHW, f32, square odd K×K kernel, stride 1 or 2, zero padding): the forward pass,
// the three backward passes, and the autograd wrapper. Kernels in shaders/conv2d.wgsl (forward and
// input gradient, one loop run either way round) and shaders/conv2d_weight.wgsl (dW, dB).
// The formulations and tile sizes were chosen by bench/conv2d-formulations.ts on lavapipe.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d, type Gpu } from '../gpu/gpu.ts';
import { shapeString, type Shape, type Tensor } from '../gpu/tensor.ts';
import { assertRank, assertShape } from './check.ts';

export type Padding = 'same' | 'valid' | number;

export interface Conv2dOptions {
  stride?: 1 | 2;
  /** 'same' pads (K-1)/2 (output ceil(H/stride)), 'valid' pads 0, a number pads that many zeros. */
  padding?: Padding;
}

/** Every size a conv kernel needs, checked once. */
interface Geometry {
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
function geometry(op: string, xShape: Shape, wShape: Shape, opts: Conv2dOptions = {}): Geometry {
  const positive = (s: Shape) => s.length === 4 && s.every((d) => Number.isInteger(d) && d > 0);
  if (!positive(xShape)) throw new Error(`${op}: x must be [N, Cin, H, W] with positive sizes, got ${shapeString(xShape)}`);
  if (!positive(wShape)) throw new Error(`${op}: w must be [Cout, Cin, K, K] with positive sizes, got ${shapeString(wShape)}`);
  const [n, cin, h, w] = xShape;
  const [cout, wcin, k, k2] = wShape;
  if (wcin !== cin) {
    throw new Error(`${op}: x ${shapeString(xShape)} has ${cin} channels but w ${shapeString(wShape)} expects ${wcin} (w is [Cout, Cin, K, K])`);
  }
  if (k !== k2 || k % 2 === 0) throw new Error(`${op}: kernel must be square with an odd size K, got w ${shapeString(wShape)}`);
  const stride = opts.stride ?? 1;
  if (stride !== 1 && stride !== 2) throw new Error(`${op}: stride must be 1 or 2, got ${stride}`);
  const padding = opts.padding ?? 'same';
  const pad = padding === 'same' ? (k - 1) / 2 : padding === 'valid' ? 0 : padding;
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`${op}: padding must be 'same', 'valid' or a non-negative integer, got ${padding}`);
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - k) / stride) + 1;
  if (oh < 1 || ow < 1) {
    throw new Error(`${op}: kernel ${k}×${k} is larger than the padded input (x ${shapeString(xShape)}, padding ${pad}); use a smaller kernel or more padding`);
  }
  return { n, cin, h, w, cout, k, stride, pad, oh, ow };
}

export function conv2dOutputShape(xShape: Shape, wShape: Shape, opts?: Conv2dOptions): number[] {
  const g = geometry('conv2d', xShape, wShape, opts);
  return [g.n, g.cout, g.oh, g.ow];
}

/** Storage bindings are limited (128 MiB on lavapipe); say so before WebGPU does, with the fix. */
function assertBindable(op: string, gpu: Gpu, ...tensors: [string, Shape][]): void {
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  for (const [name, shape] of tensors) {
    const bytes = shape.reduce((a, b) => a * b, 4);
    if (bytes > limit) {
      throw new Error(`${op}: ${name} ${shapeString(shape)} is ${bytes} bytes, over the ${limit}-byte storage binding limit; lower the batch size`);
    }
  }
}

// ---------------------------------------------------------------- conv kernel (forward, dx)

/** Output pixels per invocation (a row segment) and workgroup size of the conv kernel. */
const PIXELS = 4;
const CONV_WG = 64;

/** Output channels per invocation: 8 when there are enough of them, else 4 (1×1 heads, small Cout). */
function channelBlock(outChannels: number): 4 | 8 {
  return outChannels >= 8 ? 8 : 4;
}

/** Runs the conv loop: reads `inShape` through the weights into `out` (`outShape`). TRANSPOSED is the
 * input-gradient direction: it reads dy and writes dx with the forward conv's weights. */
function runConv(src: Tensor, weight: Tensor, bias: Tensor | null, out: Tensor, g: Geometry, transposed: boolean): void {
  const [inC, inH, inW, outC, outH, outW] = transposed ? [g.cout, g.oh, g.ow, g.cin, g.h, g.w] : [g.cin, g.h, g.w, g.cout, g.oh, g.ow];
  const segs = Math.ceil(outW / PIXELS);
  const total = g.n * outH * segs;
  const cb = channelBlock(outC);
  const [x, y] = grid1d(total, CONV_WG);
  src.gpu.dispatch({
    shader: 'conv2d',
    entry: 'conv',
    defines: { K: g.k, S: g.stride, WG: CONV_WG, CB: cb, G2: cb === 8, TRANSPOSED: transposed, HAS_BIAS: bias !== null },
    params: new Uint32Array([g.n, inC, inH, inW, outC, outH, outW, g.pad, segs, total]),
    buffers: bias ? [src, weight, bias, out] : [src, weight, out],
    workgroups: [x, y, Math.ceil(outC / cb)],
  });
}

export function conv2dForward(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor {
  const op = 'conv2d';
  assertRank(op, 'x', x, 4);
  assertRank(op, 'w', w, 4);
  const g = geometry(op, x.shape, w.shape, opts);
  if (b) assertShape(op, 'bias b', b, [g.cout]);
  const yShape = [g.n, g.cout, g.oh, g.ow];
  assertBindable(op, x.gpu, ['x', x.shape], ['y', yShape]);
  const y = x.gpu.empty(yShape);
  runConv(x, w, b, y, g, false);
  return y;
}

/** dx[n, ci, iy, ix] = Σ over co, ky, kx with oy·S - pad + ky = iy (same for x) of dy[n, co, oy, ox] · w[co, ci, ky, kx]. */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: Shape, opts?: Conv2dOptions): Tensor {
  const op = 'conv2d backward input';
  assertRank(op, 'w', w, 4);
  const g = geometry(op, xShape, w.shape, opts);
  assertShape(op, 'dy', dy, [g.n, g.cout, g.oh, g.ow]);
  assertBindable(op, dy.gpu, ['dy', dy.shape], ['dx', xShape]);
  const dx = dy.gpu.empty(xShape);
  runConv(dy, w, null, dx, g, true);
  return dx;
}

// ---------------------------------------------------------------- parameter gradients

const DW_WG = 16;
/** Aim for about this many workgroups in dw_partial, splitting the N·OH rows into slices if needed. */
const DW_TARGET_GROUPS = 512;
const DW_MAX_SLICES = 64;
const REDUCE_WG = 64;

/** dW[co, ci, ky, kx] = Σ over n, oy, ox of dy[n, co, oy, ox] · x[n, ci, oy·S - pad + ky, ox·S - pad + kx]. */
export function conv2dBackwardWeight(dy: Tensor, x: Tensor, wShape: Shape, opts?: Conv2dOptions): Tensor {
  const op = 'conv2d backward weight';
  assertRank(op, 'x', x, 4);
  const g = geometry(op, x.shape, wShape, opts);
  assertShape(op, 'dy', dy, [g.n, g.cout, g.oh, g.ow]);
  assertBindable(op, x.gpu, ['x', x.shape], ['dy', dy.shape]);
  const gpu = x.gpu;
  const size = g.cout * g.cin * g.k * g.k;
  const groupsX = Math.ceil(g.cin / DW_WG);
  const groupsY = Math.ceil(g.cout / 8) * g.k * g.k;
  const rows = g.n * g.oh;
  const wanted = Math.min(Math.ceil(DW_TARGET_GROUPS / (groupsX * groupsY)), rows, DW_MAX_SLICES);
  const rowsPerSlice = Math.ceil(rows / wanted);
  const slices = Math.ceil(rows / rowsPerSlice);
  const dw = gpu.empty(wShape);
  const part = slices === 1 ? dw : gpu.empty([slices, size]);
  gpu.dispatch({
    shader: 'conv2d_weight',
    entry: 'dw_partial',
    defines: { K: g.k, S: g.stride, WG: DW_WG },
    params: new Uint32Array([g.n, g.cin, g.h, g.w, g.cout, g.oh, g.ow, g.pad, rowsPerSlice, size]),
    buffers: [dy, x, part],
    workgroups: [groupsX, groupsY, slices],
  });
  if (slices > 1) {
    gpu.dispatch({
      shader: 'conv2d_weight',
      entry: 'dw_reduce',
      defines: { K: g.k, S: g.stride, WG: REDUCE_WG },
      params: new Uint32Array([size, slices]),
      buffers: [part, dw],
      workgroups: grid1d(size, REDUCE_WG),
    });
  }
  return dw;
}

/** dB[co] = Σ over n, oy, ox of dy[n, co, oy, ox]. */
export function conv2dBackwardBias(dy: Tensor): Tensor {
  const op = 'conv2d backward bias';
  assertRank(op, 'dy', dy, 4);
  if (dy.size === 0) throw new Error(`${op}: dy ${shapeString(dy.shape)} is empty`);
  const [n, c, h, w] = dy.shape;
  const db = dy.gpu.empty([c]);
  dy.gpu.dispatch({
    shader: 'conv2d_weight',
    entry: 'db',
    defines: { K: 1, S: 1, WG: REDUCE_WG },
    params: new Uint32Array([n, c, h * w]),
    buffers: [dy, db],
    workgroups: [c],
  });
  return db;
}

// ---------------------------------------------------------------- autograd

export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor {
  const y = conv2dForward(x, w, b, opts);
  return record(y, 'conv2d', b ? [x, w, b] : [x, w], () => {
    const dy = y.grad!;
    if (x.requiresGrad) accumulateGrad(x, conv2dBackwardInput(dy, w, x.shape, opts));
    if (w.requiresGrad) accumulateGrad(w, conv2dBackwardWeight(dy, x, w.shape, opts));
    if (b?.requiresGrad) accumulateGrad(b, conv2dBackwardBias(dy));
  });
}
