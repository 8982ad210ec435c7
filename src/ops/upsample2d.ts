// ×2 upsampling (the decoder's), nearest or bilinear (PyTorch's align_corners=false), with backward.
import { accumulateGrad, record } from '../autograd/graph.ts';
import type { Shape, Tensor } from '../gpu/tensor.ts';
import { assertRank, assertShape } from './check.ts';

export type UpsampleMode = 'nearest' | 'bilinear';

/** Grid (⌈positions per plane / WG⌉, C, ⌈N / SAMPLES⌉): each invocation does one position of one
 * channel for SAMPLES samples. */
const WG = 64;
const SAMPLES = 16;

function checkMode(op: string, mode: UpsampleMode): void {
  if (mode !== 'nearest' && mode !== 'bilinear') {
    throw new Error(`${op}: mode '${mode}' is not one of 'nearest', 'bilinear'`);
  }
}

/** `positions`: per plane, of the output (forward) or the input (backward). */
function dispatch(entry: string, buffers: Tensor[], positions: number, inputShape: Shape): void {
  const [n, c, h, w] = inputShape;
  buffers[0].gpu.dispatch({
    shader: 'upsample2d',
    entry,
    defines: { WG, SAMPLES },
    params: { n, c, h, w },
    buffers,
    workgroups: [Math.ceil(positions / WG), c, Math.ceil(n / SAMPLES)],
  });
}

/** [N,C,H,W] -> [N,C,2H,2W]. */
export function upsample2xForward(x: Tensor, mode: UpsampleMode): Tensor {
  assertRank('upsample2x', 'x', x, 4);
  checkMode('upsample2x', mode);
  const [n, c, h, w] = x.shape;
  const y = x.gpu.empty([n, c, 2 * h, 2 * w]);
  dispatch(`${mode}_forward`, [x, y], 4 * h * w, x.shape);
  return y;
}

/** dy [N,C,2H,2W] -> dx with the forward input's shape [N,C,H,W]. */
export function upsample2xBackward(dy: Tensor, xShape: Shape, mode: UpsampleMode): Tensor {
  checkMode('upsample2x backward', mode);
  const [n, c, h, w] = xShape;
  assertShape('upsample2x backward', 'dy', dy, [n, c, 2 * h, 2 * w]);
  const dx = dy.gpu.empty(xShape);
  dispatch(`${mode}_backward`, [dy, dx], h * w, xShape);
  return dx;
}

// ---------------------------------------------------------------- autograd

export function upsample2x(x: Tensor, mode: UpsampleMode): Tensor {
  const y = upsample2xForward(x, mode);
  return record(y, `upsample2x ${mode}`, [x], () => accumulateGrad(x, upsample2xBackward(y.grad!, x.shape, mode)));
}
