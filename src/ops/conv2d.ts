// 2-D convolution (NCHW, f32, square odd K×K kernel, stride 1 or 2, zero padding): the forward
// pass, the three backward passes, and the autograd wrapper. Each of the three convolutions (y, dx,
// dW) has several kernel variants (src/ops/conv2d/kernels.ts) that compute the same sums; which one
// runs is the tuner's choice for the adapter and shape class (src/gpu/tuner.ts). dB is summed by the
// weight kernel where it can (packed: in dW's own dispatches), else by one reduction
// (shaders/conv2d_weight.wgsl).
import { accumulateGrad, gradientSlot, gradientTarget, record } from '../autograd/graph.ts';
import { isUnpadded, type PaddedLayout, paddedCopy, wantGradientPadded } from '../autograd/padded-copies.ts';
import { type Gpu, reductionWorkgroup } from '../gpu/gpu.ts';
import { type Shape, shapeString, sizeOf, type Tensor } from '../gpu/tensor.ts';
import { tunerOf } from '../gpu/tuner.ts';
import { Rng } from '../util/rng.ts';
import { assertRank, assertShape } from './check.ts';
import {
  type Conv2dOptions,
  type ConvKernel,
  type ConvPass,
  type Geometry,
  geometry,
  type PackedWeights,
  type PassTypes,
} from './conv2d/geometry.ts';
import { CONV_KERNELS } from './conv2d/kernels.ts';
import { WEIGHT_SUM_DEFINES } from './conv2d/slices.ts';

export type { Conv2dOptions, Padding } from './conv2d/geometry.ts';

export function conv2dOutputShape(xShape: Shape, wShape: Shape, opts?: Conv2dOptions): number[] {
  const g = geometry('conv2d', xShape, wShape, opts);
  return [g.n, g.cout, g.oh, g.ow];
}

// ---------------------------------------------------------------- choosing a kernel

/** The tuner's name for a shape class of one pass: every size, the batch included. Timings at a
 * small batch did not carry over: at batch 8 the tuner chose 'direct' for the 1×1 heads' weight
 * gradient, whose parallelism is fixed by the weight count (32 invocations), and at batch 64 that
 * choice cost the benchmark network's step 3 % (bench/RESULTS.md). */
export function shapeClass(pass: ConvPass, g: Geometry): string {
  return `conv2d.${pass} ${g.cin}→${g.cout} ${g.k}×${g.k} s${g.stride} p${g.pad} @${g.h}×${g.w} batch ${g.n}`;
}

/** The kernels of a pass that run on this adapter and geometry, the default first. */
export function applicableKernels<P extends ConvPass>(gpu: Gpu, pass: P, g: Geometry): ConvKernel<P>[] {
  return (CONV_KERNELS[pass] as ConvKernel<P>[]).filter((k) => k.applies?.(gpu, g) ?? true);
}

function chooseKernel<P extends ConvPass>(gpu: Gpu, pass: P, g: Geometry): ConvKernel<P> {
  const kernels = applicableKernels(gpu, pass, g);
  const name = tunerOf(gpu).pick({
    key: shapeClass(pass, g),
    candidates: kernels.map((k) => k.name),
    prepare: () => tuningInputs(gpu, pass, g, kernels),
  });
  return kernels.find((k) => k.name === name)!;
}

/** Random inputs of a shape class, and a run of each candidate on them. */
function tuningInputs<P extends ConvPass>(gpu: Gpu, pass: P, g: Geometry, kernels: ConvKernel<P>[]) {
  const rng = new Rng(1);
  const tensor = (shape: number[]) => gpu.persistent(shape, Float32Array.from(rng.uniform(sizeOf(shape))), 'tuning input');
  const x = tensor([g.n, g.cin, g.h, g.w]);
  const w = tensor([g.cout, g.cin, g.k, g.k]);
  const b = tensor([g.cout]);
  const dy = tensor([g.n, g.cout, g.oh, g.ow]);
  const args = { forward: { x, w, b }, input: { dy, w }, weight: { dy, x } }[pass] as PassTypes[P]['args'];
  return {
    run: (name: string) => {
      kernels.find((k) => k.name === name)!.run(gpu, args, g);
    },
    dispose: () => {
      for (const t of [x, w, b, dy]) gpu.release(t.buffer);
    },
  };
}

// ---------------------------------------------------------------- the passes

