// 2-D batch normalisation (PyTorch's BatchNorm2d): per-channel statistics over N, H, W, a learned
// affine (gamma, beta), and running statistics for eval mode, updated in place on the GPU; with an
// optional ReLU on the output fused into the same passes, forward and backward.
import { accumulateGrad, gradientTarget, record } from '../autograd/graph.ts';
import {
  checkPaddedLayout,
  gradientPaddingWanted,
  type PaddedLayout,
  paddedCellParams,
  recordPaddedCopy,
  writesWholeInto,
} from '../autograd/padded-copies.ts';
import { reductionWorkgroup } from '../gpu/gpu.ts';
import type { ShaderParams } from '../gpu/params.ts';
import { type Shape, shapeString, type Tensor } from '../gpu/tensor.ts';
import { assertRank, assertSameShape, assertShape } from './check.ts';

/** Persistent [C] tensors, read in eval mode and updated by every training-mode forward. */
export interface BatchNormState {
  runningMean: Tensor;
  runningVar: Tensor;
}

export interface BatchNormOptions {
  training: boolean;
  /** Weight of the new batch in the running statistics (default 0.1). */
  momentum?: number;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Output max(y, 0): ReLU fused into the normalisation and into the backward's passes. */
  relu?: boolean;
  /** Training: also write y zero-padded as this layout (the next conv's input), in the same
   * dispatch, recorded as y's padded copy (src/autograd/padded-copies.ts), where the layout holds
   * y's rows whole (paddedRowsFit; else the conv pads y itself); ignored in eval mode. */
  padOutput?: PaddedLayout;
}

/** What the backward needs from the forward: the statistics x was normalised with, [4, C]: the
 * means, the inverse standard deviations, then the affine map y = x·scale + shift applied (scale =
 * gamma·invstd, shift = beta - mean·scale), from which the backward recomputes the ReLU's mask. */
export interface BatchNormSaved {
  stats: Tensor;
}

/** Invocations per workgroup, and samples per invocation of the eval element-wise kernels (grid
 * (⌈H·W / (WG·WIDTH)⌉, C, ⌈N / SAMPLES⌉)). Values are vec4 (WIDTH 4) when H·W is a multiple of 4.
 * Training's kernels run one workgroup per channel, of one subgroup (reductionWorkgroup). */
const ELEMENTWISE_WG = 64;
const SAMPLES = 16;

/** Whether train_forward and grad write a copy of their output padded as `layout`, in the walk
 * that writes the output: along padded rows that hold whole source rows (writesWholeInto) of whole
 * vec4s (W a multiple of 4). Else the conv pads the tensor itself. */
function paddedRowsFit(shape: Shape, layout: PaddedLayout): boolean {
  return shape[3] % 4 === 0 && writesWholeInto(shape, layout);
}

/** The shader's defines for x's shape and `wg` invocations per workgroup; `relu`: the ReLU fused;
 * `dx`: the output is grad's dx (else y); `padded`: the output is also written zero-padded. */
function definesFor(x: Tensor, wg: number, relu = false, dx = false, padded = false) {
  const [, , h, w] = x.shape;
  const vec4 = (h * w) % 4 === 0;
  return {
    WG: wg,
    SAMPLES,
    WIDTH: vec4 ? 4 : 1,
    V: vec4 ? 'vec4f' : 'f32',
    VEC4: vec4,
    RELU: relu,
    DX: dx,
    PADDED: padded,
    // The entry point's own inputs follow x, the statistics, the output and the padded output.
    IN: padded ? 5 : 4,
  };
}

function elementwise(x: Tensor, entry: string, p: ShaderParams, buffers: Tensor[], relu: boolean): void {
  const [n, c, h, w] = x.shape;
  const defines = definesFor(x, ELEMENTWISE_WG, relu);
  x.gpu.dispatch({
    shader: 'batchnorm2d',
    entry,
    defines,
    params: p,
    buffers,
    workgroups: [Math.ceil((h * w) / (ELEMENTWISE_WG * defines.WIDTH)), c, Math.ceil(n / SAMPLES)],
  });
}

