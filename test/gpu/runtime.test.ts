// The runtime itself: shader specialisation, compilation errors that name the file, the buffer pool,
// dispatch folding, read-backs in flight together, GPU timing, and waiting without spinning the CPU.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Gpu, grid1d, MAX_WORKGROUPS } from '../../src/gpu/gpu.ts';
import { createNodeGpu } from '../../src/gpu/node.ts';
import { specialize, withIncludes } from '../../src/gpu/shader.ts';
import { relu } from '../../src/ops/activations.ts';
import { conv2dForward } from '../../src/ops/conv2d.ts';
import { useGpu } from '../helpers/gpu.ts';

describe('GPU runtime', () => {
  const gpu = useGpu();

  it('pastes #include NAME files in place, and names a missing or nested one', () => {
    const sources = { lib: 'fn one() -> u32 { return 1u; }', nested: '#include lib' };
    expect(withIncludes('x.wgsl', 'a\n  #include lib\nb', sources)).toBe('a\nfn one() -> u32 { return 1u; }\nb');
    expect(() => withIncludes('shaders/x.wgsl', '#include gone', sources)).toThrow(
      /shaders\/x\.wgsl: #include gone: no shaders\/gone\.wgsl/,
    );
    expect(() => withIncludes('x.wgsl', '#include nested', sources)).toThrow(/shaders\/nested\.wgsl includes another file/);
  });

  it('fills placeholders and #if branches, and names a missing define', () => {
    const src = 'const W = ${WG}u;\n#if ${FAST}\nfast\n#else\nslow\n#endif\n';
    const words = (s: string) => s.split(/\s+/).filter(Boolean);
    expect(words(specialize('x.wgsl', src, { WG: 64, FAST: true }))).toEqual(['const', 'W', '=', '64u;', 'fast']);
    expect(words(specialize('x.wgsl', src, { WG: 8, FAST: false }))).toEqual(['const', 'W', '=', '8u;', 'slow']);
    expect(() => specialize('shaders/x.wgsl', src, { FAST: true })).toThrow(/shaders\/x\.wgsl: placeholder \$\{WG\} has no value/);
  });

  it('unrolls #unroll blocks, nested, with integer expressions over unroll variables and defines', () => {
    const src = [
      '#unroll i ${K}',
      'a${i}',
      '#unroll j ${K - 1}',
      '  b${i}${j} q${(i + 4 * j) / 4}.${(i + j) % 4} ${K * i - 1}',
      '#endunroll',
      '#endunroll',
      'end',
    ].join('\n');
    const words = specialize('x.wgsl', src, { K: 2 }).split(/\s+/).filter(Boolean);
    expect(words).toEqual(['a0', 'b00', 'q0.0', '-1', 'a1', 'b10', 'q0.1', '1', 'end']);
    expect(specialize('x.wgsl', '#unroll i 0\nnever\n#endunroll\nafter', {}).trim()).toBe('after');
    expect(() => specialize('x.wgsl', '#unroll K 2\nx\n#endunroll', { K: 1 })).toThrow(/fresh variable name/);
    expect(() => specialize('x.wgsl', '#unroll i 2\nx', {})).toThrow(/without a matching #endunroll/);
    expect(() => specialize('x.wgsl', '#unroll i 2\n${i + W}\n#endunroll', { W: 'f32' })).toThrow(
      /x\.wgsl: cannot evaluate \$\{0 \+ W\}: "W" is not an unroll variable or an integer define/,
    );
  });

  it('reports a WGSL compilation error with the file, line and the compiler message', async () => {
    // A device of its own: the error must not leak into the other tests' device.
    const own = await createNodeGpu();
    const broken = new Gpu(own.device, own.info, {
      broken: '@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = undefined_name;\n}\n',
    });
    broken.pipeline('broken', 'main');
    await expect(broken.sync()).rejects.toThrow(
      /WGSL compilation failed for shaders\/broken\.wgsl[\s\S]*shaders\/broken\.wgsl:3:\d+: .*undefined_name/,
    );
    own.destroy();
  });

  it('compiles a pipeline per set of defines, telling a string define from the boolean or number it spells', async () => {
    const flagged = new Gpu(gpu().device, gpu().info, {
      flag: '@group(0) @binding(1) var<storage, read_write> out: array<u32>;\n@compute @workgroup_size(1)\nfn main() {\n#if ${FLAG}\n  out[0] = 1u;\n#else\n  out[0] = 2u;\n#endif\n}\n',
    });
    const out = flagged.persistent([1], undefined, 'flag out');
    const run = async (FLAG: boolean | string) => {
      flagged.dispatch({ shader: 'flag', entry: 'main', defines: { FLAG }, buffers: [out], workgroups: [1] });
      return new Uint32Array((await out.read()).buffer)[0];
    };
    expect([await run(false), await run('false'), await run(true), await run(false)]).toEqual([2, 1, 1, 2]);
    out.destroy();
  });

  it('names an unknown shader', () => {
    expect(() => gpu().pipeline('no_such_op', 'main')).toThrow(/no shader shaders\/no_such_op\.wgsl; known: .*activations/);
  });

  it('recycles transient buffers after endStep, allocating nothing for a repeated step', async () => {
    const g = gpu();
    const x = g.persistent([1, 4, 8, 8], new Float32Array(256).fill(1));
    const step = () => relu(relu(x));
    step();
    g.endStep();
    const before = g.pool.allocations;
    const cached = g.cacheSizes();
    for (let i = 0; i < 3; i++) {
      step();
      g.endStep();
    }
    expect(g.pool.allocations).toBe(before);
    expect(g.cacheSizes()).toEqual(cached);
    x.buffer.destroy();
  });

  it('replays a recording with new values where it wrote them, into the same buffers, and checks what it is given', async () => {
    const g = gpu();
    const out = g.persistent([4]);
    // relu(v) + copy: a write, a dispatch and an encoded copy, as a training step has.
    const step = (values: number[]) => {
      const v = g.empty([4]);
      g.write(v, Float32Array.from(values));
      g.copy(relu(v), out);
    };
    const recording = g.record(() => step([1, -2, 3, -4]));
    g.endStep();
    expect(Array.from(await out.read())).toEqual([1, 0, 3, 0]);
    expect(recording.commands.length).toBe(2);
    expect(g.replay(recording, () => [Float32Array.of(-5, 6, -7, 8)])).toBe(true);
    g.endStep();
    expect(Array.from(await out.read())).toEqual([0, 6, 0, 8]);

    expect(() => g.replay(recording, () => [Float32Array.of(1, 2)])).toThrow(
      /recorded work wrote 1 values of \[16\] bytes, but \[8\] were given/,
    );
    g.endStep();
    // Its pool buffers in use by other work: not replayed, the values not asked for.
    g.empty([4]);
    g.empty([4]);
    expect(g.replay(recording, () => expect.unreachable('values of a refused replay'))).toBe(false);
    g.endStep();
    // A buffer released since: stale.
    g.persistent([4]).destroy();
    expect(g.replay(recording, () => expect.unreachable('values of a stale replay'))).toBe(false);
    expect(() => g.record(() => g.submit())).toThrow(/a recorded function must only encode/);
    out.destroy();
  });

  it('folds large dispatches into two dimensions', () => {
    expect(grid1d(1000, 256)).toEqual([4, 1, 1]);
    const [x, y] = grid1d(MAX_WORKGROUPS * 256 * 3 + 1, 256);
    expect(x).toBeLessThanOrEqual(MAX_WORKGROUPS);
    expect(x * y * 256).toBeGreaterThanOrEqual(MAX_WORKGROUPS * 256 * 3 + 1);
  });

  it('keeps several read-backs in flight at once', async () => {
    const g = gpu();
    const a = g.persistent([3], [1, 2, 3]);
    const b = g.persistent([2], [4, 5]);
    const [ra, rb] = await Promise.all([a.read(), b.read()]);
    expect(Array.from(ra)).toEqual([1, 2, 3]);
    expect(Array.from(rb)).toEqual([4, 5]);
  });

  it('times GPU work with timestamp queries where the adapter has them', async () => {
    const g = gpu();
    const x = g.persistent([1 << 16], new Float32Array(1 << 16));
    const ms = await g.timeGpu(() => relu(x));
    g.endStep();
    if (g.info.hasTimestamps) expect(ms).toBeGreaterThan(0);
    else expect(ms).toBeNull();
  });

  it('profiles each dispatch with its own timestamps, labelled by shader, entry and workgroups', async () => {
    const g = gpu();
    const x = g.persistent([1 << 12], new Float32Array(1 << 12));
    const dispatches = await g.profile(() => {
      relu(relu(x));
      g.endStep();
    });
    if (!g.info.hasTimestamps) {
      expect(dispatches).toBeNull();
      return;
    }
    expect(dispatches!.map((d) => d.label.split(' ')[0])).toEqual(['activations.relu_forward', 'activations.relu_forward']);
    expect(dispatches![0].label).toMatch(/ \d+×\d+×\d+$/);
    for (const d of dispatches!) expect(d.ms).toBeGreaterThanOrEqual(0);
    x.buffer.destroy();
  });

  it('waits for GPU work without keeping the CPU busy (Dawn polls on a timer)', async () => {
    const g = gpu();
    // CPU seconds (user + system) of this thread, the one Dawn polls on: fields 14 and 15 of its stat.
    const threadCpuSeconds = () => {
      const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    };
    const x = g.persistent([4, 32, 32, 32], new Float32Array(4 * 32 * 32 * 32).fill(0.5));
    const w = g.persistent([32, 32, 3, 3], new Float32Array(32 * 32 * 9).fill(0.01));
    // Enough convolutions to keep lavapipe busy for a second or so, then one read that waits for them.
    let waitedMs = 0;
    let cpuSeconds = 0;
    for (let repeats = 8; waitedMs < 500 && repeats <= 1024; repeats *= 4) {
      let y = x;
      for (let i = 0; i < repeats; i++) y = conv2dForward(y, w, null, { padding: 'same' });
      const result = y.read();
      g.endStep();
      const [cpu0, t0] = [threadCpuSeconds(), performance.now()];
      await result;
      [cpuSeconds, waitedMs] = [threadCpuSeconds() - cpu0, performance.now() - t0];
    }
    expect(waitedMs).toBeGreaterThanOrEqual(500);
    // A busy poll would use about as much CPU time as it waited.
    expect(cpuSeconds * 1000).toBeLessThan(0.25 * waitedMs);
  });
});
