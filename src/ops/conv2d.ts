// 2-D convolution (NCHW, f32, square odd K×K kernel, stride 1 or 2, zero padding): the forward pass,
// the three backward passes, and the autograd wrapper. The forward pass and the input gradient are
// both a 'valid' convolution of a zero-padded source (shaders/conv2d_layout.wgsl, conv2d.wgsl);
// dW and dB are reductions (shaders/conv2d_weight.wgsl).
// The formulations and tile sizes were chosen by bench/conv2d-formulations.ts on lavapipe.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { type Gpu, grid1d, MAX_WORKGROUPS } from '../gpu/gpu.ts';
import { type Shape, shapeString, type Tensor } from '../gpu/tensor.ts';
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
      throw new Error(
        `${op}: ${name} ${shapeString(shape)} is ${bytes} bytes, over the ${limit}-byte storage binding limit; lower the batch size`,
      );
    }
  }
}

// ---------------------------------------------------------------- conv kernel (forward, dx)

/** The knobs of the conv kernels, measured on lavapipe and SwiftShader by comparing settings inside
 * one process (bench/conv2d-formulations.ts, and per-kernel step profiles): the machine's noise
 * between runs is larger than most of these differences. */
export const conv2dTuning = {
  convWorkgroup: 64,
  /** Output pixels per conv invocation on rows wider than 8: 16 beat 8 by 1.25× on lavapipe (each
   * weight load feeds twice the FMAs); 16 output channels instead of 8 did not pay on either. */
  convPixels: 16,
  /** Kernel rows whose taps each accumulator update of the conv kernel sums: 'auto' picks K on
   * SwiftShader, whose JIT keeps the accumulators in memory (each update a load and a store, so
   * fewer updates pay: 1.6× faster there), and 1 elsewhere (lavapipe's LLVM then keeps fewer
   * values live: 1.45× faster there). Tests force each. */
  convTapRows: 'auto' as 'auto' | 'one' | 'all',
  /** dw_partial invocations to aim for when splitting the N·OH rows of dW into slices. */
  weightInvocations: 2048,
};

function tapRows(gpu: Gpu, k: number): number {
  const choice = conv2dTuning.convTapRows;
  return choice === 'all' || (choice === 'auto' && gpu.info.architecture === 'swiftshader') ? k : 1;
}

const CHANNELS = 8; // output channels per conv invocation, fixed by the shader
const WEIGHT_PIXELS = 8; // output pixels per dw_partial row segment, fixed by the shader
const WEIGHT_CHANNELS = 8; // output channels per dw_partial invocation, fixed by the shader
const LAYOUT_WG = 64;

/** Output pixels per conv invocation: more pixels share each weight load (the loads, not the FMAs,
 * bound a CPU driver), but a row narrower than the segment wastes the rest. */
function convPixels(outW: number): number {
  return outW <= 8 ? 8 : conv2dTuning.convPixels;
}

/** vec4 loads that cover the source values one `pixels`-wide output segment reads along a row. */
function windowVec4s(k: number, stride: number, pixels: number): number {
  return Math.ceil(((pixels - 1) * stride + k) / 4);
}

/** Padded row length (floats) that lets every segment load its source window as whole vec4s. */
function paddedWidth(segs: number, k: number, stride: number, pixels: number): number {
  return (segs - 1) * pixels * stride + windowVec4s(k, stride, pixels) * 4;
}

/** Planes (N·C) each pad invocation copies: its index arithmetic, integer divisions included (a
 * lane at a time on CPU drivers), is done once for all of them: 2× faster than one plane each. */
const PAD_PLANES = 8;

/** The source of a valid convolution: `src` with `top`/`left` zeros before it (negative: cropped),
 * `dilation - 1` zeros between its pixels, and zeros after it up to `ph`×`pw` (pw a multiple of 4). */
function padded(src: Tensor, ph: number, pw: number, top: number, left: number, dilation: number): Tensor {
  const [n, c, h, w] = src.shape;
  const out = src.gpu.empty([n, c, ph, pw]);
  const cells = ph * (pw / 4);
  src.gpu.dispatch({
    shader: 'conv2d_layout',
    entry: 'pad',
    defines: { WG: LAYOUT_WG, D: dilation, BIAS: false }, // BIAS (of repack) is unused here but shares the file
    params: { planes: n * c, h, w, pw4: pw / 4, cells, top, left },
    buffers: [src, out],
    workgroups: [Math.ceil(cells / LAYOUT_WG), Math.min(Math.ceil((n * c) / PAD_PLANES), MAX_WORKGROUPS), 1],
  });
  return out;
}

/** Packed weights: for each block of 8 output channels, [in][ky][kx][8] then one row of bias (zeros
 * if null), written by one repack pass (the bias too: no copy that would split the compute pass).
 * A block's weights are contiguous, so the 2·K vec4 a kernel row needs are neighbours. */
interface Packed {
  tensor: Tensor;
  blocks: number;
  /** Floats per block. */
  block: number;
}

