// 2×2 max-pooling, stride 2 (the encoder's downsampling). Backward routes dy to each window's max.
import { accumulateGradWith, record } from '../autograd/graph.ts';
import { checkPaddedLayout, type PaddedLayout, paddedGrid, recordPaddedCopy, writesWholeInto } from '../autograd/padded-copies.ts';
import { shapeString, type Tensor } from '../gpu/tensor.ts';
import { assertRank, assertShape } from './check.ts';

/** Grid (⌈Ho·Wo / WG⌉, C, ⌈N / SAMPLES⌉): each invocation pools one window position for SAMPLES samples. */
const WG = 64;
const SAMPLES = 16;

function pooledShape(op: string, x: Tensor): [number, number, number, number] {
  assertRank(op, 'x', x, 4);
  const [n, c, h, w] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new Error(`${op}: x ${shapeString(x.shape)} needs an even height and width for 2×2 windows with stride 2; pad or crop the input`);
  }
  return [n, c, h / 2, w / 2];
}

function dispatch(entry: string, buffers: Tensor[], outShape: number[], prior = false): void {
  const [n, c, ho, wo] = outShape;
  buffers[0].gpu.dispatch({
    shader: 'maxpool2d',
    entry,
    defines: { WG, SAMPLES, PRIOR: prior, PADDED: false },
    params: { n, c, ho, wo },
    buffers,
    workgroups: [Math.ceil((ho * wo) / WG), c, Math.ceil(n / SAMPLES)],
  });
}

/** [N,C,H,W] -> [N,C,H/2,W/2], the maximum of each 2×2 window; with `padOutput`, also y zero-padded
 * so (the next conv's input), in the same dispatch, recorded as y's padded copy, where the padded
 * grid writes y whole (writesWholeInto; else the conv pads y itself). */
export function maxPool2dForward(x: Tensor, padOutput?: PaddedLayout): Tensor {
  const outShape = pooledShape('maxpool2d', x);
  if (padOutput) checkPaddedLayout('maxpool2d', 'padded y', outShape, padOutput);
  const y = x.gpu.empty(outShape);
  if (!padOutput || !writesWholeInto(outShape, padOutput)) {
    dispatch('maxpool_forward', [x, y], outShape);
    return y;
  }
  const [n, c, ho, wo] = outShape;
  const grid = paddedGrid(padOutput, n * c, WG);
  const yPadded = x.gpu.empty([n, c, padOutput.ph, padOutput.pw]);
  x.gpu.dispatch({
    shader: 'maxpool2d',
    entry: 'maxpool_forward_padded',
    defines: { WG, SAMPLES, PRIOR: false, PADDED: true },
    params: { n, c, ho, wo, ...grid.params },
    buffers: [x, y, yPadded],
    workgroups: grid.workgroups,
  });
  recordPaddedCopy(y, padOutput, yPadded);
  return y;
}

/** dx holds dy at each window's (first) maximum and 0 elsewhere, plus `prior` (x's gradient from
 * its other consumers) where given: the sum in the same dispatch. */
export function maxPool2dBackward(x: Tensor, dy: Tensor, prior?: Tensor): Tensor {
  const outShape = pooledShape('maxpool2d backward', x);
  assertShape('maxpool2d backward', 'dy', dy, outShape);
  if (prior) assertShape('maxpool2d backward', 'prior gradient', prior, x.shape);
  const dx = x.gpu.empty(x.shape);
  dispatch('maxpool_backward', prior ? [x, dy, dx, prior] : [x, dy, dx], outShape, prior !== undefined);
  return dx;
}

// ---------------------------------------------------------------- autograd

/** `padOutput`: also write y zero-padded so, for the conv after the pool (maxPool2dForward). */
export function maxPool2d(x: Tensor, padOutput?: PaddedLayout): Tensor {
  const y = maxPool2dForward(x, padOutput);
  return record(y, 'maxpool2d', [x], () => accumulateGradWith(x, (prior) => maxPool2dBackward(x, y.grad!, prior ?? undefined)));
}
