// ×2 nearest-neighbour upsampling (the decoder's), with backward. (Bilinear lost its ablation and
// last lived at c8291d8.)
import { accumulateGrad, record } from '../autograd/graph.ts';
import type { Shape, Tensor } from '../gpu/tensor.ts';
import { assertRank, assertShape } from './check.ts';

/** Grid (⌈positions per plane / WG⌉, C, ⌈N / SAMPLES⌉): each invocation does one position of one
 * channel for SAMPLES samples. */
const WG = 64;
const SAMPLES = 16;

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
export function upsample2xForward(x: Tensor): Tensor {
  assertRank('upsample2x', 'x', x, 4);
  const [n, c, h, w] = x.shape;
  const y = x.gpu.empty([n, c, 2 * h, 2 * w]);
  dispatch('nearest_forward', [x, y], 4 * h * w, x.shape);
  return y;
}

/** dy [N,C,2H,2W] -> dx with the forward input's shape [N,C,H,W]. */
export function upsample2xBackward(dy: Tensor, xShape: Shape): Tensor {
  const [n, c, h, w] = xShape;
  assertShape('upsample2x backward', 'dy', dy, [n, c, 2 * h, 2 * w]);
  const dx = dy.gpu.empty(xShape);
  dispatch('nearest_backward', [dy, dx], h * w, xShape);
  return dx;
}

// ---------------------------------------------------------------- autograd

export function upsample2x(x: Tensor): Tensor {
  const y = upsample2xForward(x);
  return record(y, 'upsample2x', [x], () => accumulateGrad(x, upsample2xBackward(y.grad!, x.shape)));
}
