// The packed conv2d kernels (shaders/conv2d.wgsl, conv2d_layout.wgsl, conv2d_weight.wgsl), shaped
// for CPU drivers: the forward pass and the input gradient are both a 'valid' convolution of a
// zero-padded source with repacked weights, 8 output channels × P pixels per invocation, vec4
// loads and no bounds checks; dW is a sliced reduction. Measured on lavapipe and SwiftShader by
// bench/conv2d-variants.ts; the shader headers say why this shape suits them.

import { isUnpadded, type PaddedLayout, paddedGrid } from '../../autograd/padded-copies.ts';
import { type Gpu, grid1d } from '../../gpu/gpu.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import { type AnyConvKernel, assertBindable, type ConvKernel, type Geometry, type WeightArgs } from './geometry.ts';
import { MAX_SLICES, sumSlices } from './slices.ts';

const CONV_WORKGROUP = 64;
/** Output pixels per conv invocation on rows wider than 8: 16 beat 8 by 1.25× on lavapipe (each
 * weight load feeds twice the FMAs); 16 output channels instead of 8 did not pay on either driver. */
const CONV_PIXELS = 16;
/** dw_partial invocations to aim for when splitting the N·OH rows of dW into slices. */
const WEIGHT_INVOCATIONS = 2048;
const CHANNELS = 8; // output channels per conv invocation, fixed by the shader
/** The conv kernel reads its weights from a uniform binding of at most this many bytes (WebGPU's
 * guaranteed maxUniformBufferBindingSize): lavapipe loads a uniform as one scalar for all lanes,
 * where a storage load is a loop over the lanes with a bounds check each, and the weights' loads
 * were half of the kernel's time (2× the GFLOP/s, bench/STEP.md section 9). Layers with more
 * blocks are dispatched a few blocks at a time; a block larger than this reads storage. */
const UNIFORM_BYTES = 65536;
/** Floats a packed block is rounded up to, so that every block starts where a uniform binding may
 * (WebGPU's guaranteed minUniformBufferOffsetAlignment, 256 bytes). */
const BLOCK_ALIGN = 64;
const WEIGHT_PIXELS = 8; // output pixels per dw_partial row segment, fixed by the shader
const WEIGHT_CHANNELS = 8; // output channels per dw_partial invocation, fixed by the shader
const LAYOUT_WG = 64;
/** The name of the flipped layout a forward pass hands to the input gradient (PackedWeights). */
const FLIPPED_LAYOUT = 'packed, flipped';

/** vec4 loads that cover the source values one `pixels`-wide output segment reads along a row. */
function windowVec4s(k: number, stride: number, pixels: number): number {
  return Math.ceil(((pixels - 1) * stride + k) / 4);
}

/** Output pixels per conv invocation: more pixels share each weight load (the loads, not the FMAs,
 * bound a CPU driver), but a row narrower than the segment wastes the rest. */
function convPixels(outW: number): number {
  return outW <= 8 ? 8 : CONV_PIXELS;
}

/** Padded row length (floats) that lets every segment load its source window as whole vec4s. */
function paddedWidth(segs: number, k: number, stride: number, pixels: number): number {
  return (segs - 1) * pixels * stride + windowVec4s(k, stride, pixels) * 4;
}

/** The source of a valid convolution: `src` with `top`/`left` zeros before it (negative: cropped),
 * `dilation - 1` zeros between its pixels, and zeros after it up to `ph`×`pw` (pw a multiple of 4). */
function padded(src: Tensor, layout: PaddedLayout): Tensor {
  const { ph, pw, dilation } = layout;
  const [n, c, h, w] = src.shape;
  // Already laid out so (no border, rows whole vec4s: e.g. a 1×1 conv's source 16 or 32 wide): no copy.
  if (isUnpadded(src.shape, layout)) return src;
  const out = src.gpu.empty([n, c, ph, pw]);
  const grid = paddedGrid(layout, n * c, LAYOUT_WG);
  src.gpu.dispatch({
    shader: 'conv2d_layout',
    entry: 'pad',
    defines: { WG: LAYOUT_WG, D: dilation, BIAS: false, FLIPPED_AT: 3 }, // BIAS, FLIPPED_AT (of repack) are unused here but share the file
    params: { planes: n * c, h, w, ...grid.params },
    buffers: [src, out],
    workgroups: grid.workgroups,
  });
  return out;
}

/** Packed weights: for each block of 8 output channels, [in][ky][kx][8] then one row of bias (zeros
 * if null), written by one repack pass (the bias too: no copy that would split the compute pass).
 * A block's weights are contiguous, so the 2·K vec4 a kernel row needs are neighbours. */
interface Packed {
  tensor: Tensor;
  blocks: number;
  /** Floats per block (rows · 8, rounded up to BLOCK_ALIGN). */
  block: number;
  /** Blocks per conv dispatch, whose weights one uniform binding holds; 0: too big, read storage. */
  chunk: number;
}

