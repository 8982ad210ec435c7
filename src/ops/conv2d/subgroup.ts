// conv2d kernel variants whose subgroup operations do real work (shaders/conv2d_subgroup.wgsl),
// only where the device was opened with the 'subgroups' feature: a weight gradient whose lanes
// split each dW sum's N·OH·OW reduction and combine it with subgroupAdd, and a forward pass (and a
// stride-1 input gradient) whose lanes share the values of overlapping taps with subgroupShuffle
// instead of each loading them.
import { type Gpu, grid1d, MAX_WORKGROUPS } from '../../gpu/gpu.ts';
import { type AnyConvKernel, assertBindable, type ConvKernel, type Geometry } from './geometry.ts';
import { MAX_SLICES, sumSlices } from './slices.ts';

const WG = 64;
const CO = 4; // output channels per workgroup (weight) or invocation (forward), fixed by the shader
/** Workgroups to aim for when splitting a weight gradient's reduction into slices. */
const WEIGHT_WORKGROUPS = 512;

const hasSubgroups = (gpu: Gpu) => gpu.info.hasSubgroups;

/** The shader's uniforms; `pixels` is the pass's invocations (weight: its reduction's length). */
function params(g: Geometry, pixels: number, pairs = 0, perSlice = 0) {
  const { n, cin, h, w, cout, oh, ow, pad, k } = g;
  return { n, cin, h, w, cout, oh, ow, pad, pixels, pairs, per_slice: perSlice, size: cout * cin * k * k };
}

const weight: ConvKernel<'weight'>['run'] = (gpu, { dy, x }, g) => {
  const pixels = g.n * g.oh * g.ow;
  const pairs = g.cin * Math.ceil(g.cout / CO);
  const chunks = Math.ceil(pixels / WG);
  const wanted = Math.max(1, Math.min(Math.ceil(WEIGHT_WORKGROUPS / pairs), chunks, MAX_SLICES));
  const perSlice = Math.ceil(chunks / wanted) * WG;
  const slices = Math.ceil(pixels / perSlice);
  const size = g.cout * g.cin * g.k * g.k;
  assertBindable('conv2d backward weight', gpu, ['x', x.shape], ['dy', dy.shape], ['dW partial sums', [slices, size]]);
  const dw = gpu.empty([g.cout, g.cin, g.k, g.k]);
  const part = slices === 1 ? dw : gpu.empty([slices, size]);
  const [gx, gy] = grid1d(pairs, 1);
  gpu.dispatch({
    shader: 'conv2d_subgroup',
    entry: 'weight',
    defines: { K: g.k, S: g.stride, WG, BIAS: false },
    params: params(g, pixels, pairs, perSlice),
    buffers: [dy, x, part],
    workgroups: [gx, gy, slices],
  });
  if (slices > 1) sumSlices(gpu, part, dw, slices);
  return dw;
};

const forward: ConvKernel<'forward'>['run'] = (gpu, { x, w, b }, g) => {
  const yShape = [g.n, g.cout, g.oh, g.ow];
  assertBindable('conv2d', gpu, ['x', x.shape], ['y', yShape]);
  const y = gpu.empty(yShape);
  const [gx, gy] = grid1d(g.n * g.oh * g.ow, WG);
  gpu.dispatch({
    shader: 'conv2d_subgroup',
    entry: 'forward',
    defines: { K: g.k, S: g.stride, WG, BIAS: b !== null },
    params: params(g, g.n * g.oh * g.ow),
    buffers: b ? [x, w, y, b] : [x, w, y],
    workgroups: [gx, gy, Math.ceil(g.cout / CO)],
  });
  return { y };
};

/** dx at stride 1 (see the shader: at stride 2 neighbouring pixels' taps do not line up). */
const input: ConvKernel<'input'>['run'] = (gpu, { dy, w }, g) => {
  const xShape = [g.n, g.cin, g.h, g.w];
  assertBindable('conv2d backward input', gpu, ['dy', dy.shape], ['dx', xShape]);
  const dx = gpu.empty(xShape);
  const [gx, gy] = grid1d(g.n * g.h * g.w, WG);
  gpu.dispatch({
    shader: 'conv2d_subgroup',
    entry: 'input',
    defines: { K: g.k, S: g.stride, WG, BIAS: false },
    params: params(g, g.n * g.h * g.w),
    buffers: [dy, w, dx],
    workgroups: [gx, gy, Math.ceil(g.cin / CO)],
  });
  return dx;
};

export const SUBGROUP_KERNELS: AnyConvKernel[] = [
  {
    name: 'subgroup',
    pass: 'forward',
    applies: (gpu, g) => hasSubgroups(gpu) && Math.ceil(g.cout / CO) <= MAX_WORKGROUPS,
    run: forward,
  } satisfies ConvKernel<'forward'>,
  {
    name: 'subgroup',
    pass: 'input',
    applies: (gpu, g) => hasSubgroups(gpu) && g.stride === 1 && Math.ceil(g.cin / CO) <= MAX_WORKGROUPS,
    run: input,
  } satisfies ConvKernel<'input'>,
  { name: 'subgroup', pass: 'weight', applies: hasSubgroups, run: weight } satisfies ConvKernel<'weight'>,
];
