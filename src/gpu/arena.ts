// Arenas: many persistent tensors in one buffer, so that an elementwise update of all of them (Adam,
// the EMA) is one dispatch over the range they span rather than one per tensor. Each tensor keeps
// its own view (shape, offset), which every other op binds as before; offsets are aligned to the
// device's storage-binding alignment, and the gaps between tensors hold zeros that such updates
// leave at zero (a zero weight with a zero gradient and zero moments stays zero).
import type { Gpu } from './gpu.ts';
import { Tensor } from './tensor.ts';

/** The tensors an arena holds, in their order, by buffer. */
const arenaMembers = new WeakMap<GPUBuffer, Tensor[]>();

/** Moves persistent tensors, values included, into one new buffer, in the order given; their old
 * buffers are released. */
export function gatherIntoArena(gpu: Gpu, tensors: Tensor[], label: string): void {
  tensors.forEach((t, i) => {
    if (t.transient)
      throw new Error(`arena ${label}: tensor ${i + 1} of ${tensors.length} (${t}) is transient; only persistent tensors move`);
    if (tensors.indexOf(t) !== i) throw new Error(`arena ${label}: tensor ${i + 1} of ${tensors.length} (${t}) is listed twice`);
  });
  if (tensors.length === 0) return;
  const align = gpu.device.limits.minStorageBufferOffsetAlignment;
  const offsets: number[] = [];
  let end = 0;
  for (const t of tensors) {
    offsets.push(end);
    end = Math.ceil((end + t.byteLength) / align) * align;
  }
  const buffer = gpu.device.createBuffer({
    size: end,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    label,
  });
  gpu.encode((e) => {
    tensors.forEach((t, i) => {
      e.copyBufferToBuffer(t.buffer, t.byteOffset, buffer, offsets[i], t.byteLength);
    });
  });
  // Submitted before the old buffers go, so the copies read them.
  gpu.submit();
  const old = new Set(tensors.map((t) => t.buffer));
  tensors.forEach((t, i) => {
    t.relocate(buffer, offsets[i]);
  });
  for (const b of old) gpu.release(b);
  arenaMembers.set(buffer, [...tensors]);
}

/** A range of one buffer that a single dispatch covers: consecutive tensors of one arena, or one
 * tensor on its own. */
export interface Span {
  buffer: GPUBuffer;
  byteOffset: number;
  byteLength: number;
  /** The tensors it covers, in order; nothing else lies in the range. */
  members: Tensor[];
}

/** Cuts a list of tensors into spans: a run of tensors that follow one another in one arena is one
 * span, any other tensor a span of its own. */
export function spansOf(tensors: Tensor[]): Span[] {
  const spans: Span[] = [];
  let run: Tensor[] = [];
  const close = () => {
    if (run.length === 0) return;
    const first = run[0];
    const last = run[run.length - 1];
    spans.push({
      buffer: first.buffer,
      byteOffset: first.byteOffset,
      byteLength: last.byteOffset + last.byteLength - first.byteOffset,
      members: run,
    });
    run = [];
  };
  for (const t of tensors) {
    const previous = run[run.length - 1];
    const members = arenaMembers.get(t.buffer);
    const follows = previous?.buffer === t.buffer && members !== undefined && members.indexOf(t) === members.indexOf(previous) + 1;
    if (!follows) close();
    run.push(t);
  }
  close();
  return spans;
}

/** A zeroed persistent buffer laid out as `span`, and a view of it for each of its tensors: where
 * per-tensor state (moments, averages) lives beside an arena. */
export function mirrorOf(gpu: Gpu, span: Span, label: string): { whole: Tensor; views: Tensor[] } {
  const whole = gpu.persistent([span.byteLength / 4], undefined, label);
  const views = span.members.map((t) => new Tensor(gpu, t.shape, whole.buffer, t.byteOffset - span.byteOffset));
  return { whole, views };
}

/** The binding of a span's whole range. */
export function spanBinding(span: Span): GPUBufferBinding {
  return { buffer: span.buffer, offset: span.byteOffset, size: span.byteLength };
}
