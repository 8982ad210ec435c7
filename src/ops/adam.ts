// Adam and AdamW (PyTorch semantics, with bias correction). The moments m and v live on the GPU,
// laid out as the parameters are; each step is one dispatch per span of parameters
// (src/gpu/arena.ts): one for a model whose parameters were gathered into an arena (the trainer's),
// one per parameter otherwise. A span of several parameters reads their gradients from a buffer of
// its own, laid out alike: each parameter's gradSlot, which backward writes its gradient into
// (src/autograd/graph.ts gradientTarget); a gradient that landed elsewhere is copied there.
import { mirrorOf, type Span, spanBinding, spansOf } from '../gpu/arena.ts';
import { type Gpu, grid1d } from '../gpu/gpu.ts';
import type { ShaderParams } from '../gpu/params.ts';
import { shapeString, type Tensor } from '../gpu/tensor.ts';

export interface AdamOptions {
  lr: number;
  /** Decay of the first moment (default 0.9). */
  beta1?: number;
  /** Decay of the second moment (default 0.999). */
  beta2?: number;
  /** Added to √v̂ in the denominator (default 1e-8). */
  eps?: number;
  /** Weight decay (default 0). */
  weightDecay?: number;
  /** true (default): AdamW, decay applied to the weights directly; false: Adam, L2 decay added to
   * the gradient. */
  decoupled?: boolean;
}

const WG = 256;

export class Adam {
  /** Steps taken so far; step t (1-based) uses bias corrections 1 - β^t. */
  stepCount = 0;
  private readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly weightDecay: number;
  private readonly decoupled: boolean;
  /** Per span: its moments and, for a span of several parameters, the gradients' buffer, each
   * whole and as one view per parameter. */
  private readonly spans: { span: Span; m: Mirror; v: Mirror; grads: Mirror | null; params: ShaderParams }[];

  constructor(
    private readonly gpu: Gpu,
    private readonly parameters: Tensor[],
    opts: AdamOptions,
  ) {
    const { lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0, decoupled = true } = opts;
    checkLr(lr);
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps > 0 && weightDecay >= 0)) {
      throw new Error(
        `Adam: need 0 <= beta1, beta2 < 1, eps > 0 and weightDecay >= 0; got beta1 ${beta1}, beta2 ${beta2}, eps ${eps}, weightDecay ${weightDecay}`,
      );
    }
    parameters.forEach((t, i) => {
      if (t.transient)
        throw new Error(`Adam: ${describe(t, i, parameters.length)} is a transient tensor; parameters must be persistent (gpu.persistent)`);
      if (parameters.indexOf(t) !== i) throw new Error(`Adam: ${describe(t, i, parameters.length)} is listed twice`);
    });
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.weightDecay = weightDecay;
    this.decoupled = decoupled;
    this.spans = spansOf(parameters).map((span) => {
      const name = span.members.length === 1 ? label(span.members[0]) : `${span.members.length} parameters`;
      return {
        span,
        m: mirrorOf(gpu, span, `adam.m ${name}`),
        v: mirrorOf(gpu, span, `adam.v ${name}`),
        grads: span.members.length === 1 ? null : withSlots(mirrorOf(gpu, span, `adam.grad ${name}`), span.members),
        params: {
          n: span.byteLength / 4,
          decoupled: decoupled ? 1 : 0,
          beta1,
          one_minus_beta1: 1 - beta1,
          beta2,
          one_minus_beta2: 1 - beta2,
          eps,
          weight_decay: weightDecay,
        },
      };
    });
  }

  /** Encodes the update of every parameter from its .grad, with `lr` (default: the constructor's)
   * for schedules, into the step's command buffer; the caller's endStep() submits it. */
  step(lr = this.lr): void {
    this.parameters.forEach((t, i) => {
      if (!t.grad)
        throw new Error(
          `Adam.step: ${describe(t, i, this.parameters.length)} has no gradient; run backward() first, or leave it out of the optimizer`,
        );
      if (t.grad.size !== t.size)
        throw new Error(`Adam.step: ${describe(t, i, this.parameters.length)} has a gradient of shape ${shapeString(t.grad.shape)}`);
    });
    // The step's values change every step, so they cannot go in the uniform block (cached by
    // content). They go in a pooled buffer of this step's own: the write lands before the step's
    // commands run, and no later step can overwrite it before endStep() submits.
    const stepValues = this.gpu.empty([3]);
    this.gpu.write(stepValues, this.nextStepValues(lr));
    for (const { span, m, v, grads, params } of this.spans) {
      if (grads) {
        span.members.forEach((param, i) => {
          if (param.grad !== grads.views[i]) this.gpu.copy(param.grad!, grads.views[i]);
        });
      }
      this.gpu.dispatch({
        shader: 'adam',
        entry: 'adam_update',
        defines: { WG },
        params,
        buffers: [stepValues, spanBinding(span), grads ? grads.whole : span.members[0].grad!, m.whole, v.whole],
        workgroups: grid1d(span.byteLength / 4, WG),
      });
    }
  }

  /** Counts a step and gives the values its update reads, [1 − lr·weightDecay, lr / bc1, 1 / √bc2]
   * with bias corrections bc = 1 − β^t: what step() writes, and what a replay of it is given. */
  nextStepValues(lr = this.lr): Float32Array {
    checkLr(lr);
    const t = ++this.stepCount;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const decay = this.decoupled ? 1 - lr * this.weightDecay : 1;
    return Float32Array.of(decay, lr / bc1, 1 / Math.sqrt(bc2));
  }

  /** m and v of each parameter, in parameter order (m0, v0, m1, v1, …), for checkpoints. */
  state(): Tensor[] {
    return this.spans.flatMap(({ m, v }) => m.views.flatMap((mi, i) => [mi, v.views[i]]));
  }

  /** Restores the step count with the state from a checkpoint, so bias corrections continue. */
  setStepCount(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`Adam.setStepCount: step count must be a non-negative integer, got ${n}`);
    this.stepCount = n;
  }

  destroy(): void {
    for (const { span, m, v, grads } of this.spans) {
      for (const mirror of [m, v, grads]) mirror?.whole.destroy();
      for (const param of span.members) param.gradSlot = null;
    }
  }
}

type Mirror = ReturnType<typeof mirrorOf>;

/** Makes each view of the gradients' buffer its parameter's gradSlot. */
function withSlots(grads: Mirror, params: Tensor[]): Mirror {
  params.forEach((param, i) => {
    param.gradSlot = grads.views[i];
  });
  return grads;
}

function checkLr(lr: number): void {
  if (!(lr >= 0 && Number.isFinite(lr))) throw new Error(`Adam: learning rate must be a finite number >= 0, got ${lr}`);
}

function label(t: Tensor): string {
  return t.buffer.label || 'tensor';
}

function describe(t: Tensor, i: number, count: number): string {
  return `parameter ${i + 1} of ${count} ('${label(t)}', shape ${shapeString(t.shape)})`;
}
