// Concatenation along channels (U-Net skip connections): forward joins, backward splits; and the
// decoder's join, which upsamples its first input ×2 as it copies it (upsampleConcat).
import { accumulateGrad, record } from '../autograd/graph.ts';
import { checkPaddedLayout, type PaddedLayout, paddedGrid, recordPaddedCopy, writesWholeInto } from '../autograd/padded-copies.ts';
import { type Shape, shapeString, type Tensor } from '../gpu/tensor.ts';
import { assertRank, assertShape } from './check.ts';

/** Grid (⌈(Ca+Cb)·H·W / (WG·width)⌉, ⌈N / SAMPLES⌉): each invocation copies one position (of 4
 * values when H·W is a multiple of 4, else 1) for SAMPLES samples. */
const WG = 64;
const SAMPLES = 16;

function checkConcatShapes(op: string, a: Shape, b: Shape): void {
  if (a[0] !== b[0] || a[2] !== b[2] || a[3] !== b[3]) {
    throw new Error(`${op}: a ${shapeString(a)} and b ${shapeString(b)} must agree in N, H and W (they are joined along channels)`);
  }
}

/** Values per position, the shader's type for them, and positions per channel. */
function vectors(shape: Shape): { defines: { WG: number; SAMPLES: number; V: string; PADDED: boolean }; plane: number } {
  const [, , h, w] = shape;
  const width = (h * w) % 4 === 0 ? 4 : 1;
  return { defines: { WG, SAMPLES, V: width === 4 ? 'vec4f' : 'f32', PADDED: false }, plane: (h * w) / width };
}

function dispatch(entry: string, buffers: Tensor[], a: Shape, b: Shape): void {
  const [n, ca] = a;
  const cb = b[1];
  const { defines, plane } = vectors(a);
  buffers[0].gpu.dispatch({
    shader: 'concat',
    entry,
    defines,
    params: { n, a_run: ca * plane, b_run: cb * plane },
    buffers,
    workgroups: [Math.ceil(((ca + cb) * plane) / WG), Math.ceil(n / SAMPLES)],
  });
}

/** The gradient of one input alone: its channels of each sample of dy. */
function slice(dy: Tensor, part: Shape, offsetChannels: number): Tensor {
  const [n, c] = part;
  const { defines, plane } = vectors(part);
  const out = dy.gpu.empty(part);
  dy.gpu.dispatch({
    shader: 'concat',
    entry: 'concat_slice',
    defines,
    params: { n, run: dy.shape[1] * plane, offset: offsetChannels * plane, len: c * plane },
    buffers: [dy, out],
    workgroups: [Math.ceil((c * plane) / WG), Math.ceil(n / SAMPLES)],
  });
  return out;
}

/** [N,Ca,H,W] ⊕ [N,Cb,H,W] -> [N,Ca+Cb,H,W]. */
export function concatChannelsForward(a: Tensor, b: Tensor): Tensor {
  assertRank('concat', 'a', a, 4);
  assertRank('concat', 'b', b, 4);
  checkConcatShapes('concat', a.shape, b.shape);
  const [n, ca, h, w] = a.shape;
  const out = a.gpu.empty([n, ca + b.shape[1], h, w]);
  dispatch('concat_forward', [a, b, out], a.shape, b.shape);
  return out;
}

/** Splits dy [N,Ca+Cb,H,W] into da [N,Ca,H,W] and db [N,Cb,H,W]; only the `wanted` ones (null for
 * the others). */
export function concatChannelsBackward(
  dy: Tensor,
  aShape: Shape,
  bShape: Shape,
  wanted = { a: true, b: true },
): { da: Tensor | null; db: Tensor | null } {
  checkConcatShapes('concat backward', aShape, bShape);
  const [n, ca, h, w] = aShape;
  assertShape('concat backward', 'dy', dy, [n, ca + bShape[1], h, w]);
  if (!wanted.a || !wanted.b) {
    return { da: wanted.a ? slice(dy, aShape, 0) : null, db: wanted.b ? slice(dy, bShape, ca) : null };
  }
  const da = dy.gpu.empty(aShape);
  const db = dy.gpu.empty(bShape);
  dispatch('concat_backward', [dy, da, db], aShape, bShape);
  return { da, db };
}

// ---------------------------------------------------------------- autograd

export function concatChannels(a: Tensor, b: Tensor): Tensor {
  const out = concatChannelsForward(a, b);
  return record(out, 'concat', [a, b], () => {
    const { da, db } = concatChannelsBackward(out.grad!, a.shape, b.shape, { a: a.requiresGrad, b: b.requiresGrad });
    if (da) accumulateGrad(a, da);
    if (db) accumulateGrad(b, db);
  });
}

