// The plain direct conv2d kernels (shaders/conv2d_direct.wgsl): one invocation per output element,
// straightforward loops with bounds checks for the padding, no layout passes. The reference and the
// baseline ("kernel 1") that the faster variants are checked and timed against.
import { type Gpu, grid1d } from '../../gpu/gpu.ts';
import type { Tensor } from '../../gpu/tensor.ts';
import { type AnyConvKernel, assertBindable, type ConvKernel, type Geometry } from './geometry.ts';

const WG = 64;

function run(gpu: Gpu, entry: 'forward' | 'input' | 'weight', g: Geometry, total: number, buffers: Tensor[], bias: boolean): void {
  gpu.dispatch({
    shader: 'conv2d_direct',
    entry,
    defines: { K: g.k, S: g.stride, WG, BIAS: bias },
    params: { n: g.n, cin: g.cin, h: g.h, w: g.w, cout: g.cout, oh: g.oh, ow: g.ow, pad: g.pad, total },
    buffers,
    workgroups: grid1d(total, WG),
  });
}

const forward: ConvKernel<'forward'>['run'] = (gpu, { x, w, b }, g) => {
  const yShape = [g.n, g.cout, g.oh, g.ow];
  assertBindable('conv2d', gpu, ['x', x.shape], ['y', yShape]);
  const y = gpu.empty(yShape);
  run(gpu, 'forward', g, y.size, b ? [x, w, y, b] : [x, w, y], b !== null);
  return { y };
};

const input: ConvKernel<'input'>['run'] = (gpu, { dy, w }, g) => {
  const xShape = [g.n, g.cin, g.h, g.w];
  assertBindable('conv2d backward input', gpu, ['dy', dy.shape], ['dx', xShape]);
  const dx = gpu.empty(xShape);
  run(gpu, 'input', g, dx.size, [dy, w, dx], false);
  return dx;
};

const weight: ConvKernel<'weight'>['run'] = (gpu, { dy, x }, g) => {
  assertBindable('conv2d backward weight', gpu, ['x', x.shape], ['dy', dy.shape]);
  const dw = gpu.empty([g.cout, g.cin, g.k, g.k]);
  run(gpu, 'weight', g, dw.size, [dy, x, dw], false);
  return dw;
};

export const DIRECT_KERNELS: AnyConvKernel[] = [
  { name: 'direct', pass: 'forward', run: forward } satisfies ConvKernel<'forward'>,
  { name: 'direct', pass: 'input', run: input } satisfies ConvKernel<'input'>,
  { name: 'direct', pass: 'weight', run: weight } satisfies ConvKernel<'weight'>,
];
