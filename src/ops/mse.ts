// Mean squared error loss: a scalar [1] tensor, mean over all elements of (pred - target)²; and the
// same over two (pred, target) pairs at once, as if each were concatenated (mseLossOfPairs).
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertSameShape, assertShape } from './check.ts';

const WG = 64;
/** Values each invocation adds per reduction pass: 256·32·32 values take 3 passes. */
const CHUNK = 64;
/** Invocations of the one workgroup that sums a small loss in one dispatch (a power of 2). */
const ONE_GROUP_WG = 256;
/** The most values summed by one workgroup (512 per invocation); bigger losses (the evaluation's
 * batches) take the passes, which spread over the cores: the training step's 2·32·32·32 values take
 * one dispatch instead of three. */
export const ONE_GROUP_MAX = 512 * ONE_GROUP_WG;

export function mseLossForward(pred: Tensor, target: Tensor): Tensor {
  assertSameShape('mse', pred, 'pred', target, 'target');
  return squaredErrorMean([pred, target]);
}

/** The mean of (pred - target)² over every value of the pairs given (one or two): up to
 * ONE_GROUP_MAX values summed by one workgroup, more in passes of CHUNK, the last one scaling by 1/n. */
function squaredErrorMean(pairs: Tensor[]): Tensor {
  const gpu = pairs[0].gpu;
  const twoPairs = pairs.length === 4;
  const nA = pairs[0].size;
  const n = twoPairs ? nA + pairs[2].size : nA;
  const reading = (out: Tensor) => (twoPairs ? [pairs[0], pairs[1], out, pairs[2], pairs[3]] : [pairs[0], pairs[1], out]);
  if (n <= ONE_GROUP_MAX) {
    const mean = gpu.empty([1]);
    gpu.dispatch({
      shader: 'mse',
      entry: 'squared_error_mean',
      defines: { WG: ONE_GROUP_WG, TWO_PAIRS: twoPairs },
      params: { n, groups: 1, scale: 1 / n, n_a: nA },
      buffers: reading(mean),
      workgroups: [1, 1, 1],
    });
    return mean;
  }
  // Each pass divides the count by CHUNK; the last one (a single output) applies the 1/n.
  let groups = Math.ceil(n / CHUNK);
  let sums = gpu.empty([groups]);
  gpu.dispatch({
    shader: 'mse',
    entry: 'squared_error_sums',
    defines: { WG, TWO_PAIRS: twoPairs },
    params: { n, groups, scale: groups === 1 ? 1 / n : 1, n_a: nA },
    buffers: reading(sums),
    workgroups: grid1d(groups, WG),
  });
  while (groups > 1) {
    const count = groups;
    groups = Math.ceil(count / CHUNK);
    const next = gpu.empty([groups]);
    gpu.dispatch({
      shader: 'mse',
      entry: 'sum_pass',
      defines: { WG, TWO_PAIRS: false },
      params: { n: count, groups, scale: groups === 1 ? 1 / n : 1, n_a: count },
      buffers: [sums, next],
      workgroups: grid1d(groups, WG),
    });
    sums = next;
  }
  return sums;
}

/** dpred = dloss · 2 (pred - target) / n, and dtarget = -dpred when `withTarget`. */
export function mseLossBackward(
  pred: Tensor,
  target: Tensor,
  dloss: Tensor,
  withTarget: boolean,
): { dpred: Tensor; dtarget: Tensor | null } {
  assertSameShape('mse backward', pred, 'pred', target, 'target');
  assertShape('mse backward', 'dloss', dloss, [1]);
  const gpu = pred.gpu;
  const n = pred.size;
  const dpred = gpu.empty(pred.shape);
  const dtarget = withTarget ? gpu.empty(target.shape) : null;
  gpu.dispatch({
    shader: 'mse',
    entry: dtarget ? 'mse_backward_both' : 'mse_backward',
    defines: { WG, TWO_PAIRS: false },
    params: { n, groups: 0, scale: 2 / n, n_a: n },
    buffers: dtarget ? [pred, target, dloss, dpred, dtarget] : [pred, target, dloss, dpred],
    workgroups: grid1d(n, WG),
  });
  return { dpred, dtarget };
}

// ---------------------------------------------------------------- autograd

export function mseLoss(pred: Tensor, target: Tensor): Tensor {
  const loss = mseLossForward(pred, target);
  return record(loss, 'mse', [pred, target], () => {
    const { dpred, dtarget } = mseLossBackward(pred, target, loss.grad!, target.requiresGrad);
    accumulateGrad(pred, dpred);
    if (dtarget) accumulateGrad(target, dtarget);
  });
}

/** The MSE over the values of two (pred, target) pairs together, e.g. the digit's and the item's:
 * mseLoss of the concatenated preds and targets, without the concatenations (one pass fewer each
 * way, and none for the targets). The targets are constants: only the preds get gradients. */
export function mseLossOfPairs(a: [pred: Tensor, target: Tensor], b: [pred: Tensor, target: Tensor]): Tensor {
  const op = 'mse of two pairs';
  assertSameShape(op, a[0], 'first pred', a[1], 'first target');
  assertSameShape(op, b[0], 'second pred', b[1], 'second target');
  for (const [target, which] of [
    [a[1], 'first'],
    [b[1], 'second'],
  ] as const) {
    if (target.requiresGrad)
      throw new Error(
        `${op}: the ${which} target ${target} needs a gradient, which this op does not give; use mseLoss on concatenated tensors`,
      );
  }
  const loss = squaredErrorMean([...a, ...b]);
  return record(loss, 'mse of two pairs', [a[0], b[0]], () => {
    const gpu = loss.gpu;
    const nA = a[0].size;
    const n = nA + b[0].size;
    const da = gpu.empty(a[0].shape);
    const db = gpu.empty(b[0].shape);
    gpu.dispatch({
      shader: 'mse',
      entry: 'mse_backward_pairs',
      defines: { WG, TWO_PAIRS: true },
      params: { n, groups: 0, scale: 2 / n, n_a: nA },
      buffers: [a[0], a[1], loss.grad!, da, b[0], b[1], db],
      workgroups: grid1d(n, WG),
    });
    accumulateGrad(a[0], da);
    accumulateGrad(b[0], db);
  });
}