// ---------------------------------------------------------------- upsample, then concat

/** a [N,Ca,H/2,W/2] and b [N,Cb,H,W]: the shapes upsampleConcat joins, checked, as [n, ca, cb, h, w]. */
function upsampleConcatShapes(op: string, a: Shape, b: Shape): [number, number, number, number, number] {
  const [n, ca, ha, wa] = a;
  const [nb, cb, h, w] = b;
  if (a.length !== 4 || b.length !== 4 || nb !== n || h !== 2 * ha || w !== 2 * wa) {
    throw new Error(
      `${op}: a ${shapeString(a)} upsampled ×2 must match b ${shapeString(b)} in N, H and W (a [N, Ca, H/2, W/2], b [N, Cb, H, W])`,
    );
  }
  return [n, ca, cb, h, w];
}

function upsampleConcatDispatch(entry: string, buffers: Tensor[], [n, ca, cb, h, w]: number[], positions: number): void {
  buffers[0].gpu.dispatch({
    shader: 'concat',
    entry,
    defines: { WG, SAMPLES, V: 'f32', PADDED: false },
    params: { n, h, w, a_run: ca * h * w, b_run: cb * h * w },
    buffers,
    workgroups: [Math.ceil(positions / WG), Math.ceil(n / SAMPLES)],
  });
}

/** upsample2x(a) ⊕ b, [N,Ca,H/2,W/2] and [N,Cb,H,W] -> [N,Ca+Cb,H,W], in one dispatch; with
 * `padOutput` (the next conv's layout), also the output zero-padded so, recorded as its padded
 * copy, where the padded grid writes the output whole (writesWholeInto; else the conv pads). */
export function upsampleConcatForward(a: Tensor, b: Tensor, padOutput?: PaddedLayout): Tensor {
  assertRank('upsample concat', 'a', a, 4);
  assertRank('upsample concat', 'b', b, 4);
  const sizes = upsampleConcatShapes('upsample concat', a.shape, b.shape);
  const [n, ca, cb, h, w] = sizes;
  const outShape = [n, ca + cb, h, w];
  if (padOutput) checkPaddedLayout('upsample concat', 'padded output', outShape, padOutput);
  const out = a.gpu.empty(outShape);
  if (!padOutput || !writesWholeInto(outShape, padOutput)) {
    upsampleConcatDispatch('upsample_concat_forward', [a, b, out], sizes, (ca + cb) * h * w);
    return out;
  }
  const grid = paddedGrid(padOutput, n * (ca + cb), WG);
  const padded = a.gpu.empty([n, ca + cb, padOutput.ph, padOutput.pw]);
  a.gpu.dispatch({
    shader: 'concat',
    entry: 'upsample_concat_forward_padded',
    defines: { WG, SAMPLES, V: 'f32', PADDED: true },
    params: { n, h, w, a_run: ca * h * w, b_run: cb * h * w, ca, channels: ca + cb, ...grid.params },
    buffers: [a, b, out, padded],
    workgroups: grid.workgroups,
  });
  recordPaddedCopy(out, padOutput, padded);
  return out;
}

/** dy [N,Ca+Cb,H,W] -> da [N,Ca,H/2,W/2] (each value the sum of the 4 it fed) and db [N,Cb,H,W], in one dispatch. */
export function upsampleConcatBackward(dy: Tensor, aShape: Shape, bShape: Shape): { da: Tensor; db: Tensor } {
  const sizes = upsampleConcatShapes('upsample concat backward', aShape, bShape);
  const [n, ca, cb, h, w] = sizes;
  assertShape('upsample concat backward', 'dy', dy, [n, ca + cb, h, w]);
  const da = dy.gpu.empty(aShape);
  const db = dy.gpu.empty(bShape);
  upsampleConcatDispatch('upsample_concat_backward', [dy, da, db], sizes, (ca * h * w) / 4 + cb * h * w);
  return { da, db };
}

/** The decoder's join: upsample2x(a) ⊕ b without the upsampled tensor (two dispatches fewer, each
 * way); `padOutput`: also written padded so, for the conv after it (upsampleConcatForward). */
export function upsampleConcat(a: Tensor, b: Tensor, padOutput?: PaddedLayout): Tensor {
  const out = upsampleConcatForward(a, b, padOutput);
  return record(out, 'upsample concat', [a, b], () => {
    const { da, db } = upsampleConcatBackward(out.grad!, a.shape, b.shape);
    accumulateGrad(a, da);
    accumulateGrad(b, db);
  });
}
