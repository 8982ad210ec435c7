// The implicit-GEMM conv2d kernels (shaders/conv2d_gemm.wgsl): each pass is one matrix product
// whose operands are gathered from x, w and dy on the fly, tiled through workgroup memory, the way
// the WebGPU backends of TensorFlow.js and ONNX Runtime Web run convolutions. Shaped for real GPUs
// (shared-memory reuse); on CPU drivers the packed kernels are expected to win, and the tuner picks.
// Two tile sizes per pass: 64×64 (256 lanes) for big layers, 32×32 (64 lanes) where a 64×64 tile
// would be mostly edge (few channels, small images).
import { type Gpu, grid1d } from '../../gpu/gpu.ts';
import { type AnyConvKernel, assertBindable, type ConvKernel, type Geometry } from './geometry.ts';
import { MAX_SLICES, sumSlices } from './slices.ts';

/** A tile configuration: the workgroup's TM×TN block of the product, TK deep per shared-memory
 * step; each lane holds a 4×4 block, so a workgroup has (TM/4)·(TN/4) lanes. */
interface Tiles {
  tm: number;
  tn: number;
  tk: number;
}

/** Workgroups to aim for when splitting the weight gradient's reduction into slices. */
const WEIGHT_GROUPS = 256;
/** A slice reduces at least this many TK steps: a shorter reduction runs as one pass into dW. */
const WEIGHT_MIN_STEPS = 16;

function lanes(t: Tiles): number {
  return (t.tm / 4) * (t.tn / 4);
}

function defines(t: Tiles, g: Geometry, bias: boolean) {
  const wg = lanes(t);
  // The shader's load layout needs every lane to own whole rows of the slabs.
  if (wg % t.tm || wg % t.tn || wg % t.tk || (t.tm * t.tk) % wg || (t.tn * t.tk) % wg) {
    throw new Error(`conv2d gemm: tiles ${t.tm}×${t.tn}×${t.tk} do not fit ${wg} lanes`);
  }
  return { TM: t.tm, TN: t.tn, TK: t.tk, WG: wg, K: g.k, S: g.stride, BIAS: bias };
}

/** Whether the adapter's workgroup limits hold the configuration (WebGPU's defaults do). */
/** The tiles fit the device's workgroup limits, and the adapter is not SwiftShader: its JIT took
 * 14 s to build the 64×64 kernel and lost the device after 160 s on the 32×32 one (Chromium 156,
 * headless, 2 cores), for kernels that run at a tenth of 'packed' on CPU drivers anyway (lavapipe
 * compiles them in 1-5 s, and the Node tests check them there). */
function fits(t: Tiles): (gpu: Gpu) => boolean {
  return (gpu) => {
    const l = gpu.device.limits;
    const fitsLimits = lanes(t) <= l.maxComputeInvocationsPerWorkgroup && (t.tm + t.tn) * t.tk * 4 <= l.maxComputeWorkgroupStorageSize;
    return fitsLimits && gpu.info.architecture !== 'swiftshader';
  };
}

function forward(t: Tiles): ConvKernel<'forward'>['run'] {
  return (gpu, { x, w, b }, g) => {
    const yShape = [g.n, g.cout, g.oh, g.ow];
    assertBindable('conv2d', gpu, ['x', x.shape], ['y', yShape]);
    const y = gpu.empty(yShape);
    const m = g.n * g.oh * g.ow;
    const tilesM = Math.ceil(m / t.tm);
    const tiles = tilesM * Math.ceil(g.cout / t.tn);
    gpu.dispatch({
      shader: 'conv2d_gemm',
      entry: 'gemm_forward',
      defines: defines(t, g, b !== null),
      params: {
        cin: g.cin,
        h: g.h,
        w: g.w,
        cout: g.cout,
        ohw: g.oh * g.ow,
        ow: g.ow,
        pad: g.pad,
        m,
        kdim: g.cin * g.k * g.k,
        tiles_m: tilesM,
        tiles,
      },
      buffers: b ? [x, w, y, b] : [x, w, y],
      workgroups: grid1d(tiles, 1),
    });
    return { y };
  };
}

