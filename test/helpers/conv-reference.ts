// conv2d's defining sums in f64, and a run of one kernel variant on seeded data: shared by the Node
// op tests (test/ops/conv2d.test.ts) and the browser kernel page (test/e2e/kernels.ts), so that
// every variant is checked against the same reference on lavapipe and on SwiftShader.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { sizeOf } from '../../src/gpu/tensor.ts';
import type { AnyConvKernel, ConvPass, Geometry } from '../../src/ops/conv2d/geometry.ts';
import { type Conv2dOptions, conv2dOutputShape } from '../../src/ops/conv2d.ts';
import { Rng } from '../../src/util/rng.ts';
import type { Tolerance } from './check.ts';

/** f64 reference: y[n, co, oy, ox] = b[co] + Σ x[n, ci, oy·S - pad + ky, ox·S - pad + kx] · w[co, ci, ky, kx]. */
export function convRef(
  x: ArrayLike<number>,
  xShape: number[],
  w: ArrayLike<number>,
  wShape: number[],
  b: ArrayLike<number> | null,
  opts: Conv2dOptions,
): Float64Array {
  const [n, cin, h, wd] = xShape;
  const [cout, , k] = wShape;
  const [, , oh, ow] = conv2dOutputShape(xShape, wShape, opts);
  const s = opts.stride ?? 1;
  const pad = opts.padding === 'valid' ? 0 : typeof opts.padding === 'number' ? opts.padding : (k - 1) / 2;
  const y = new Float64Array(n * cout * oh * ow);
  for (let b0 = 0; b0 < n; b0++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let sum = b ? b[co] : 0;
          for (let ci = 0; ci < cin; ci++)
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * s - pad + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * s - pad + kx;
                if (ix < 0 || ix >= wd) continue;
                sum += x[((b0 * cin + ci) * h + iy) * wd + ix] * w[((co * cin + ci) * k + ky) * k + kx];
              }
            }
          y[((b0 * cout + co) * oh + oy) * ow + ox] = sum;
        }
  return y;
}

/** dx and dW from their defining sums in f64, for an output gradient dy. */
export function convGradsRef(x: ArrayLike<number>, w: ArrayLike<number>, dy: ArrayLike<number>, g: Geometry) {
  const { n, cin, h, w: wd, cout, k, stride: s, pad, oh, ow } = g;
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  for (let b0 = 0; b0 < n; b0++)
    for (let co = 0; co < cout; co++)
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          const g0 = dy[((b0 * cout + co) * oh + oy) * ow + ox];
          for (let ci = 0; ci < cin; ci++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const [iy, ix] = [oy * s - pad + ky, ox * s - pad + kx];
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const xi = ((b0 * cin + ci) * h + iy) * wd + ix;
                const wi = ((co * cin + ci) * k + ky) * k + kx;
                dx[xi] += g0 * w[wi];
                dw[wi] += g0 * x[xi];
              }
        }
  return { dx, dw };
}

export interface ConvData {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  dy: Float32Array;
}

/** x, w, b and dy for a geometry, uniform in [-1, 1] from `seed` (the same in Node and the browser). */
export function convVariantData(g: Geometry, seed: number): ConvData {
  const rng = new Rng(seed);
  const draw = (shape: number[]) => Float32Array.from(rng.uniform(sizeOf(shape)));
  return {
    x: draw([g.n, g.cin, g.h, g.w]),
    w: draw([g.cout, g.cin, g.k, g.k]),
    b: draw([g.cout]),
    dy: draw([g.n, g.cout, g.oh, g.ow]),
  };
}

/** What one pass computes on `data`, in f64. */
export function convVariantReference(pass: ConvPass, g: Geometry, data: ConvData): Float64Array {
  const wShape = [g.cout, g.cin, g.k, g.k];
  if (pass === 'forward')
    return convRef(data.x, [g.n, g.cin, g.h, g.w], data.w, wShape, data.b, { stride: g.stride as 1 | 2, padding: g.pad });
  const grads = convGradsRef(data.x, data.w, data.dy, g);
  return pass === 'input' ? grads.dx : grads.dw;
}

/** f32 rounding grows at most linearly with the length of a sum: the default 1e-5 per 16 terms. */
export function convVariantTolerance(pass: ConvPass, g: Geometry): Tolerance {
  const terms = pass === 'forward' ? g.cin * g.k * g.k : pass === 'input' ? g.cout * g.k * g.k : g.n * g.oh * g.ow;
  return { atol: 1e-5 * Math.max(1, terms / 16), rtol: 1e-4 };
}

/** Runs one variant of one pass directly (not through the tuner) and reads its output back. */
export async function runConvVariant(gpu: Gpu, kernel: AnyConvKernel, g: Geometry, data: ConvData): Promise<Float32Array> {
  const x = gpu.persistent([g.n, g.cin, g.h, g.w], data.x);
  const w = gpu.persistent([g.cout, g.cin, g.k, g.k], data.w);
  const b = gpu.persistent([g.cout], data.b);
  const dy = gpu.persistent([g.n, g.cout, g.oh, g.ow], data.dy);
  try {
    const out =
      kernel.pass === 'forward'
        ? kernel.run(gpu, { x, w, b }, g).y
        : kernel.pass === 'input'
          ? kernel.run(gpu, { dy, w }, g)
          : kernel.run(gpu, { dy, x }, g);
    const expected = kernel.pass === 'forward' ? [g.n, g.cout, g.oh, g.ow] : kernel.pass === 'input' ? x.shape : w.shape;
    if (out.shape.join() !== expected.join()) {
      throw new Error(`${kernel.pass} kernel '${kernel.name}': output shape [${out.shape}], expected [${expected}]`);
    }
    return await out.read();
  } finally {
    gpu.endStep();
    for (const t of [x, w, b, dy]) gpu.release(t.buffer);
  }
}