/** The sizes of a packed layout: for the forward pass, or `flip`ped for the input gradient (in =
 * Cout, out = Cin, rotated 180°). */
function packedLayout(w: Tensor, flip: boolean): { rows: number; block: number; blocks: number; chunk: number; floats: number } {
  const [cout, cin, k] = w.shape;
  const [inC, outC] = flip ? [cout, cin] : [cin, cout];
  const rows = inC * k * k + 1;
  const block = Math.ceil((rows * CHANNELS) / BLOCK_ALIGN) * BLOCK_ALIGN;
  const blocks = Math.ceil(outC / CHANNELS);
  const chunk = Math.min(blocks, Math.floor(UNIFORM_BYTES / (block * 4)));
  // Whole chunks, so the last dispatch binds as many bytes as the others (the rest is zeros).
  const floats = (chunk ? Math.ceil(blocks / chunk) * chunk : blocks) * block;
  return { rows, block, blocks, chunk, floats };
}

/** Weights repacked for the conv kernel; `flip` for the input gradient. */
function repacked(w: Tensor, bias: Tensor | null, flip: boolean): Packed {
  const gpu = w.gpu;
  const [cout, cin, k] = w.shape;
  const { rows, block, blocks, chunk, floats } = packedLayout(w, flip);
  const tensor = gpu.empty([floats]);
  gpu.dispatch({
    shader: 'conv2d_layout',
    entry: 'repack',
    defines: { WG: LAYOUT_WG, D: 1, BIAS: bias !== null, FLIPPED_AT: bias ? 4 : 3 }, // D (of pad) is unused here but shares the file
    params: { cout, cin, taps: k * k, flip: flip ? 1 : 0, rows, block, total: floats },
    buffers: bias ? [w, tensor, bias] : [w, tensor],
    workgroups: grid1d(floats, LAYOUT_WG),
  });
  return { tensor, blocks, block, chunk };
}

/** Both packed layouts of w in one dispatch: the forward's (with the bias) and the flipped one the
 * input gradient reads, for a forward pass whose backward will need dx. */
function repackedPair(w: Tensor, bias: Tensor | null): { forward: Packed; flipped: Packed } {
  const gpu = w.gpu;
  const [cout, cin, k] = w.shape;
  const f = packedLayout(w, false);
  const b = packedLayout(w, true);
  const forward: Packed = { ...f, tensor: gpu.empty([f.floats]) };
  const flipped: Packed = { ...b, tensor: gpu.empty([b.floats]) };
  gpu.dispatch({
    shader: 'conv2d_layout',
    entry: 'repack_pair',
    defines: { WG: LAYOUT_WG, D: 1, BIAS: bias !== null, FLIPPED_AT: bias ? 4 : 3 },
    params: {
      cout,
      cin,
      taps: k * k,
      rows: f.rows,
      block: f.block,
      total: f.floats,
      rows_flipped: b.rows,
      block_flipped: b.block,
      total_flipped: b.floats,
    },
    buffers: bias ? [w, forward.tensor, bias, flipped.tensor] : [w, forward.tensor, flipped.tensor],
    workgroups: grid1d(Math.max(f.floats, b.floats), LAYOUT_WG),
  });
  return { forward, flipped };
}

/** Valid convolution of a padded source `src` [N, inC, ph, pw] with packed weights into `out`,
 * `pixels` output pixels per invocation (the source padded for that), each accumulator update
 * summing the taps of `rows` kernel rows (1 or K: see the shader), the weights read from uniform
 * bindings where `uniformWeights` and they fit, else from storage. */
function validConv(
  src: Tensor,
  packed: Packed,
  out: Tensor,
  k: number,
  stride: number,
  pixels: number,
  rows: number,
  uniformWeights: boolean,
): void {
  const [n, inC, ph, pw] = src.shape;
  const [, outC, outH, outW] = out.shape;
  const segs = Math.ceil(outW / pixels);
  const count = n * outH * segs;
  const [x, y] = grid1d(count, CONV_WORKGROUP);
  const { tensor, blocks, block } = packed;
  const chunk = uniformWeights ? packed.chunk : 0;
  const defines = {
    K: k,
    S: stride,
    P: pixels,
    P4: pixels / 4,
    ROWS: rows,
    ROW_LOOP: rows < k,
    WG: CONV_WORKGROUP,
    WIN4: windowVec4s(k, stride, pixels),
    WT_UNIFORM: chunk > 0,
    WT4: (chunk * block) / 4,
  };
  const params = { in_c: inC, out_c: outC, out_h: outH, out_w: outW, ph, pw4: pw / 4, segs, count, block4: block / 4 };
  // Storage: every block in one dispatch. Uniform: `chunk` blocks per dispatch, each binding its window.
  const step = chunk || blocks;
  for (let first = 0; first < blocks; first += step) {
    const weights = chunk ? { buffer: tensor.buffer, offset: tensor.byteOffset + first * block * 4, size: chunk * block * 4 } : tensor;
    src.gpu.dispatch({
      shader: 'conv2d',
      entry: 'conv',
      defines,
      params: { ...params, block0: first },
      buffers: [src, weights, out],
      workgroups: [x, y, Math.min(step, blocks - first)],
    });
  }
}

