// The autotuner (src/gpu/tuner.ts): modes, measurement, the margin, the cache and its store, and
// the conv2d op asking it for a kernel per shape class.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeTuningStore } from '../../src/gpu/node.ts';
import { sumTensors } from '../../src/gpu/sum.ts';
import { fastestBeyondMargin, formatChoices, TUNE_MARGIN, type TuneRequest, Tuner, tunerOf } from '../../src/gpu/tuner.ts';
import { geometry } from '../../src/ops/conv2d/geometry.ts';
import { conv2dForward, shapeClass } from '../../src/ops/conv2d.ts';
import { useGpu } from '../helpers/gpu.ts';

describe('the kernel tuner', () => {
  const gpu = useGpu();

  /** Candidates that sum a 64k-element tensor with itself `work[name]` times. */
  function request(key: string, work: Record<string, number>, runs: string[] = []): TuneRequest {
    return {
      key,
      candidates: Object.keys(work),
      prepare: () => {
        const a = gpu().persistent([1 << 16], new Float32Array(1 << 16).fill(1), 'tuner test');
        return {
          run: (kernel) => {
            runs.push(kernel);
            for (let i = 0; i < work[kernel]; i++) sumTensors(a, a);
          },
          dispose: () => gpu().release(a.buffer),
        };
      },
    };
  }

  const tempStore = () => nodeTuningStore(join(mkdtempSync(join(tmpdir(), 'unmix-tuner-')), 'tuning.json'));

  it("'default' mode runs the first candidate and measures nothing", async () => {
    const tuner = new Tuner(gpu());
    await tuner.configure({ kind: 'default' }, null);
    expect(tuner.pick(request('k', { slow: 40, fast: 1 }))).toBe('slow');
    expect(tuner.pendingCount).toBe(0);
    expect(tuner.choices()).toEqual({ k: { kernel: 'slow', source: 'default' } });
  });

  it("'force' runs the named kernel where it is a candidate, the default elsewhere", async () => {
    const tuner = new Tuner(gpu());
    await tuner.configure({ kind: 'force', kernel: 'fast' }, null);
    expect(tuner.pick(request('a', { slow: 1, fast: 1 }))).toBe('fast');
    expect(tuner.pick(request('b', { slow: 1, other: 1 }))).toBe('slow');
    expect(tuner.choices().a.source).toBe('forced');
  });

  it('measures a new shape class once asked, keeps the faster kernel, and saves it for the next process', async () => {
    const store = tempStore();
    const tuner = new Tuner(gpu());
    await tuner.configure({ kind: 'tune' }, store);
    const runs: string[] = [];
    const req = request('shape A', { slow: 40, fast: 1 }, runs);
    expect(tuner.pick(req)).toBe('slow'); // not measured yet: the default
    expect(tuner.pick(req)).toBe('slow');
    expect(tuner.pendingCount).toBe(1);
    const progress: string[] = [];
    const report = await tuner.tunePending((done, total, key) => progress.push(`${done}/${total} ${key}`));
    expect(report.tuned).toBe(1);
    expect(progress).toEqual(['0/1 shape A']);
    // A first run of each (compiles), a timed one of each, then rounds of both (the default is never
    // left out, however slow).
    expect(runs.slice(0, 4)).toEqual(['slow', 'fast', 'slow', 'fast']);
    expect(runs.filter((r) => r === 'slow').length).toBe(runs.filter((r) => r === 'fast').length);
    expect(tuner.pick(req)).toBe('fast');
    const choice = tuner.choices()['shape A'];
    expect(choice.kernel).toBe('fast');
    expect(choice.source).toBe('tuned');
    expect(choice.ms!.fast).toBeLessThan(choice.ms!.slow);
    expect(formatChoices(tuner.choices())[0]).toMatch(/^shape A {2}fast \(tuned: fast [\d.]+ ms, slow [\d.]+ ms\)$/);

    // A new process on the same adapter reads the choice and measures nothing.
    const next = new Tuner(gpu());
    await next.configure({ kind: 'tune' }, store);
    expect(next.pick(req)).toBe('fast');
    expect(next.pendingCount).toBe(0);
    expect(next.choices()['shape A'].source).toBe('cached');
    // --retune ignores the cache.
    const again = new Tuner(gpu());
    await again.configure({ kind: 'retune' }, store);
    expect(again.pick(req)).toBe('slow');
    expect(again.pendingCount).toBe(1);
  });

  it('leaves a hopeless candidate out of the rounds after its timed first run', async () => {
    const tuner = new Tuner(gpu());
    await tuner.configure({ kind: 'tune' }, null);
    const runs: string[] = [];
    const req = request('prune', { fallback: 2, quick: 1, hopeless: 60 }, runs);
    tuner.pick(req);
    await tuner.tunePending();
    expect(runs.filter((r) => r === 'hopeless')).toHaveLength(2); // compile, then the timed probe
    expect(runs.filter((r) => r === 'quick').length).toBeGreaterThan(2);
    expect(tuner.choices().prune.ms!.hopeless).toBeGreaterThan(tuner.choices().prune.ms!.quick);
  });

  it('keeps the default unless a challenger is faster by the margin', () => {
    // Decided on the medians alone, so equal kernels timed on a loaded machine cannot flip it.
    const within = 1 - TUNE_MARGIN / 2;
    const beyond = 1 - TUNE_MARGIN * 1.5;
    expect(fastestBeyondMargin('first', ['first', 'second'], { first: 4, second: 4 })).toBe('first');
    expect(fastestBeyondMargin('first', ['first', 'second'], { first: 4, second: 4 * within })).toBe('first');
    expect(fastestBeyondMargin('first', ['first', 'second'], { first: 4, second: 4 * beyond })).toBe('second');
    expect(fastestBeyondMargin('first', ['first', 'b', 'c'], { first: 4, b: 3, c: 2 })).toBe('c');
    // A pruned candidate (not a contender) is never chosen, whatever its probe said.
    expect(fastestBeyondMargin('first', ['first', 'b'], { first: 4, b: 3, pruned: 1 })).toBe('b');
  });

  it('a cache file that does not parse is read as empty and rewritten whole', async () => {
    const store = tempStore();
    writeFileSync(store.file, '{ not json');
    expect(await store.load('any adapter')).toEqual({});
    await store.save('adapter', { k: { kernel: 'a', ms: { a: 1 } } });
    await store.save('adapter', { j: { kernel: 'b', ms: { b: 2 } } });
    expect(await store.load('adapter')).toEqual({ k: { kernel: 'a', ms: { a: 1 } }, j: { kernel: 'b', ms: { b: 2 } } });
  });

  it('choices are cached per adapter and version of the shader sources', () => {
    const key = new Tuner(gpu()).adapterKey;
    expect(key).toContain(gpu().info.description);
    expect(key).toMatch(/shaders [0-9a-f]{8}$/);
  });

  it('conv2d asks the device tuner for each pass and shape class', async () => {
    const g = gpu();
    const tuner = tunerOf(g);
    await tuner.configure({ kind: 'tune' }, null);
    const x = g.persistent([3, 2, 6, 6], new Float32Array(3 * 2 * 36).fill(1));
    const w = g.persistent([4, 2, 3, 3], new Float32Array(4 * 2 * 9).fill(0.5));
    const y = await conv2dForward(x, w, null).read();
    g.endStep();
    expect(y[3 * 6 + 3]).toBeCloseTo(2 * 9 * 0.5); // an interior pixel: all 18 taps
    const key = shapeClass('forward', geometry('conv2d', [3, 2, 6, 6], [4, 2, 3, 3]));
    expect(key).toBe('conv2d.forward 2→4 3×3 s1 p1 @6×6 batch 3');
    expect(tuner.choices()[key].source).toBe('default');
    expect(tuner.pendingCount).toBe(1);
    await tuner.tunePending();
    expect(tuner.choices()[key].source).toBe('tuned');
    await tuner.configure({ kind: 'default' }, null);
    for (const t of [x, w]) g.release(t.buffer);
  });

  it("after tuning, the pool holds only what a step of the chosen kernels uses, not the candidates' leftovers", async () => {
    const g = gpu();
    const tuner = tunerOf(g);
    await tuner.configure({ kind: 'tune' }, null);
    const x = g.persistent([2, 8, 16, 16], new Float32Array(2 * 8 * 256).fill(1));
    const w = g.persistent([16, 8, 3, 3], new Float32Array(16 * 8 * 9).fill(0.5));
    const step = async () => {
      await conv2dForward(x, w, null).read();
      g.endStep();
    };
    await step();
    expect(tuner.pendingCount).toBe(1);
    await tuner.tunePending();
    await step();
    const afterTuning = g.pool.heldBytes;
    g.trim();
    await step();
    // A pool that only this step filled: the other candidates' buffers and the timed runs' repeats are gone.
    expect(afterTuning).toBe(g.pool.heldBytes);
    await tuner.configure({ kind: 'default' }, null);
    for (const t of [x, w]) g.release(t.buffer);
  });
});
