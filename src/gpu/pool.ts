// Recycles storage buffers by size so that, after the first training step, a step allocates
// no GPU memory: every transient tensor of step k+1 reuses a buffer released at the end of step k.
// An op's scratch (an intermediate that only the op itself reads, like Winograd's tiles) takes one
// buffer per role instead, shared by every op of the step: the pool then holds the largest of them,
// not their sum.

/** The size of the pool's buffer for `bytes` bytes: a multiple of 256, at least 256. */
export function pooledSize(bytes: number): number {
  return Math.max(256, Math.ceil(bytes / 256) * 256);
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private inUse: GPUBuffer[] = [];
  /** The sizes of the buffers in inUse, in the same order: reading GPUBuffer.size calls into the
   * WebGPU implementation, which costs a step's encoding more than the rest of releaseAll(). */
  private inUseSizes: number[] = [];
  /** The scratch buffer of each role and its size (read once: see inUseSizes). */
  private scratchByRole = new Map<string, { buffer: GPUBuffer; size: number }>();
  /** Scratch buffers a larger request replaced this step: work encoded before may still bind them. */
  private outgrown: GPUBuffer[] = [];
  /** Buffers created since construction; a steady-state training step leaves this unchanged. */
  allocations = 0;
  bytesAllocated = 0;
  /** Counts releaseAll() calls: a transient tensor of an earlier generation no longer owns its buffer. */
  generation = 0;

  /** `release` destroys a buffer the pool gives up (the Gpu's, which also drops its bind groups). */
  constructor(
    private device: GPUDevice,
    private release: (buffer: GPUBuffer) => void,
  ) {}

  /** Buffers the pool holds, in use or idle. */
  get size(): number {
    let idle = 0;
    for (const list of this.free.values()) idle += list.length;
    return idle + this.inUse.length + this.scratchByRole.size;
  }

  /** Bytes of the buffers the pool holds, in use, idle or scratch. */
  get heldBytes(): number {
    let bytes = 0;
    for (const [size, list] of this.free) bytes += size * list.length;
    for (const size of this.inUseSizes) bytes += size;
    for (const { size } of this.scratchByRole.values()) bytes += size;
    return bytes;
  }

  /** A buffer of at least `bytes` bytes, recycled when possible. Sizes round up to 256 bytes. */
  acquire(bytes: number, label = 'pooled'): GPUBuffer {
    const size = pooledSize(bytes);
    const list = this.free.get(size);
    const buffer = list?.pop() ?? this.create(size, label);
    this.inUse.push(buffer);
    this.inUseSizes.push(size);
    return buffer;
  }

  /** A mark of the buffers in use now, for acquiredSince(). */
  get inUseCount(): number {
    return this.inUse.length;
  }

  /** The buffers acquired since `mark` (an inUseCount) and their sizes, in acquisition order. */
  acquiredSince(mark: number): { buffers: GPUBuffer[]; sizes: number[] } {
    return { buffers: this.inUse.slice(mark), sizes: this.inUseSizes.slice(mark) };
  }

  /** Takes exactly these idle buffers, as a step that acquired them in this order would (a replayed
   * step: src/gpu/gpu.ts replay). False, taking none, when one of them is in use or gone. */
  claim({ buffers, sizes }: { buffers: readonly GPUBuffer[]; sizes: readonly number[] }): boolean {
    const mark = this.inUse.length;
    for (let k = 0; k < buffers.length; k++) {
      const buffer = buffers[k];
      const list = this.free.get(sizes[k]);
      const i = list ? list.lastIndexOf(buffer) : -1;
      if (i < 0) {
        this.releaseSince(mark);
        return false;
      }
      list!.splice(i, 1);
      this.inUse.push(buffer);
      this.inUseSizes.push(sizes[k]);
    }
    return true;
  }

  /** The scratch buffer of `role`, at least `bytes` long: the same buffer for every op of every
   * step that asks for this role, so its contents last only until the next op that does. An op
   * that needs two scratch tensors at once asks for two roles. */
  scratch(role: string, bytes: number): GPUBuffer {
    const size = pooledSize(bytes);
    const current = this.scratchByRole.get(role);
    if (current && current.size >= size) return current.buffer;
    if (current) this.outgrown.push(current.buffer);
    const buffer = this.create(size, `scratch: ${role}`);
    this.scratchByRole.set(role, { buffer, size });
    return buffer;
  }

  /** Returns every buffer acquired since the last call to the pool. Work already encoded that uses
   * them stays correct because the queue runs in order. */
  releaseAll(): void {
    this.releaseSince(0);
    // Destroyed once submitted: WebGPU finishes the work that binds them first.
    for (const buffer of this.outgrown.splice(0)) this.release(buffer);
    this.generation++;
  }

  /** Destroys the idle buffers and the scratch, e.g. once a model is done or its kernels are
   * tuned: the next steps may need other sizes. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) this.release(b);
    this.free.clear();
    for (const { buffer } of this.scratchByRole.values()) this.release(buffer);
    this.scratchByRole.clear();
  }

  destroy(): void {
    this.releaseAll();
    this.trim();
  }

  private releaseSince(mark: number): void {
    // Last acquired, first pushed: acquire() pops them in the order this step took them, so a step
    // that repeats this one gets the same buffers in the same places, and finds its bind groups cached.
    for (let i = this.inUse.length - 1; i >= mark; i--) {
      const size = this.inUseSizes[i];
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(this.inUse[i]);
    }
    this.inUse.length = mark;
    this.inUseSizes.length = mark;
  }

  private create(size: number, label: string): GPUBuffer {
    this.allocations++;
    this.bytesAllocated += size;
    return this.device.createBuffer({
      size,
      // UNIFORM too: the packed conv binds windows of its repacked weights as uniforms (src/ops/conv2d/packed.ts).
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      label,
    });
  }
}