/** The forward pass, returning the zero-padded x it read: the weight gradient can read the same
 * padding (its rows are never wider) instead of padding x again; and, with `packForInput`, the
 * flipped weights the input gradient reads, packed by the same dispatch. */
/** The padded x the forward pass reads: the conv's own border, rows of whole segments. */
function forwardPadding(g: Geometry): PaddedLayout {
  const segs = Math.ceil(g.ow / convPixels(g.ow));
  return { ph: (g.oh - 1) * g.stride + g.k, pw: paddedWidth(segs, g.k, g.stride, convPixels(g.ow)), top: g.pad, left: g.pad, dilation: 1 };
}

function forward(rowsPerUpdate: 'one' | 'all'): ConvKernel<'forward'>['run'] {
  return (gpu, { x, xPadded, w, b, packForInput }, g) => {
    const yShape = [g.n, g.cout, g.oh, g.ow];
    const pixels = convPixels(g.ow);
    const layout = forwardPadding(g);
    assertBindable('conv2d', gpu, ['x', x.shape], ['y', yShape], ['zero-padded x', [g.n, g.cin, layout.ph, layout.pw]]);
    const src = xPadded ?? padded(x, layout);
    const y = gpu.empty(yShape);
    const packed = packForInput ? repackedPair(w, b) : { forward: repacked(w, b, false), flipped: null };
    validConv(src, packed.forward, y, g.k, g.stride, pixels, rowsPerUpdate === 'all' ? g.k : 1, rowsPerUpdate === 'one');
    return { y, xPadded: src, ...(packed.flipped ? { wPacked: { layout: FLIPPED_LAYOUT, tensor: packed.flipped.tensor } } : {}) };
  };
}

/** The padded dy the input gradient reads: dilated by S and padded by K-1-pad, rows of whole segments. */
function inputPadding(g: Geometry): PaddedLayout {
  const pixels = convPixels(g.w);
  const segs = Math.ceil(g.w / pixels);
  const edge = g.k - 1 - g.pad;
  return { ph: g.h - 1 + g.k, pw: paddedWidth(segs, g.k, 1, pixels), top: edge, left: edge, dilation: g.stride };
}

/** dx is a stride-1 convolution of dy, dilated by S and padded by K-1-pad, with the weights
 * transposed (Cin ↔ Cout) and rotated 180°; dy padded so by its producer (`dyPadded`) or here. */
function input(rowsPerUpdate: 'one' | 'all'): ConvKernel<'input'>['run'] {
  return (gpu, { dy, dyPadded, w, wPacked }, g) => {
    const xShape = [g.n, g.cin, g.h, g.w];
    const pixels = convPixels(g.w);
    const layout = inputPadding(g);
    assertBindable('conv2d backward input', gpu, ['dy', dy.shape], ['dx', xShape], ['zero-padded dy', [g.n, g.cout, layout.ph, layout.pw]]);
    const src = dyPadded ?? padded(dy, layout);
    const dx = gpu.empty(xShape);
    // The flipped weights the forward pass packed, where it did (the layout depends on w's shape only).
    const packed = wPacked?.layout === FLIPPED_LAYOUT ? { ...packedLayout(w, true), tensor: wPacked.tensor } : repacked(w, null, true);
    validConv(src, packed, dx, g.k, 1, pixels, rowsPerUpdate === 'all' ? g.k : 1, rowsPerUpdate === 'one');
    return dx;
  };
}

