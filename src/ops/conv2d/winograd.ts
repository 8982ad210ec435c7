// The Winograd conv2d kernels (shaders/conv2d_winograd.wgsl), F(2×2, 3×3), 3×3 stride 1 only: 16
// multiplies per input–output channel pair and 2×2 output tile instead of 36, the rest cheap
// transforms shared across channels. The forward pass and the input gradient (the flipped weights)
// transform the filters and the source tiles, then one kernel sums the channel products and
// transforms them back to the output. Float32 error is larger than a direct sum's (the transforms
// scale the products by up to 9): test/ops/conv2d-winograd.test.ts derives and checks the bound.
// The weight gradient, F(3×3, 2×2), transforms the source's tiles as the forward does and dy's 2×2
// tiles, sums their 16 channel products over the batch's tiles in slices, and transforms the sums
// to the 3×3 filters.
// The transformed filters, tiles, products and partial sums are each op's own scratch, read by no
// later op: they live in the step's scratch buffers (Gpu.scratch, one per role below), which every
// Winograd convolution of the step shares, so that they take the largest layer's size, not the sum
// of all layers' (16 floats per 2×2 outputs: 4× the tensor transformed).
import { type Gpu, grid1d, MAX_WORKGROUPS } from '../../gpu/gpu.ts';
import { sizeOf, type Tensor } from '../../gpu/tensor.ts';
import { type AnyConvKernel, assertBindable, type ConvKernel, type Geometry, type WeightArgs } from './geometry.ts';
import { MAX_SLICES } from './slices.ts';

/** Output channels × tiles per gemm invocation, defines of the shader. */
const CO = 8;
const P = 16;
const WG = 64; // the shader's workgroup size
/** Planes (N·C) each tile-transform invocation covers: its offsets and masks are computed once. */
const TILE_PLANES = 8;

/** F(2×2, 3×3) applies to 3×3 kernels at stride 1 (any padding) where its tiles fit a storage
 * binding: 16 values per 2×2 outputs, 4× the tensor they transform, so a batch that the other
 * kernels still run (an evaluation's) can be too large for them. */
const applies = (gpu: Gpu, g: Geometry) =>
  g.k === 3 &&
  g.stride === 1 &&
  4 * sizeOf(tilesShape(g.n, Math.max(g.cin, g.cout), Math.max(g.h, g.oh), Math.max(g.w, g.ow))) <=
    gpu.device.limits.maxStorageBufferBindingSize;

/** Output and input channels per weight_gemm invocation: WCO lane-uniform D loads and WCI V loads
 * per 4 tiles feed WCO·WCI vec4 FMAs. 8×4 ran 1.2-1.5× packed's dW at 64→128 to 192→64 on lavapipe
 * where 8×1 ran 0.6×, 16×2 0.5-0.9× and 16×4 0.8-1.0× (bench/WINOGRAD.md). */
const WCO = 8;
const WCI = 4;
/** weight_gemm invocations to aim for when splitting the sum over tiles into slices (as packed's
 * dw_partial aims for 2048), and the most floats its partial sums may take. */
const WEIGHT_INVOCATIONS = 2048;
const MAX_PARTIAL = 1 << 22;

/** The scratch roles: tensors that one op needs at the same time take different roles. */
const FILTERS = 'winograd filters';
const TILES = 'winograd tiles';
const PRODUCTS = 'winograd products or dy tiles';
const PARTIAL = 'winograd partial sums';

/** The transforms' defines; the gemms' workgroup sizes are set per shape (gemmLanes, weightLanes). */
const DEFINES = { CO, P, WCO, WCI, BIAS: false, GEMM_WG: 64, WEIGHT_WG: 64, CI4: false };

/** gemm's workgroup size: a power of two from 8 (one SIMD vector on lavapipe) to 64, no larger
 * than the row's runs of P tiles (an 8×8 output at batch 8 has 8: lanes past them would idle). */
function gemmLanes(chunks: number): number {
  return Math.max(8, Math.min(WG, 2 ** Math.ceil(Math.log2(chunks))));
}

/** The tiles of a 3×3 stride-1 convolution with an output of `outH`×`outW`, batch `n`. */
function tiling(n: number, outH: number, outW: number) {
  const tilesW = Math.ceil(outW / 2);
  const perPlane = Math.ceil(outH / 2) * tilesW;
  /** Tiles in a row of V and M: the batch's, rounded up to whole gemm invocations. */
  const row = Math.ceil((n * perPlane) / P) * P;
  return { tilesW, perPlane, row };
}

/** U = G g Gᵀ for every (out, in) channel pair, [ξ][block of CO out][in][CO] (zeros past the last
 * output channel); `flip` for the input gradient (out = Cin, in = Cout, rotated 180°). */
