// Tensors written zero-padded by the op that computes them, beside their plain layout. A packed
// conv reads its source zero-padded (src/ops/conv2d/packed.ts): x in the forward pass, dy for the
// input gradient, each a padding pass of its own (a dispatch that reads and writes the tensor).
// Where that source comes from an op that writes it whole anyway (batch norm: y forward, dx
// backward), that op can write the padded copy too, in its own dispatch:
// - forward, the conv's owner asks the producer for the layout the conv reads (ConvBlock: bn1's y
//   for conv2, src/ops/conv2d.ts conv2dInputLayout);
// - backward, the conv asks in its forward pass, on its output y, for y's gradient
//   (wantGradientPadded), and the op that computes that gradient answers.
// The producer records the copy on the tensor (recordPaddedCopy); the conv reads it where there is
// one in its layout, and pads the tensor itself where there is none (e.g. a gradient summed from
// two paths).
import { MAX_WORKGROUPS } from '../gpu/gpu.ts';
import { type Shape, shapeString, type Tensor } from '../gpu/tensor.ts';

/** [N, C, ph, pw] holding a tensor [N, C, H, W] at (top, left) (negative: cropped), `dilation - 1`
 * zeros between its pixels and zeros elsewhere; pw a multiple of 4 (rows of whole vec4s). */
export interface PaddedLayout {
  ph: number;
  pw: number;
  top: number;
  left: number;
  dilation: number;
}

/** Planes (N·C) each invocation of a grid over a padded layout's cells writes: its index arithmetic
 * (shaders/padded_cells.wgsl, integer divisions included, a lane at a time on CPU drivers) is done
 * once for all of them: 2× faster than one plane each. */
const PAD_PLANES = 8;

/** The uniforms shaders/padded_cells.wgsl reads to walk `layout`'s vec4 cells. */
export function paddedCellParams(layout: PaddedLayout) {
  const pw4 = layout.pw / 4;
  return { pw4, cells: layout.ph * pw4, top: layout.top, left: layout.left };
}

/** A grid over `layout`'s vec4 cells for `planes` planes (N·C), as conv2d's pad pass and the ops
 * that write a padded copy beside their output run it: its uniforms, and its workgroups of `wg`
 * invocations (x: cells, y: plane groups). */
export function paddedGrid(layout: PaddedLayout, planes: number, wg: number) {
  const params = paddedCellParams(layout);
  return {
    params,
    workgroups: [Math.ceil(params.cells / wg), Math.min(Math.ceil(planes / PAD_PLANES), MAX_WORKGROUPS)] as [number, number],
  };
}

const wanted = new WeakMap<Tensor, PaddedLayout>();
const copies = new WeakMap<Tensor, { layout: PaddedLayout; padded: Tensor }>();

/** Throws, naming the op, if `layout` is not one a [N, C, H, W] tensor can be padded into. */
export function checkPaddedLayout(op: string, what: string, shape: Shape, layout: PaddedLayout): void {
  const { ph, pw, top, left, dilation } = layout;
  const whole = [ph, pw, dilation].every((v) => Number.isInteger(v) && v > 0) && Number.isInteger(top) && Number.isInteger(left);
  if (shape.length !== 4 || !whole || pw % 4 !== 0) {
    throw new Error(
      `${op}: ${what} of ${shapeString(shape)} needs positive whole ph, pw (a multiple of 4) and dilation and whole top, left; got ${JSON.stringify(layout)}`,
    );
  }
}

/** Whether `layout` is `shape` as it is (no border, no dilation): no copy needed. */
export function isUnpadded(shape: Shape, layout: PaddedLayout): boolean {
  const { ph, pw, top, left, dilation } = layout;
  return top === 0 && left === 0 && dilation === 1 && ph === shape[2] && pw === shape[3];
}

/** Whether an op that computes each value of a `shape` tensor once, in a grid over `layout`'s
 * cells, writes the tensor whole as it writes the copy: no dilation, no row or column cropped; and
 * whether there is a copy to write (the layout is not the tensor's own). */
export function writesWholeInto(shape: Shape, layout: PaddedLayout): boolean {
  const { ph, pw, top, left, dilation } = layout;
  const holdsAll = top >= 0 && left >= 0 && top + shape[2] <= ph && left + shape[3] <= pw;
  return dilation === 1 && holdsAll && !isUnpadded(shape, layout);
}

/** Asks the op that computes y's gradient to write it padded as `layout` too (unless that is y's
 * own layout). */
export function wantGradientPadded(y: Tensor, layout: PaddedLayout): void {
  if (!isUnpadded(y.shape, layout)) wanted.set(y, layout);
}

/** The layout y's gradient is wanted in, if any. */
export function gradientPaddingWanted(y: Tensor): PaddedLayout | undefined {
  return wanted.get(y);
}

/** Records `padded` as `t` laid out as `layout`. */
export function recordPaddedCopy(t: Tensor, layout: PaddedLayout, padded: Tensor): void {
  copies.set(t, { layout, padded });
}

/** t's copy in `layout`, where its producer wrote one. */
export function paddedCopy(t: Tensor, layout: PaddedLayout): Tensor | undefined {
  const copy = copies.get(t);
  const same = copy && (Object.keys(layout) as (keyof PaddedLayout)[]).every((key) => copy.layout[key] === layout[key]);
  return same ? copy.padded : undefined;
}