function params(x: Tensor, training: boolean, eps = 1e-5, momentum = 0.1): ShaderParams {
  const [n, c, h, w] = x.shape;
  return { n, c, hw: h * w, training: training ? 1 : 0, eps, momentum };
}

function checkInputs(op: string, x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, opts: BatchNormOptions): void {
  assertRank(op, 'x', x, 4);
  const c = x.shape[1];
  assertShape(op, 'gamma', gamma, [c]);
  assertShape(op, 'beta', beta, [c]);
  assertShape(op, 'runningMean', state.runningMean, [c]);
  assertShape(op, 'runningVar', state.runningVar, [c]);
  const [n, , h, w] = x.shape;
  if (opts.training && n * h * w < 2) {
    throw new Error(
      `${op}: training needs more than one value per channel to estimate a variance, got x ${shapeString(x.shape)}; use a larger batch or eval mode`,
    );
  }
  const { momentum = 0.1, eps = 1e-5 } = opts;
  if (!(momentum >= 0 && momentum <= 1) || !(eps > 0)) {
    throw new Error(`${op}: momentum must lie in [0, 1] and eps be > 0, got momentum ${momentum}, eps ${eps}`);
  }
}

/** Normalises x [N,C,H,W], in one dispatch. Training: with the batch statistics, updating the
 * running ones in place; eval: with the running statistics. Returns y and the statistics used, for
 * the backward. */
export function batchNorm2dForward(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  state: BatchNormState,
  opts: BatchNormOptions,
): { y: Tensor } & BatchNormSaved {
  checkInputs('batchnorm2d', x, gamma, beta, state, opts);
  if (opts.padOutput) checkPaddedLayout('batchnorm2d', 'padded y', x.shape, opts.padOutput);
  const gpu = x.gpu;
  const c = x.shape[1];
  const p = params(x, opts.training, opts.eps, opts.momentum);
  const stats = gpu.empty([4, c]);
  const y = gpu.empty(x.shape);
  const inputs = [gamma, beta, state.runningMean, state.runningVar];
  if (opts.training) {
    const layout = opts.padOutput && paddedRowsFit(x.shape, opts.padOutput) ? opts.padOutput : undefined;
    const yPadded = layout && gpu.empty([x.shape[0], c, layout.ph, layout.pw]);
    gpu.dispatch({
      shader: 'batchnorm2d',
      entry: 'train_forward',
      defines: definesFor(x, reductionWorkgroup(gpu.info), opts.relu, false, !!layout),
      params: layout ? { ...p, ...paddedParams(x, layout) } : p,
      buffers: [x, stats, y, ...(yPadded ? [yPadded] : []), ...inputs],
      workgroups: [c],
    });
    if (layout && yPadded) recordPaddedCopy(y, layout, yPadded);
  } else {
    elementwise(x, 'normalize', p, [x, stats, y, ...inputs], !!opts.relu);
  }
  return { y, stats };
}

/** Gradients with respect to x, gamma and beta: the `wanted` ones (null for the others). In
 * training mode the statistics depend on x, which adds the mean terms to dx; in eval mode they are
 * constants. `reluOutput`: the forward ran with relu, and this is its output (dy flows back only
 * where it is positive; grad recomputes that mask from x and the saved affine map, input_grad reads
 * it). One dispatch: grad for the parameters and dx in training, or the parameters in eval (and dx
 * there too); input_grad for eval's dx alone. */