function filters(w: Tensor, flip: boolean): Tensor {
  const [cout, cin] = w.shape;
  const [outC, inC] = flip ? [cin, cout] : [cout, cin];
  const blocks = Math.ceil(outC / CO);
  const total = blocks * CO * inC;
  const u = w.gpu.scratch(FILTERS, [16, total]);
  w.gpu.dispatch({
    shader: 'conv2d_winograd',
    entry: 'filters_transform',
    defines: DEFINES,
    params: { cout, cin, out_c: outC, in_c: inC, flip: flip ? 1 : 0, blocks, total },
    buffers: [w, u],
    workgroups: grid1d(total, WG),
  });
  return u;
}

/** V = Bᵀ d B for every 4×4 source tile (2 apart) of `src` [N, C, H, W] with `pad` zeros around
 * it: [ξ][C][row], in the scratch of `role`; with `entry` 'grad_tiles_transform', D = A dy Aᵀ for
 * every 2×2 tile of `src` = dy (pad 0, outH × outW its own size). */
function tiles(src: Tensor, pad: number, outH: number, outW: number, role: string, entry = 'tiles_transform'): Tensor {
  const [n, c, h, w] = src.shape;
  const { tilesW, perPlane, row } = tiling(n, outH, outW);
  const v = src.gpu.scratch(role, [16, c, row]);
  src.gpu.dispatch({
    shader: 'conv2d_winograd',
    entry,
    defines: DEFINES,
    params: { planes: n * c, c, h, w, pad, tiles_w: tilesW, tiles: perPlane, row },
    buffers: [src, v],
    workgroups: [Math.ceil(perPlane / WG), Math.min(Math.ceil((n * c) / TILE_PLANES), MAX_WORKGROUPS), 1],
  });
  return v;
}

/** A 3×3 stride-1 convolution of `src` with `pad` zeros around it into `out` [N, outC, H', W']:
 * the tiles' transform, the 16 channel-mixing products with the filters `u` (`ci4`: four input
 * channels per accumulator update, see the shader), the output transform. */
function convolve(src: Tensor, pad: number, u: Tensor, bias: Tensor | null, out: Tensor, ci4: boolean): void {
  const gpu = src.gpu;
  const [n, inC] = src.shape;
  const [, outC, outH, outW] = out.shape;
  const { tilesW, perPlane, row } = tiling(n, outH, outW);
  const v = tiles(src, pad, outH, outW, TILES);
  const m = gpu.scratch(PRODUCTS, [16, outC, row]);
  const blocks = Math.ceil(outC / CO);
  const lanes = gemmLanes(row / P);
  const [x, y] = grid1d(row / P, lanes);
  gpu.dispatch({
    shader: 'conv2d_winograd',
    entry: 'gemm',
    defines: { ...DEFINES, GEMM_WG: lanes, CI4: ci4 },
    params: { in_c: inC, out_c: outC, blocks, row4: row / 4, chunks: row / P },
    buffers: [v, u, m],
    workgroups: [x, y, 16 * blocks],
  });
  const count = outC * n * perPlane;
  gpu.dispatch({
    shader: 'conv2d_winograd',
    entry: 'output_transform',
    defines: { ...DEFINES, BIAS: bias !== null },
    params: { out_c: outC, out_h: outH, out_w: outW, tiles_w: tilesW, tiles: perPlane, row, count },
    buffers: bias ? [m, out, bias] : [m, out],
    workgroups: grid1d(count, WG),
  });
}

/** V and M take 16 floats per tile (4 per output pixel) and channel. */
function tilesShape(n: number, c: number, outH: number, outW: number): number[] {
  return [16, c, tiling(n, outH, outW).row];
}

/** `convolve` with the filters of `w` (`flip`: see filters) into a new [N, outC, outH, outW], its
 * buffers checked against the binding limit before any dispatch, named for `op`'s message
 * (`names`: the source's and the output's). */
function convolved(
  op: string,
  names: [string, string],
  src: Tensor,
  pad: number,
  w: Tensor,
  flip: boolean,
  bias: Tensor | null,
  outC: number,
  outH: number,
  outW: number,
  ci4: boolean,
): Tensor {
  const [n, inC] = src.shape;
  const outShape = [n, outC, outH, outW];
  assertBindable(
    op,
    src.gpu,
    [names[0], src.shape],
    [names[1], outShape],
    [`Winograd tiles of ${names[0]}`, tilesShape(n, inC, outH, outW)],
    ['Winograd products', tilesShape(n, outC, outH, outW)],
  );
  const out = src.gpu.empty(outShape);
  convolve(src, pad, filters(w, flip), bias, out, ci4);
  return out;
}