/** dW, and with `db` dB = Σ dy per output channel, summed by the same two dispatches (see the shader). */
function weight(gpu: Gpu, { dy, x, xPadded, into, db }: WeightArgs, g: Geometry): Tensor {
  const segs = Math.ceil(g.ow / WEIGHT_PIXELS);
  const pw = paddedWidth(segs, g.k, g.stride, WEIGHT_PIXELS);
  const ph = (g.oh - 1) * g.stride + g.k;
  assertBindable(
    'conv2d backward weight',
    gpu,
    ['x', x.shape],
    ['dy', dy.shape],
    ['zero-padded x', [g.n, g.cin, ph, pw]],
    ['padded dy', [g.n, g.cout, g.oh, segs * WEIGHT_PIXELS]],
  );
  // x as the forward pass padded it (`xPadded`: same border, rows at least as long), else padded here.
  const reuse = xPadded && xPadded.shape[2] === ph && xPadded.shape[3] >= pw && xPadded.shape[3] % 4 === 0;
  const xs = reuse ? xPadded : padded(x, { ph, pw, top: g.pad, left: g.pad, dilation: 1 });
  // dy rows padded to whole segments; rows already a multiple of 8 wide are read as they are.
  const dys = padded(dy, { ph: g.oh, pw: segs * WEIGHT_PIXELS, top: 0, left: 0, dilation: 1 });
  const size = g.cout * g.cin * g.k * g.k;
  // Two input channels per invocation only where it pays for its compile time (see the shader), and
  // where it leaves 8 input-channel blocks, so that a subgroup's lanes still share dy (DY_BROADCAST):
  // 8→8 at 32×32, batch 32, 1.64 -> 1.18 ms with one channel per lane and the broadcast.
  const ci2 = g.k <= 3 && g.stride === 1 && g.cin >= 16;
  const ciBlocks = Math.ceil(g.cin / (ci2 ? 2 : 1));
  // Lanes span input-channel blocks first: a power of two up to 64 that divides them where there
  // are 8 or more (no idle lanes); fewer leave the rest of a workgroup of 8 to row slices.
  const wg = Math.max(8, Math.min(64, ciBlocks & -ciBlocks));
  const ciLanes = Math.min(wg, 2 ** Math.ceil(Math.log2(ciBlocks)));
  const sliceLanes = wg / ciLanes;
  const groups = [Math.ceil(ciBlocks / ciLanes), Math.ceil(g.cout / WEIGHT_CHANNELS)];
  const broadcast = ciLanes === wg && gpu.info.hasSubgroups && gpu.info.subgroupMinSize >= 4;
  const rows = g.n * g.oh;
  const wanted = Math.min(Math.ceil(WEIGHT_INVOCATIONS / (groups[0] * ciLanes * groups[1])), rows, MAX_SLICES);
  const rowsPerSlice = Math.ceil(rows / wanted);
  const slices = Math.ceil(rows / rowsPerSlice);
  const dw = into ?? gpu.empty([g.cout, g.cin, g.k, g.k]);
  const part = slices === 1 ? dw : gpu.empty([slices, size]);
  const biasPart = db && (slices === 1 ? db : gpu.empty([slices, g.cout]));
  gpu.dispatch({
    shader: 'conv2d_weight',
    entry: 'dw_partial',
    defines: {
      K: g.k,
      S: g.stride,
      WG: wg,
      CI_LANES: ciLanes,
      CI2: ci2,
      WIN4: windowVec4s(g.k, g.stride, WEIGHT_PIXELS),
      BIAS_SUM: db !== undefined,
      // Lanes then differ only in input channels: a subgroup's first 4 or 8 can share the dy loads.
      DY_BROADCAST: broadcast,
      SHARERS: broadcast ? Math.min(8, gpu.info.subgroupMinSize) : 8,
    },
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
    buffers: biasPart ? [dys, xs, part, biasPart] : [dys, xs, part],
    workgroups: [groups[0], groups[1], Math.ceil(slices / sliceLanes)],
  });
  if (slices > 1) sumSlices(gpu, part, dw, slices, db && biasPart ? { part: biasPart, db } : undefined);
  return dw;
}

/** Where 'packed-rows' applies: kernels of more than one row (with K = 1 it is 'packed'). */
const hasRows = (_: Gpu, g: Geometry) => g.k > 1;

/** Two shapes of one kernel, each the best of its driver. 'packed' updates each accumulator once
 * per kernel row (lavapipe's LLVM then keeps fewer values live: 1.45× faster there) and reads the
 * weights from uniform bindings (2.2× again there); 'packed-rows' updates once per K rows, written
 * out with no row loop (SwiftShader's JIT keeps accumulators in memory, so fewer updates pay: 1.6×
 * faster there), and reads the weights from storage (uniform bindings were 0.7–0.8× there). With
 * K = 1 there are no rows to sum, and 'packed' alone applies. */
export const PACKED_KERNELS: AnyConvKernel[] = [
  { name: 'packed', pass: 'forward', paddedX: forwardPadding, run: forward('one') } satisfies ConvKernel<'forward'>,
  { name: 'packed-rows', pass: 'forward', applies: hasRows, paddedX: forwardPadding, run: forward('all') } satisfies ConvKernel<'forward'>,
  { name: 'packed', pass: 'input', paddedDy: inputPadding, run: input('one') } satisfies ConvKernel<'input'>,
  { name: 'packed-rows', pass: 'input', applies: hasRows, paddedDy: inputPadding, run: input('all') } satisfies ConvKernel<'input'>,
  { name: 'packed', pass: 'weight', sumsBias: true, run: weight } satisfies ConvKernel<'weight'>,
];
