// A source as its share of the mixture (shaders/share.wgsl): from the logit z of a share s = σ(z),
// the digit is lo + s·w and the item lo + (1 − s)·w, where [lo, lo + w] is the range the mixture x
// allows a source in [0, 1]. Both outputs are then in [0, 1] and add up to 2x, by construction.
import { accumulateGradWith, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertRank, assertSameShape } from './check.ts';

const WG = 256;

/** Which source a dispatch computes: the one the share names ('own', σ(z)) or the rest (σ(−z)). */
export type ShareSide = 'own' | 'rest';

function checkShapes(op: string, x: Tensor, logit: Tensor): void {
  assertRank(op, 'mixture', x, 4);
  assertSameShape(op, x, 'mixture', logit, 'logit');
}

/** max(0, 2x − 1) + s·(1 − |2x − 1|), s = σ(z) for 'own' and σ(−z) for 'rest'. */
export function shareForward(x: Tensor, logit: Tensor, side: ShareSide): Tensor {
  checkShapes('share', x, logit);
  const out = x.gpu.empty(x.shape);
  x.gpu.dispatch({
    shader: 'share',
    entry: 'share_forward',
    defines: { WG, PRIOR: false },
    params: { n: x.size, rest: side === 'rest' ? 1 : 0 },
    buffers: [x, logit, out],
    workgroups: grid1d(x.size, WG),
  });
  return out;
}

/** The gradient of one input, 'logit' or 'mixture', given the output's gradient dy; plus `prior`
 * (that input's gradient from its other consumers, e.g. the other side's share) where given, in
 * the same dispatch. */
export function shareBackward(x: Tensor, logit: Tensor, dy: Tensor, side: ShareSide, wrt: 'logit' | 'mixture', prior?: Tensor): Tensor {
  checkShapes('share backward', x, logit);
  assertSameShape('share backward', x, 'mixture', dy, 'dy');
  if (prior) assertSameShape('share backward', x, 'mixture', prior, 'prior gradient');
  const dz = x.gpu.empty(x.shape);
  x.gpu.dispatch({
    shader: 'share',
    entry: `share_backward_${wrt}`,
    defines: { WG, PRIOR: prior !== undefined },
    params: { n: x.size, rest: side === 'rest' ? 1 : 0 },
    buffers: prior ? [x, logit, dy, dz, prior] : [x, logit, dy, dz],
    workgroups: grid1d(x.size, WG),
  });
  return dz;
}

// ---------------------------------------------------------------- autograd

/** One source from the mixture x and the logit of the digit's share of it (both [N,C,H,W]). */
export function shareOfMixture(x: Tensor, logit: Tensor, side: ShareSide): Tensor {
  const out = shareForward(x, logit, side);
  return record(out, 'share', [x, logit], () => {
    // The digit and the item share the logit (and the mixture): the second side adds the first's.
    accumulateGradWith(logit, (prior) => shareBackward(x, logit, out.grad!, side, 'logit', prior ?? undefined));
    accumulateGradWith(x, (prior) => shareBackward(x, logit, out.grad!, side, 'mixture', prior ?? undefined));
  });
}
