// A tensor is a shape (NCHW, f32) over a range of a GPUBuffer, plus the autograd fields that
// src/autograd/graph.ts fills (grad, inputs, backwardRule, op). They stay on the tensor rather than
// in a graph node beside it: the optimizer, the checkpoints and the tests all read .grad, and a node
// per tensor would double a step's objects for four fields. Transient tensors come from the Gpu's
// pool and go back to it at the end of a step; persistent ones (parameters, optimizer state,
// datasets) own their buffer.
import type { Gpu } from './gpu.ts';

export type Shape = readonly number[];

export class Tensor {
  /** Gradient of the loss with respect to this tensor, filled by backward(). */
  grad: Tensor | null = null;
  /** Tensors this one was computed from (autograd edges). */
  inputs: Tensor[] = [];
  /** Accumulates this tensor's grad into its inputs' grads; null for leaves. */
  backwardRule: (() => void) | null = null;
  /** Name of the op that produced it, for error messages and debugging. */
  op = 'leaf';
  /** Where backward writes this tensor's gradient when it is the first one of a step: a view of
   * the optimizer's gradient arena (src/ops/adam.ts), so that no copy brings it there. */
  gradSlot: Tensor | null = null;
  /** The other output of the op that made this one, where it made two (recordPair): its gradient
   * runs this tensor's backward rule too. */
  pairedOutput: Tensor | null = null;

  constructor(
    readonly gpu: Gpu,
    readonly shape: Shape,
    private storage: GPUBuffer,
    private offset = 0,
    public requiresGrad = false,
    readonly transient = false,
    /** For a transient tensor, the pool generation (step) whose end returns its buffer. */
    readonly generation = 0,
  ) {}

  get buffer(): GPUBuffer {
    return this.storage;
  }

  get byteOffset(): number {
    return this.offset;
  }

  /** Points a persistent tensor at other storage (an arena: src/gpu/arena.ts), which its values
   * were copied to; every op reads it from there afterwards. */
  relocate(buffer: GPUBuffer, byteOffset: number): void {
    if (this.transient) throw new Error(`relocate: ${this} is transient; only persistent tensors move into an arena`);
    this.storage = buffer;
    this.offset = byteOffset;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** Binding resource for a bind group entry. */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.byteOffset, size: Math.max(4, this.byteLength) };
  }

  read(): Promise<Float32Array> {
    return this.gpu.read(this);
  }

  /** Frees a persistent tensor's buffer (and the runtime's bind groups for it). */
  destroy(): void {
    if (this.transient) throw new Error(`destroy: ${this} is transient; its buffer belongs to the pool, which reuses it after endStep()`);
    this.gpu.release(this.buffer);
  }

  toString(): string {
    return `Tensor[${this.shape.join('×')}](${this.op})`;
  }
}

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeString(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