/** dx, one GEMM per stride phase (workgroup z): see the shader. */
function input(t: Tiles): ConvKernel<'input'>['run'] {
  return (gpu, { dy, w }, g) => {
    const xShape = [g.n, g.cin, g.h, g.w];
    assertBindable('conv2d backward input', gpu, ['dy', dy.shape], ['dx', xShape]);
    const dx = gpu.empty(xShape);
    const s = g.stride;
    const tilesM = Math.ceil((g.n * Math.ceil(g.h / s) * Math.ceil(g.w / s)) / t.tm); // phase 0 is the largest
    const tiles = tilesM * Math.ceil(g.cin / t.tn);
    const [x, y] = grid1d(tiles, 1);
    gpu.dispatch({
      shader: 'conv2d_gemm',
      entry: 'gemm_input',
      defines: defines(t, g, false),
      params: {
        cin: g.cin,
        h: g.h,
        w: g.w,
        cout: g.cout,
        oh: g.oh,
        ow: g.ow,
        pad: g.pad,
        batch: g.n,
        tiles_m: tilesM,
        tiles,
      },
      buffers: [dy, w, dx],
      workgroups: [x, y, s * s],
    });
    return dx;
  };
}

/** dW, its reduction over batch·OH·OW split into slices (workgroup z) where it is long. */
function weight(t: Tiles): ConvKernel<'weight'>['run'] {
  return (gpu, { dy, x }, g) => {
    const cols = g.cin * g.k * g.k;
    const size = g.cout * cols;
    const kdim = g.n * g.oh * g.ow;
    const tilesM = Math.ceil(g.cout / t.tm);
    const tiles = tilesM * Math.ceil(cols / t.tn);
    const steps = Math.ceil(kdim / t.tk);
    const wanted = Math.max(1, Math.min(Math.ceil(WEIGHT_GROUPS / tiles), Math.floor(steps / WEIGHT_MIN_STEPS), MAX_SLICES));
    const stepsPerSlice = Math.ceil(steps / wanted);
    const slices = Math.ceil(steps / stepsPerSlice);
    assertBindable('conv2d backward weight', gpu, ['x', x.shape], ['dy', dy.shape], ['dW partial sums', [slices, size]]);
    const dw = gpu.empty([g.cout, g.cin, g.k, g.k]);
    const part = slices === 1 ? dw : gpu.empty([slices, size]);
    const [gx, gy] = grid1d(tiles, 1);
    gpu.dispatch({
      shader: 'conv2d_gemm',
      entry: 'gemm_weight',
      defines: defines(t, g, false),
      params: {
        cin: g.cin,
        h: g.h,
        w: g.w,
        cout: g.cout,
        ohw: g.oh * g.ow,
        ow: g.ow,
        pad: g.pad,
        kdim,
        cols,
        tiles_m: tilesM,
        tiles,
        steps_per_slice: stepsPerSlice,
        size,
      },
      buffers: [dy, x, part],
      workgroups: [gx, gy, slices],
    });
    if (slices > 1) sumSlices(gpu, part, dw, slices);
    return dw;
  };
}

function kernels(name: string, t: Tiles): AnyConvKernel[] {
  const applies = fits(t);
  return [
    { name, pass: 'forward', applies, run: forward(t) } satisfies ConvKernel<'forward'>,
    { name, pass: 'input', applies, run: input(t) } satisfies ConvKernel<'input'>,
    { name, pass: 'weight', applies, run: weight(t) } satisfies ConvKernel<'weight'>,
  ];
}

/** 'gemm': 64×64 tiles, 256 lanes, 8 KiB of workgroup memory; 'gemm-32': 32×32 tiles, 64 lanes,
 * 4 KiB (more workgroups on small layers, less edge waste). */
export const GEMM_KERNELS: AnyConvKernel[] = [
  ...kernels('gemm', { tm: 64, tn: 64, tk: 16 }),
  ...kernels('gemm-32', { tm: 32, tn: 32, tk: 16 }),
];