const forward =
  (ci4: boolean): ConvKernel<'forward'>['run'] =>
  (_, { x, w, b }, g) => ({
    y: convolved('conv2d', ['x', 'y'], x, g.pad, w, false, b, g.cout, g.oh, g.ow, ci4),
  });

/** dx is the stride-1 convolution of dy, padded by 2 - pad, with the weights transposed and
 * rotated 180°. */
const input =
  (ci4: boolean): ConvKernel<'input'>['run'] =>
  (_, { dy, w }, g) =>
    convolved('conv2d backward input', ['dy', 'dx'], dy, g.k - 1 - g.pad, w, true, null, g.cin, g.h, g.w, ci4);

/** weight_gemm's workgroup size: lanes are input channels, so the largest power of two up to 64
 * that divides them where that is 8 or more (no idle lanes), else enough for all of them (8 to 64). */
function weightLanes(cin: number): number {
  const divides = cin & -cin;
  return divides >= 8 ? Math.min(64, divides) : Math.max(8, Math.min(64, 2 ** Math.ceil(Math.log2(cin))));
}

/** dW = Gᵀ [Σ over the batch's tiles of (A dy Aᵀ) ⊙ (Bᵀ x B)] G, F(3×3, 2×2), into `into` or a new
 * tensor. */
function weight(gpu: Gpu, { dy, x, into }: WeightArgs, g: Geometry): Tensor {
  const pairs = g.cout * g.cin;
  const { perPlane } = tiling(g.n, g.oh, g.ow);
  const count = g.n * perPlane;
  const count4 = Math.ceil(count / 4);
  const lanes = weightLanes(Math.ceil(g.cin / WCI));
  const groups = [Math.ceil(g.cin / (lanes * WCI)), Math.ceil(g.cout / WCO)];
  const wanted = Math.ceil(WEIGHT_INVOCATIONS / (groups[0] * lanes * groups[1] * 16));
  const perSlice = Math.ceil(count4 / Math.max(1, Math.min(wanted, count4, MAX_SLICES, Math.floor(MAX_PARTIAL / (16 * pairs)))));
  const slices = Math.ceil(count4 / perSlice);
  assertBindable(
    'conv2d backward weight',
    gpu,
    ['x', x.shape],
    ['dy', dy.shape],
    ['Winograd tiles of x', tilesShape(g.n, g.cin, g.oh, g.ow)],
    ['Winograd tiles of dy', tilesShape(g.n, g.cout, g.oh, g.ow)],
    ['Winograd partial sums', [slices, 16, g.cout, g.cin]],
  );
  const v = tiles(x, g.pad, g.oh, g.ow, TILES);
  const d = tiles(dy, 0, g.oh, g.ow, PRODUCTS, 'grad_tiles_transform');
  const part = gpu.scratch(PARTIAL, [slices, 16, g.cout, g.cin]);
  gpu.dispatch({
    shader: 'conv2d_winograd',
    entry: 'weight_gemm',
    defines: { ...DEFINES, WEIGHT_WG: lanes },
    params: { in_c: g.cin, out_c: g.cout, count, row4: v.shape[2] / 4, per_slice: perSlice, slices },
    buffers: [d, v, part],
    workgroups: [groups[0], groups[1], 16 * slices],
  });
  const dw = into ?? gpu.empty([g.cout, g.cin, 3, 3]);
  gpu.dispatch({
    shader: 'conv2d_winograd',
    entry: 'weight_output',
    defines: DEFINES,
    params: { pairs, slices },
    buffers: [part, dw],
    workgroups: grid1d(pairs, WG),
  });
  return dw;
}

/** 'winograd-ci4' sums four input channels per accumulator update in the gemm of y and dx:
 * 1.10-1.26× 'winograd' on SwiftShader, 0.50-0.71× on lavapipe (bench/WINOGRAD.md); the tuner picks. */
export const WINOGRAD_KERNELS: AnyConvKernel[] = [
  { name: 'winograd', pass: 'forward', applies, run: forward(false) } satisfies ConvKernel<'forward'>,
  { name: 'winograd-ci4', pass: 'forward', applies, run: forward(true) } satisfies ConvKernel<'forward'>,
  { name: 'winograd', pass: 'input', applies, run: input(false) } satisfies ConvKernel<'input'>,
  { name: 'winograd-ci4', pass: 'input', applies, run: input(true) } satisfies ConvKernel<'input'>,
  { name: 'winograd', pass: 'weight', applies, run: weight } satisfies ConvKernel<'weight'>,
];