export function conv2dForward(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor {
  return forward(x, w, b, opts).y;
}

/** The forward pass, and the zero-padded x it may have made, which the weight gradient can read;
 * with `packForInput`, also the weights it may have laid out for the input gradient; and the
 * geometry it checked. */
function forward(
  x: Tensor,
  w: Tensor,
  b: Tensor | null,
  opts?: Conv2dOptions,
  packForInput = false,
): PassTypes['forward']['result'] & { g: Geometry } {
  const op = 'conv2d';
  assertRank(op, 'x', x, 4);
  assertRank(op, 'w', w, 4);
  const g = geometry(op, x.shape, w.shape, opts);
  if (b) assertShape(op, 'bias b', b, [g.cout]);
  const kernel = chooseKernel(x.gpu, 'forward', g);
  const layout = kernel.paddedX?.(g);
  const xPadded = layout && paddedCopy(x, layout);
  if (layout && xPadded) assertShape(op, 'padded x', xPadded, [g.n, g.cin, layout.ph, layout.pw]);
  return { ...kernel.run(x.gpu, { x, xPadded, w, b, packForInput }, g), g };
}

/** The zero-padded layout this conv's forward kernel reads x in, for the op that computes x to
 * write beside it (src/autograd/padded-copies.ts); undefined where the kernel reads x as it is. */
export function conv2dInputLayout(gpu: Gpu, xShape: Shape, wShape: Shape, opts?: Conv2dOptions): PaddedLayout | undefined {
  const g = geometry('conv2d', xShape, wShape, opts);
  const layout = chooseKernel(gpu, 'forward', g).paddedX?.(g);
  return layout && !isUnpadded(xShape, layout) ? layout : undefined;
}

/** dx[n, ci, iy, ix] = Σ over co, ky, kx with oy·S - pad + ky = iy (same for x) of dy[n, co, oy, ox] · w[co, ci, ky, kx].
 * A kernel that reads dy zero-padded reads the padded copy dy's producer wrote, where it wrote one
 * in that kernel's layout (src/autograd/padded-copies.ts). */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: Shape, opts?: Conv2dOptions, wPacked?: PackedWeights): Tensor {
  const op = 'conv2d backward input';
  assertRank(op, 'w', w, 4);
  const g = geometry(op, xShape, w.shape, opts);
  assertShape(op, 'dy', dy, [g.n, g.cout, g.oh, g.ow]);
  const kernel = chooseKernel(dy.gpu, 'input', g);
  const layout = kernel.paddedDy?.(g);
  const dyPadded = layout && paddedCopy(dy, layout);
  if (layout && dyPadded) assertShape(op, 'padded dy', dyPadded, [g.n, g.cout, layout.ph, layout.pw]);
  return kernel.run(dy.gpu, { dy, dyPadded, w, wPacked }, g);
}

/** dW[co, ci, ky, kx] = Σ over n, oy, ox of dy[n, co, oy, ox] · x[n, ci, oy·S - pad + ky, ox·S - pad + kx];
 * a kernel may write it into `into` (e.g. the weight's gradient slot). With `db`, also the bias
 * gradient into it: by the weight kernel's own dispatches where it sums dB too, else by
 * conv2dBackwardBias. */
export function conv2dBackwardWeight(
  dy: Tensor,
  x: Tensor,
  wShape: Shape,
  opts?: Conv2dOptions,
  xPadded?: Tensor,
  into?: Tensor,
  db?: Tensor,
): Tensor {
  const op = 'conv2d backward weight';
  assertRank(op, 'x', x, 4);
  const g = geometry(op, x.shape, wShape, opts);
  assertShape(op, 'dy', dy, [g.n, g.cout, g.oh, g.ow]);
  if (into) assertShape(op, 'dW output', into, wShape);
  if (db) assertShape(op, 'dB output', db, [g.cout]);
  const kernel = chooseKernel(x.gpu, 'weight', g);
  const dw = kernel.run(x.gpu, { dy, x, xPadded, into, db: kernel.sumsBias ? db : undefined }, g);
  if (db && !kernel.sumsBias) conv2dBackwardBias(dy, db);
  return dw;
}

/** dB[co] = Σ over n, oy, ox of dy[n, co, oy, ox], into `into` (e.g. the bias's gradient slot) or a new tensor. */
export function conv2dBackwardBias(dy: Tensor, into?: Tensor): Tensor {
  const op = 'conv2d backward bias';
  assertRank(op, 'dy', dy, 4);
  if (dy.size === 0) throw new Error(`${op}: dy ${shapeString(dy.shape)} is empty`);
  const [n, c, h, w] = dy.shape;
  if (into) assertShape(op, 'db output', into, [c]);
  const db = into ?? dy.gpu.empty([c]);
  dy.gpu.dispatch({
    shader: 'conv2d_weight',
    entry: 'db',
    defines: { ...WEIGHT_SUM_DEFINES, WG: reductionWorkgroup(dy.gpu.info) },
    params: { batch: n, channels: c, plane: h * w },
    buffers: [dy, db],
    workgroups: [c],
  });
  return db;
}

// ---------------------------------------------------------------- autograd

export function conv2d(x: Tensor, w: Tensor, b: Tensor | null, opts?: Conv2dOptions): Tensor {
  const { y, xPadded, wPacked, g } = forward(x, w, b, opts, x.requiresGrad);
  if (x.requiresGrad) {
    // dy zero-padded as the input gradient's kernel reads it, from the op that computes dy if it can.
    const layout = chooseKernel(x.gpu, 'input', g).paddedDy?.(g);
    if (layout) wantGradientPadded(y, layout);
  }
  return record(y, 'conv2d', b ? [x, w, b] : [x, w], () => {
    const dy = y.grad!;
    if (x.requiresGrad) accumulateGrad(x, conv2dBackwardInput(dy, w, x.shape, opts, wPacked));
    const db = b?.requiresGrad ? gradientTarget(b) : undefined;
    if (w.requiresGrad) accumulateGrad(w, conv2dBackwardWeight(dy, x, w.shape, opts, xPadded, gradientSlot(w), db));
    else if (db) conv2dBackwardBias(dy, db);
    if (b && db) accumulateGrad(b, db);
  });
}
