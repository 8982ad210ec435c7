// Mixture-consistent outputs: a source estimate projected onto the constraint digit + item = 2·x
// and clamped to [0, 1]. Applied once per source, with the roles of the two estimates swapped.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertRank, assertSameShape } from './check.ts';

const WG = 256;

function checkShapes(op: string, x: Tensor, own: Tensor, other: Tensor): void {
  assertRank(op, 'mixture', x, 4);
  assertSameShape(op, x, 'mixture', own, 'own estimate');
  assertSameShape(op, x, 'mixture', other, 'other estimate');
}

/** clamp(x + (own − other) / 2, 0, 1): own plus half the residual 2x − own − other, in [0, 1]. */
export function projectionForward(x: Tensor, own: Tensor, other: Tensor): Tensor {
  checkShapes('projection', x, own, other);
  const out = x.gpu.empty(x.shape);
  x.gpu.dispatch({
    shader: 'projection',
    entry: 'projection_forward',
    defines: { WG },
    params: { n: x.size, scale: 0 },
    buffers: [x, own, other, out],
    workgroups: grid1d(x.size, WG),
  });
  return out;
}

/** The gradient of one input: `scale` · dy where the projection did not clamp, else 0; scale is
 * ∂out/∂input there (1 for x, 1/2 for own, −1/2 for other). */
export function projectionBackward(x: Tensor, own: Tensor, other: Tensor, dy: Tensor, scale: number): Tensor {
  checkShapes('projection backward', x, own, other);
  assertSameShape('projection backward', x, 'mixture', dy, 'dy');
  const dz = x.gpu.empty(x.shape);
  x.gpu.dispatch({
    shader: 'projection',
    entry: 'projection_backward',
    defines: { WG },
    params: { n: x.size, scale },
    buffers: [x, own, other, dy, dz],
    workgroups: grid1d(x.size, WG),
  });
  return dz;
}

// ---------------------------------------------------------------- autograd

/** `own` made consistent with the mixture x and the `other` source's estimate (all [N,C,H,W]). */
export function projectOntoMixture(x: Tensor, own: Tensor, other: Tensor): Tensor {
  const out = projectionForward(x, own, other);
  return record(out, 'projection', [x, own, other], () => {
    for (const [input, scale] of [
      [x, 1],
      [own, 0.5],
      [other, -0.5],
    ] as const) {
      if (input.requiresGrad) accumulateGrad(input, projectionBackward(x, own, other, out.grad!, scale));
    }
  });
}
