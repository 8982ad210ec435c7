// Shader parameters by name: the layout parsed from the WGSL struct (alignment and size rules),
// packing by name whatever the key order, and errors that name the shader and the field.
import { describe, expect, it } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.ts';
import { packParams, paramsLayout } from '../../src/gpu/params.ts';
import { useGpu } from '../helpers/gpu.ts';

/** Copies its parameter block, word by word, into a storage buffer. */
const PROBE = `
struct Probe { a: u32, b: vec3f, c: f32, d: vec2<i32>, e: i32 }
@group(0) @binding(0) var<uniform> p: Probe;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

fn store_vec3(at: u32, v: vec3f) { out[at] = bitcast<u32>(v.x); out[at + 1u] = bitcast<u32>(v.y); out[at + 2u] = bitcast<u32>(v.z); }

@compute @workgroup_size(1)
fn copy() {
  out[0] = p.a;
  store_vec3(1u, p.b);
  out[4] = bitcast<u32>(p.c);
  out[5] = bitcast<u32>(p.d.x);
  out[6] = bitcast<u32>(p.d.y);
  out[7] = bitcast<u32>(p.e);
}

struct Other { n: u32 }
@binding(0) @group(0) var<uniform> q: Other;
@compute @workgroup_size(1)
fn other() { out[0] = q.n; }

@compute @workgroup_size(1)
fn none() { out[0] = 7u; }
`;

const VALUES = { a: 3, b: [0.5, -1, 2], c: 0.25, d: [-4, 5], e: -6 };

describe('shader parameters by name', () => {
  const gpu = useGpu();
  const probeGpu = () => new Gpu(gpu().device, gpu().info, { probe: PROBE });

  it('lays a struct out with WGSL alignment: vec3 at 16, the next scalar in its tail, vec2 at 8', () => {
    const layout = paramsLayout('probe.wgsl', PROBE, 'copy')!;
    expect(layout.struct).toBe('Probe');
    expect(layout.fields.map((f) => [f.name, f.offset])).toEqual([
      ['a', 0],
      ['b', 16],
      ['c', 28],
      ['d', 32],
      ['e', 40],
    ]);
    expect(layout.size).toBe(48);
  });

  it('takes the block the entry point reads where the file declares several at binding 0, and none where it reads none', () => {
    expect(paramsLayout('probe.wgsl', PROBE, 'other')!.struct).toBe('Other');
    expect(paramsLayout('probe.wgsl', PROBE, 'none')).toBeNull();
    expect(() => paramsLayout('probe.wgsl', PROBE, 'cpy')).toThrow(/probe\.wgsl has no function cpy\(\)/);
  });

  it('writes each field with its type, in the order of the struct whatever the order of the keys', () => {
    const layout = paramsLayout('probe.wgsl', PROBE, 'copy')!;
    const bytes = packParams(layout, 'copy', VALUES);
    const reordered = packParams(layout, 'copy', { e: -6, d: [-4, 5], c: 0.25, b: [0.5, -1, 2], a: 3 });
    expect(new Uint8Array(reordered)).toEqual(new Uint8Array(bytes));
    const view = new DataView(bytes);
    expect([view.getUint32(0, true), view.getFloat32(16, true), view.getFloat32(24, true), view.getFloat32(28, true)]).toEqual([
      3, 0.5, 2, 0.25,
    ]);
    expect([view.getInt32(32, true), view.getInt32(36, true), view.getInt32(40, true)]).toEqual([-4, 5, -6]);
  });

  it('is read by the kernel as laid out, a block per set of values, each made once', async () => {
    const g = probeGpu();
    const out = g.persistent([8], undefined, 'probe out');
    const read = async (params: typeof VALUES) => {
      g.dispatch({ shader: 'probe', entry: 'copy', params, buffers: [out], workgroups: [1] });
      const words = new DataView((await out.read()).buffer);
      const u = (i: number) => words.getUint32(4 * i, true);
      const f = (i: number) => words.getFloat32(4 * i, true);
      const s = (i: number) => words.getInt32(4 * i, true);
      return [u(0), f(1), f(2), f(3), f(4), s(5), s(6), s(7)];
    };
    expect(await read(VALUES)).toEqual([3, 0.5, -1, 2, 0.25, -4, 5, -6]);
    expect(await read({ ...VALUES, b: [0.5, -1, 3] })).toEqual([3, 0.5, -1, 3, 0.25, -4, 5, -6]);
    const { uniforms } = g.cacheSizes();
    // The same values again, in another key order: the first block, not a new one.
    const { a, ...rest } = VALUES;
    expect(await read({ ...rest, a })).toEqual([3, 0.5, -1, 2, 0.25, -4, 5, -6]);
    expect(g.cacheSizes().uniforms).toBe(uniforms);
    out.buffer.destroy();
  });

  it('names the shader and the field when one is missing, extra or misspelt', () => {
    const g = probeGpu();
    const out = g.persistent([8], undefined, 'probe out');
    const dispatch = (params?: Record<string, number | number[]>) =>
      g.dispatch({ shader: 'probe', entry: 'copy', params, buffers: [out], workgroups: [1] });
    // Valid values first: the checks must hold for a dispatch that repeats a cached block's values.
    dispatch(VALUES);
    const { e: _e, ...withoutE } = VALUES;
    expect(() => dispatch(withoutE)).toThrow(/shaders\/probe\.wgsl \(copy\): params lack field e of struct Probe \{ a: u32, b: vec3f/);
    expect(() => dispatch()).toThrow(/shaders\/probe\.wgsl \(copy\): params lack fields a, b, c, d, e/);
    expect(() => dispatch({ ...VALUES, extra: 1 })).toThrow(
      /shaders\/probe\.wgsl \(copy\): params field extra is not in struct Probe \{[^}]*\}$/,
    );
    const { c, ...withoutC } = VALUES;
    expect(() => dispatch({ ...withoutC, cc: c })).toThrow(
      /shaders\/probe\.wgsl \(copy\): params field cc is not in struct Probe .*; did you mean c\?/,
    );
    expect(() => dispatch({ ...VALUES, a: -1 })).toThrow(
      /probe\.wgsl \(copy\): field a: u32 must be an integer in \[0, 4294967295\], got -1/,
    );
    expect(() => dispatch({ ...VALUES, b: [1, 2] })).toThrow(/probe\.wgsl \(copy\): field b: vec3f takes 3 numbers/);
    expect(() => g.dispatch({ shader: 'probe', entry: 'none', params: { a: 1 }, buffers: [out], workgroups: [1] })).toThrow(
      /shaders\/probe\.wgsl \(none\) reads no uniform at @group\(0\) @binding\(0\); pass no params/,
    );
    out.buffer.destroy();
  });

  it('rejects a uniform struct with a type it cannot lay out', () => {
    const source = 'struct P { m: mat2x2f }\n@group(0) @binding(0) var<uniform> p: P;\nfn main() { let x = p.m; }';
    expect(() => paramsLayout('bad.wgsl', source, 'main')).toThrow(/bad\.wgsl: field m: mat2x2f of uniform struct P is not supported/);
  });
});