/** Weights repacked for the conv kernel; `flip` for the input gradient (in = Cout, out = Cin,
 * rotated 180°). */
function repacked(w: Tensor, bias: Tensor | null, flip: boolean): Packed {
  const gpu = w.gpu;
  const [cout, cin, k] = w.shape;
  const [inC, outC] = flip ? [cout, cin] : [cin, cout];
  const rows = inC * k * k + 1;
  const block = rows * CHANNELS;
  const blocks = Math.ceil(outC / CHANNELS);
  const tensor = gpu.empty([blocks * block]);
  gpu.dispatch({
    shader: 'conv2d_layout',
    entry: 'repack',
    defines: { WG: LAYOUT_WG, D: 1, BIAS: bias !== null }, // D (of pad) is unused here but shares the file
    params: { cout, cin, taps: k * k, flip: flip ? 1 : 0, rows, block, total: blocks * block },
    buffers: bias ? [w, tensor, bias] : [w, tensor],
    workgroups: grid1d(blocks * block, LAYOUT_WG),
  });
  return { tensor, blocks, block };
}

/** Valid convolution of a padded source `src` [N, inC, ph, pw] with packed weights into `out`,
 * `pixels` output pixels per invocation (the source padded for that). */
function validConv(src: Tensor, packed: Packed, out: Tensor, k: number, stride: number, pixels: number): void {
  const [n, inC, ph, pw] = src.shape;
  const [, outC, outH, outW] = out.shape;
  const segs = Math.ceil(outW / pixels);
  const count = n * outH * segs;
  const wg = conv2dTuning.convWorkgroup;
  const [x, y] = grid1d(count, wg);
  const rows = tapRows(src.gpu, k);
  src.gpu.dispatch({
    shader: 'conv2d',
    entry: 'conv',
    defines: { K: k, S: stride, P: pixels, P4: pixels / 4, ROWS: rows, ROW_LOOP: rows < k, WG: wg, WIN4: windowVec4s(k, stride, pixels) },
    params: { in_c: inC, out_c: outC, out_h: outH, out_w: outW, ph, pw4: pw / 4, segs, count, block4: packed.block / 4 },
    buffers: [src, packed.tensor, out],
    workgroups: [x, y, packed.blocks],
  });
}

export function conv2dForward(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor {
  return forwardPadded(x, w, b, opts).y;
}

/** The forward pass, and the zero-padded x it read: the weight gradient can read the same padding
 * (its rows are never wider) instead of padding x again. */
function forwardPadded(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): { y: Tensor; xPadded: Tensor } {
  const op = 'conv2d';
  assertRank(op, 'x', x, 4);
  assertRank(op, 'w', w, 4);
  const g = geometry(op, x.shape, w.shape, opts);
  if (b) assertShape(op, 'bias b', b, [g.cout]);
  const yShape = [g.n, g.cout, g.oh, g.ow];
  const pixels = convPixels(g.ow);
  const segs = Math.ceil(g.ow / pixels);
  const [ph, pw] = [(g.oh - 1) * g.stride + g.k, paddedWidth(segs, g.k, g.stride, pixels)];
  assertBindable(op, x.gpu, ['x', x.shape], ['y', yShape], ['zero-padded x', [g.n, g.cin, ph, pw]]);
  const src = padded(x, ph, pw, g.pad, g.pad, 1);
  const y = x.gpu.empty(yShape);
  validConv(src, repacked(w, b, false), y, g.k, g.stride, pixels);
  return { y, xPadded: src };
}

/** dx[n, ci, iy, ix] = Σ over co, ky, kx with oy·S - pad + ky = iy (same for x) of dy[n, co, oy, ox] · w[co, ci, ky, kx].
 * That is a stride-1 convolution of dy, dilated by S and padded by K-1-pad, with the weights
 * transposed (Cin ↔ Cout) and rotated 180°. */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: Shape, opts?: Conv2dOptions): Tensor {
  const op = 'conv2d backward input';
  assertRank(op, 'w', w, 4);
  const g = geometry(op, xShape, w.shape, opts);
  assertShape(op, 'dy', dy, [g.n, g.cout, g.oh, g.ow]);
  const pixels = convPixels(g.w);
  const segs = Math.ceil(g.w / pixels);
  const [ph, pw] = [g.h - 1 + g.k, paddedWidth(segs, g.k, 1, pixels)];
  assertBindable(op, dy.gpu, ['dy', dy.shape], ['dx', xShape], ['zero-padded dy', [g.n, g.cout, ph, pw]]);
  const edge = g.k - 1 - g.pad;
  const src = padded(dy, ph, pw, edge, edge, g.stride);
  const dx = dy.gpu.empty(xShape);
  validConv(src, repacked(w, null, true), dx, g.k, 1, pixels);
  return dx;
}

// ---------------------------------------------------------------- parameter gradients

const DW_MAX_SLICES = 64;
/** dw_reduce and db share conv2d_weight.wgsl with dw_partial but use none of its constants: fixed
 * values keep them to one compiled pipeline each. */
