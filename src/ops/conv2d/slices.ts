// Split-K for weight gradients: a kernel that splits dW's reduction over the batch's rows into
// slices writes one partial dW per slice, and sumSlices adds them up (WGSL has no float atomics).
// Every variant that splits (packed, subgroup, gemm) shares the limit and the reduction here.
import { type Gpu, grid1d } from '../../gpu/gpu.ts';
import type { Tensor } from '../../gpu/tensor.ts';

/** The most slices a weight gradient is split into: the partial buffer holds this many dW. */
export const MAX_SLICES = 64;

/** dw_reduce shares conv2d_weight.wgsl with dw_partial but uses none of its other constants:
 * fixed values (a 1×1 kernel's) keep it (and db in src/ops/conv2d.ts, with its own WG) to one
 * compiled pipeline each, two for dw_reduce (with and without the bias's slices). */
export const WEIGHT_SUM_DEFINES = {
  K: 1,
  S: 1,
  CI2: false,
  WG: 64,
  CI_LANES: 64,
  WIN4: 2,
  BIAS_SUM: false,
  DY_BROADCAST: false,
  SHARERS: 8,
};

/** A weight kernel's bias partial sums: `part` [slices, Cout] to be summed into `db`. */
export interface BiasSlices {
  part: Tensor;
  db: Tensor;
}

/** dw = the sum over `slices` rows of `part` [slices, dw.size]: the reduction that split weight
 * gradients end with; with `bias`, db = the sum of its slices too, in the same dispatch. */
export function sumSlices(gpu: Gpu, part: Tensor, dw: Tensor, slices: number, bias?: BiasSlices): void {
  const outC = bias?.db.size ?? 0;
  gpu.dispatch({
    shader: 'conv2d_weight',
    entry: 'dw_reduce',
    defines: { ...WEIGHT_SUM_DEFINES, BIAS_SUM: bias !== undefined },
    params: { size: dw.size, slices, out_c: outC },
    buffers: bias ? [part, dw, bias.part, bias.db] : [part, dw],
    workgroups: grid1d(dw.size + outC, WEIGHT_SUM_DEFINES.WG),
  });
}
