import { describe, expect, it } from 'vitest';
import { gatherIntoArena, spansOf } from '../../src/gpu/arena.ts';
import { useGpu } from '../helpers/gpu.ts';
import { Rng } from '../helpers/rng.ts';

describe('arena', () => {
  const gpu = useGpu();
  const rng = new Rng(3);

  it('moves tensors into one buffer at aligned offsets, values and shapes kept, and ops read them there', async () => {
    const g = gpu();
    const shapes = [[1], [7, 3], [257], [2, 2, 2, 2]];
    const values = shapes.map((s) => Float32Array.from(rng.uniform(s.reduce((a, b) => a * b))));
    const tensors = shapes.map((s, i) => g.persistent(s, values[i], `t${i}`));
    const old = tensors.map((t) => t.buffer);
    gatherIntoArena(g, tensors, 'arena');
    const align = g.device.limits.minStorageBufferOffsetAlignment;
    for (const [i, t] of tensors.entries()) {
      expect(t.buffer).toBe(tensors[0].buffer);
      expect(old).not.toContain(t.buffer);
      expect(t.byteOffset % align).toBe(0);
      if (i > 0) expect(t.byteOffset).toBeGreaterThanOrEqual(tensors[i - 1].byteOffset + tensors[i - 1].byteLength);
      expect(t.shape).toEqual(shapes[i]);
      expect(await t.read()).toEqual(values[i]);
    }
    // A write through one view lands in its own range only.
    g.write(tensors[1], new Float32Array(21).fill(5));
    expect(await tensors[0].read()).toEqual(values[0]);
    expect(await tensors[2].read()).toEqual(values[2]);
    tensors[0].destroy();
  });

  it('cuts tensors into spans: neighbours in one arena together, anything else alone', () => {
    const g = gpu();
    const [a, b, c, d] = [4, 4, 4, 4].map((n, i) => g.persistent([n], undefined, `t${i}`));
    const [e, f] = [4, 4].map((n) => g.persistent([n]));
    const lone = g.persistent([3]);
    gatherIntoArena(g, [a, b, c, d], 'arena');
    gatherIntoArena(g, [e, f], 'another arena');
    const spans = spansOf([a, b, d, lone, c, e, f]);
    // c is last in its arena and e first in the other: two spans, not one.
    expect(spans.map((s) => s.members)).toEqual([[a, b], [d], [lone], [c], [e, f]]);
    expect(spans[0].byteOffset).toBe(a.byteOffset);
    expect(spans[0].byteLength).toBe(b.byteOffset + b.byteLength - a.byteOffset);
    expect(spans[2].byteLength).toBe(12);
    a.destroy();
    e.destroy();
    lone.destroy();
  });

  it('refuses transient or repeated tensors, naming them', () => {
    const g = gpu();
    const a = g.persistent([4], undefined, 'w');
    expect(() => gatherIntoArena(g, [a, a], 'params')).toThrow(/arena params: tensor 2 of 2 \(Tensor\[4\]\(leaf\)\) is listed twice/);
    expect(() => gatherIntoArena(g, [a, g.empty([2])], 'params')).toThrow(/arena params: tensor 2 of 2 .* is transient/);
    expect(() => a.relocate(a.buffer, 0)).not.toThrow();
    g.endStep();
    a.destroy();
  });
});
