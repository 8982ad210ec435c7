// Both sources as their shares of the mixture (shaders/share.wgsl): from the logit z of a share
// s = σ(z), the digit is lo + s·w and the item lo + (1 − s)·w, where [lo, lo + w] is the range the
// mixture x allows a source in [0, 1]. Both outputs are then in [0, 1] and add up to 2x, by
// construction. One dispatch gives both, and one per input gives its gradient from both outputs'.
import { accumulateGradWith, recordPair } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertRank, assertSameShape } from './check.ts';

const WG = 256;

/** The two sources: the one the share names ('own', σ(z)) and the rest (σ(−z)). */
export interface Shares {
  own: Tensor;
  rest: Tensor;
}

function checkShapes(op: string, x: Tensor, logit: Tensor): void {
  assertRank(op, 'mixture', x, 4);
  assertSameShape(op, x, 'mixture', logit, 'logit');
}

/** max(0, 2x − 1) + s·(1 − |2x − 1|), with s = σ(z) for 'own' and σ(−z) for 'rest'. */
export function sharesForward(x: Tensor, logit: Tensor): Shares {
  checkShapes('share', x, logit);
  const own = x.gpu.empty(x.shape);
  const rest = x.gpu.empty(x.shape);
  x.gpu.dispatch({
    shader: 'share',
    entry: 'share_forward',
    defines: { WG, OWN: false, REST: false, PRIOR: false, REST_AT: 5, PRIOR_AT: 6 },
    params: { n: x.size },
    buffers: [x, logit, own, rest],
    workgroups: grid1d(x.size, WG),
  });
  return { own, rest };
}

/** The gradient of one input, 'logit' or 'mixture', from the outputs' gradients (null for an
 * output nothing used; not both); plus `prior` (that input's gradient from its other consumers)
 * where given, in the same dispatch. */
export function sharesBackward(
  x: Tensor,
  logit: Tensor,
  dy: { own: Tensor | null; rest: Tensor | null },
  wrt: 'logit' | 'mixture',
  prior?: Tensor,
): Tensor {
  const op = 'share backward';
  checkShapes(op, x, logit);
  if (!dy.own && !dy.rest) throw new Error(`${op}: neither output has a gradient; call it only when one does`);
  if (dy.own) assertSameShape(op, x, 'mixture', dy.own, 'dy of own');
  if (dy.rest) assertSameShape(op, x, 'mixture', dy.rest, 'dy of rest');
  if (prior) assertSameShape(op, x, 'mixture', prior, 'prior gradient');
  const given = [dy.own, dy.rest, prior ?? null].filter((t): t is Tensor => t !== null);
  const dz = x.gpu.empty(x.shape);
  const restAt = dy.own ? 5 : 4;
  x.gpu.dispatch({
    shader: 'share',
    entry: `share_backward_${wrt}`,
    defines: {
      WG,
      OWN: dy.own !== null,
      REST: dy.rest !== null,
      PRIOR: prior !== undefined,
      REST_AT: restAt,
      PRIOR_AT: dy.rest ? restAt + 1 : restAt,
    },
    params: { n: x.size },
    buffers: [x, logit, dz, ...given],
    workgroups: grid1d(x.size, WG),
  });
  return dz;
}

// ---------------------------------------------------------------- autograd

/** Both sources from the mixture x and the logit of the digit's share of it (both [N,C,H,W]). */
export function sharesOfMixture(x: Tensor, logit: Tensor): Shares {
  const { own, rest } = sharesForward(x, logit);
  recordPair(own, rest, 'share', [x, logit], () => {
    const dy = { own: own.grad, rest: rest.grad };
    accumulateGradWith(logit, (prior) => sharesBackward(x, logit, dy, 'logit', prior ?? undefined));
    accumulateGradWith(x, (prior) => sharesBackward(x, logit, dy, 'mixture', prior ?? undefined));
  });
  return { own, rest };
}
