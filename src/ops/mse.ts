// Mean squared error loss: a scalar [1] tensor, mean over all elements of (pred - target)².
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertSameShape, assertShape } from './check.ts';

const WG = 64;
/** Values each invocation adds per reduction pass: 256·32·32 values take 3 passes. */
const CHUNK = 64;

export function mseLossForward(pred: Tensor, target: Tensor): Tensor {
  assertSameShape('mse', pred, 'pred', target, 'target');
  const gpu = pred.gpu;
  const n = pred.size;
  // Each pass divides the count by CHUNK; the last one (a single output) applies the 1/n.
  let groups = Math.ceil(n / CHUNK);
  let sums = gpu.empty([groups]);
  gpu.dispatch({
    shader: 'mse',
    entry: 'squared_error_sums',
    defines: { WG },
    params: { n, groups, scale: groups === 1 ? 1 / n : 1 },
    buffers: [pred, target, sums],
    workgroups: grid1d(groups, WG),
  });
  while (groups > 1) {
    const count = groups;
    groups = Math.ceil(count / CHUNK);
    const next = gpu.empty([groups]);
    gpu.dispatch({
      shader: 'mse',
      entry: 'sum_pass',
      defines: { WG },
      params: { n: count, groups, scale: groups === 1 ? 1 / n : 1 },
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
    defines: { WG },
    params: { n, groups: 0, scale: 2 / n },
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