export function batchNorm2dBackward(
  x: Tensor,
  dy: Tensor,
  saved: BatchNormSaved,
  training: boolean,
  reluOutput?: Tensor,
  wanted = { input: true, params: true },
  /** Where to write dgamma and dbeta (e.g. their gradient slots), else new tensors. */
  into?: { dgamma: Tensor; dbeta: Tensor },
  /** Training with dx wanted: also write dx zero-padded as this layout (dxPadded), in the same
   * dispatch, where the layout holds dx's rows whole (paddedRowsFit; else dxPadded is null and the
   * conv pads dx itself); ignored in eval mode (dxPadded null). */
  dxLayout?: PaddedLayout,
): { dx: Tensor | null; dgamma: Tensor | null; dbeta: Tensor | null; dxPadded: Tensor | null } {
  const op = 'batchnorm2d backward';
  assertRank(op, 'x', x, 4);
  assertSameShape(op, x, 'x', dy, 'dy');
  const c = x.shape[1];
  assertShape(op, 'saved stats', saved.stats, [4, c]);
  if (reluOutput) assertSameShape(op, x, 'x', reluOutput, 'relu output');
  if (into) {
    assertShape(op, 'dgamma output', into.dgamma, [c]);
    assertShape(op, 'dbeta output', into.dbeta, [c]);
  }
  if (dxLayout) checkPaddedLayout(op, 'padded dx', x.shape, dxLayout);
  const gpu = x.gpu;
  const p = params(x, training);
  if (!wanted.params && !(training && wanted.input)) {
    if (!wanted.input) return { dx: null, dgamma: null, dbeta: null, dxPadded: null };
    const dx = gpu.empty(x.shape);
    elementwise(x, 'input_grad', p, [dy, saved.stats, dx, ...(reluOutput ? [reluOutput] : [])], !!reluOutput);
    return { dx, dgamma: null, dbeta: null, dxPadded: null };
  }
  // grad writes dx whether or not it is wanted (then to a buffer nobody reads).
  const [dgamma, dbeta] = wanted.params && into ? [into.dgamma, into.dbeta] : [gpu.empty([c]), gpu.empty([c])];
  const dx = gpu.empty(x.shape);
  const layout = training && wanted.input && dxLayout && paddedRowsFit(x.shape, dxLayout) ? dxLayout : undefined;
  const dxPadded = layout ? gpu.empty([x.shape[0], c, layout.ph, layout.pw]) : null;
  gpu.dispatch({
    shader: 'batchnorm2d',
    entry: 'grad',
    defines: definesFor(x, reductionWorkgroup(gpu.info), !!reluOutput, true, !!layout),
    params: layout ? { ...p, ...paddedParams(x, layout) } : p,
    buffers: [x, saved.stats, dx, ...(dxPadded ? [dxPadded] : []), dy, dgamma, dbeta],
    workgroups: [c],
  });
  return {
    dx: wanted.input ? dx : null,
    dgamma: wanted.params ? dgamma : null,
    dbeta: wanted.params ? dbeta : null,
    dxPadded,
  };
}

/** The uniforms of the padded copy of y (train_forward) or dx (grad), which a workgroup per channel
 * writes, walking the layout's rows. */
function paddedParams(x: Tensor, layout: PaddedLayout): ShaderParams {
  return { w: x.shape[3], ph: layout.ph, ...paddedCellParams(layout) };
}

// ---------------------------------------------------------------- autograd

export function batchNorm2d(x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, opts: BatchNormOptions): Tensor {
  const { y, stats } = batchNorm2dForward(x, gamma, beta, state, opts);
  return record(y, opts.relu ? 'batchnorm2d+relu' : 'batchnorm2d', [x, gamma, beta], () => {
    const wanted = { input: x.requiresGrad, params: gamma.requiresGrad || beta.requiresGrad };
    const reluOutput = opts.relu ? y : undefined;
    const into = wanted.params ? { dgamma: gradientTarget(gamma), dbeta: gradientTarget(beta) } : undefined;
    // The op before (a conv) may read dx zero-padded: then written so here, in the same dispatch.
    const layout = gradientPaddingWanted(x);
    const { dx, dgamma, dbeta, dxPadded } = batchNorm2dBackward(x, y.grad!, { stats }, opts.training, reluOutput, wanted, into, layout);
    if (dx && dxPadded && layout) recordPaddedCopy(dx, layout, dxPadded);
    if (dx) accumulateGrad(x, dx);
    if (dgamma) accumulateGrad(gamma, dgamma);
    if (dbeta) accumulateGrad(beta, dbeta);
  });
}
