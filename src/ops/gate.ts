// Element-wise multiply of NCHW features by a one-channel gate broadcast over channels
// ([N,C,H,W] · [N,1,H,W]): the attention gates of the U-Net's skip connections.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import { shapeString, type Tensor } from '../gpu/tensor.ts';
import { assertRank, assertSameShape } from './check.ts';

const WG = 256;

function checkGateShape(op: string, x: Tensor, g: Tensor): void {
  assertRank(op, 'x', x, 4);
  assertRank(op, 'gate', g, 4);
  const [n, , h, w] = x.shape;
  if (g.shape[0] !== n || g.shape[1] !== 1 || g.shape[2] !== h || g.shape[3] !== w) {
    throw new Error(
      `${op}: gate must have shape [${n}, 1, ${h}, ${w}] (one channel, broadcast over the ${x.shape[1]} of x ${shapeString(x.shape)}), got ${shapeString(g.shape)}`,
    );
  }
}

function dispatch(entry: string, buffers: Tensor[], xShape: readonly number[], n: number): void {
  const [, c, h, w] = xShape;
  buffers[0].gpu.dispatch({
    shader: 'gate',
    entry,
    defines: { WG },
    params: { n, c, hw: h * w },
    buffers,
    workgroups: grid1d(n, WG),
  });
}

/** x [N,C,H,W] · g [N,1,H,W] -> [N,C,H,W]. */
export function gateForward(x: Tensor, g: Tensor): Tensor {
  checkGateShape('gate', x, g);
  const out = x.gpu.empty(x.shape);
  dispatch('gate_forward', [x, g, out], x.shape, x.size);
  return out;
}

/** dg [N,1,H,W] = Σ over channels of dy · x. (dx = dy · g is gateForward(dy, g).) */
export function gateBackwardGate(x: Tensor, dy: Tensor): Tensor {
  assertRank('gate backward', 'x', x, 4);
  assertSameShape('gate backward', x, 'x', dy, 'dy');
  const [n, , h, w] = x.shape;
  const dg = x.gpu.empty([n, 1, h, w]);
  dispatch('gate_backward_gate', [x, dy, dg], x.shape, dg.size);
  return dg;
}

// ---------------------------------------------------------------- autograd

export function gate(x: Tensor, g: Tensor): Tensor {
  const out = gateForward(x, g);
  return record(out, 'gate', [x, g], () => {
    if (x.requiresGrad) accumulateGrad(x, gateForward(out.grad!, g));
    if (g.requiresGrad) accumulateGrad(g, gateBackwardGate(x, out.grad!));
  });
}
