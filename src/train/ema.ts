// An exponential moving average of a model's weights (and batch-norm statistics), kept on the GPU
// beside them and swapped in for evaluation and checkpoints. The decay warms up as
// min(decay, (1 + t) / (10 + t)) at update t (1-based), so early averages are not dominated by the
// initial weights. Each update is one dispatch per span of the tensors (src/gpu/arena.ts): one for a
// model whose state was gathered into an arena (the trainer's), one per tensor otherwise.
import { mirrorOf, type Span, spanBinding, spansOf } from '../gpu/arena.ts';
import { type Gpu, grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';

const WG = 256;

export function emaDecay(decay: number, update: number): number {
  return Math.min(decay, (1 + update) / (10 + update));
}

export class Ema {
  /** Updates taken so far (the warm-up's t). */
  updateCount = 0;
  /** The averages, one per tracked tensor, in the same order, starting from the tensors' values. */
  readonly averages: Tensor[];
  /** Per span of the tensors, the buffer of their averages, laid out alike. */
  private readonly spans: { span: Span; average: Tensor; views: Tensor[] }[];

  constructor(
    private readonly gpu: Gpu,
    tensors: Tensor[],
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`Ema: decay must be in [0, 1), got ${decay}`);
    this.spans = spansOf(tensors).map((span) => {
      const { whole, views } = mirrorOf(gpu, span, `ema ${span.members.length === 1 ? span.buffer.label || 'tensor' : 'arena'}`);
      gpu.encode((e) => e.copyBufferToBuffer(span.buffer, span.byteOffset, whole.buffer, 0, span.byteLength));
      return { span, average: whole, views };
    });
    this.averages = this.spans.flatMap((s) => s.views);
    // Submitted now, so that a gpu.write() to the tensors afterwards cannot overtake the copies.
    gpu.submit();
  }

  /** Encodes average ← d·average + (1 − d)·tensor for every tensor into the step's command buffer.
   * [decay, 1 − decay] go in a pooled buffer of this update's own, so the values written now are
   * the ones it reads, however many updates are encoded before endStep() submits them. */
  update(): void {
    const stepValues = this.gpu.empty([2]);
    this.gpu.write(stepValues, this.nextValues());
    this.dispatchAll('ema_update', [stepValues]);
  }

  /** Counts an update and gives the values it reads, [d, 1 − d]: what update() writes, and what a
   * replay of it is given. */
  nextValues(): Float32Array {
    const d = emaDecay(this.decay, ++this.updateCount);
    return Float32Array.of(d, 1 - d);
  }

  /** Exchanges every tensor with its average; calling it again swaps back. */
  swap(): void {
    this.dispatchAll('ema_swap', []);
  }

  /** Runs `fn` with the averaged weights in the model, and the live ones back afterwards. */
  async withAverages<T>(fn: () => Promise<T>): Promise<T> {
    this.swap();
    try {
      return await fn();
    } finally {
      this.swap();
    }
  }

  setUpdateCount(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`Ema.setUpdateCount: update count must be a non-negative integer, got ${n}`);
    this.updateCount = n;
  }

  destroy(): void {
    for (const { average } of this.spans) average.destroy();
  }

  private dispatchAll(entry: string, extra: Tensor[]): void {
    for (const { span, average } of this.spans) {
      this.gpu.dispatch({
        shader: 'ema',
        entry,
        defines: { WG },
        params: { n: span.byteLength / 4 },
        buffers: [spanBinding(span), average, ...extra],
        workgroups: grid1d(span.byteLength / 4, WG),
      });
    }
  }
}