const SUM_DEFINES = { K: 1, S: 1, CI2: false, WG: 64, CI_LANES: 64, WIN4: windowVec4s(1, 1, WEIGHT_PIXELS) };

/** dW[co, ci, ky, kx] = Σ over n, oy, ox of dy[n, co, oy, ox] · x[n, ci, oy·S - pad + ky, ox·S - pad + kx]. */
export function conv2dBackwardWeight(dy: Tensor, x: Tensor, wShape: Shape, opts?: Conv2dOptions, xPadded?: Tensor): Tensor {
  const op = 'conv2d backward weight';
  assertRank(op, 'x', x, 4);
  const g = geometry(op, x.shape, wShape, opts);
  assertShape(op, 'dy', dy, [g.n, g.cout, g.oh, g.ow]);
  const gpu = x.gpu;
  const segs = Math.ceil(g.ow / WEIGHT_PIXELS);
  const pw = paddedWidth(segs, g.k, g.stride, WEIGHT_PIXELS);
  const ph = (g.oh - 1) * g.stride + g.k;
  assertBindable(
    op,
    gpu,
    ['x', x.shape],
    ['dy', dy.shape],
    ['zero-padded x', [g.n, g.cin, ph, pw]],
    ['padded dy', [g.n, g.cout, g.oh, segs * WEIGHT_PIXELS]],
  );
  // x as the forward pass padded it (`xPadded`: same border, rows at least as long), else padded here.
  const reuse = xPadded && xPadded.shape[2] === ph && xPadded.shape[3] >= pw;
  const xs = reuse ? xPadded : padded(x, ph, pw, g.pad, g.pad, 1);
  // dy rows padded to whole segments; rows already a multiple of 8 wide are read as they are.
  const dys = segs * WEIGHT_PIXELS === g.ow ? dy : padded(dy, g.oh, segs * WEIGHT_PIXELS, 0, 0, 1);
  const size = g.cout * g.cin * g.k * g.k;
  // Two input channels per invocation only where it pays for its compile time (see the shader).
  const ci2 = g.k <= 3 && g.stride === 1;
  const ciBlocks = Math.ceil(g.cin / (ci2 ? 2 : 1));
  // Lanes span input-channel blocks first: a power of two up to 64 that divides them where there
  // are 8 or more (no idle lanes); fewer leave the rest of a workgroup of 8 to row slices.
  const wg = Math.max(8, Math.min(64, ciBlocks & -ciBlocks));
  const ciLanes = Math.min(wg, 2 ** Math.ceil(Math.log2(ciBlocks)));
  const sliceLanes = wg / ciLanes;
  const groups = [Math.ceil(ciBlocks / ciLanes), Math.ceil(g.cout / WEIGHT_CHANNELS)];
  const rows = g.n * g.oh;
  const wanted = Math.min(Math.ceil(conv2dTuning.weightInvocations / (groups[0] * ciLanes * groups[1])), rows, DW_MAX_SLICES);
  const rowsPerSlice = Math.ceil(rows / wanted);
  const slices = Math.ceil(rows / rowsPerSlice);
  const dw = gpu.empty(wShape);
  const part = slices === 1 ? dw : gpu.empty([slices, size]);
  gpu.dispatch({
    shader: 'conv2d_weight',
    entry: 'dw_partial',
    defines: { K: g.k, S: g.stride, WG: wg, CI_LANES: ciLanes, CI2: ci2, WIN4: windowVec4s(g.k, g.stride, WEIGHT_PIXELS) },
    params: {
      in_c: g.cin,
      out_c: g.cout,
      out_h: g.oh,
      segs,
      ph,
      pw4: xs.shape[3] / 4,
      rows,
      rows_per_slice: rowsPerSlice,
      slices,
      size,
    },
    buffers: [dys, xs, part],
    workgroups: [groups[0], groups[1], Math.ceil(slices / sliceLanes)],
  });
  if (slices > 1) {
    gpu.dispatch({
      shader: 'conv2d_weight',
      entry: 'dw_reduce',
      defines: SUM_DEFINES,
      params: { size, slices },
      buffers: [part, dw],
      workgroups: grid1d(size, SUM_DEFINES.WG),
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
    defines: SUM_DEFINES,
    params: { batch: n, channels: c, plane: h * w },
    buffers: [dy, db],
    workgroups: [c],
  });
  return db;
}

// ---------------------------------------------------------------- autograd

export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor {
  const { y, xPadded } = forwardPadded(x, w, b, opts);
  return record(y, 'conv2d', b ? [x, w, b] : [x, w], () => {
    const dy = y.grad!;
    if (x.requiresGrad) accumulateGrad(x, conv2dBackwardInput(dy, w, x.shape, opts));
    if (w.requiresGrad) accumulateGrad(w, conv2dBackwardWeight(dy, x, w.shape, opts, xPadded));
    if (b?.requiresGrad) accumulateGrad(b, conv2dBackwardBias(dy));
  });
}
