import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/data/safetensors.ts';
import { Rng } from '../helpers/rng.ts';

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** A file in the documented layout, built byte by byte: u64 LE header length, JSON padded with
 * spaces to a multiple of 8 (with the 8 length bytes), then f32 little-endian data. */
function handMade(): Uint8Array {
  const json =
    '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}';
  expect(json.length).toBe(141); // 141 + 3 spaces = 144, and 8 + 144 is a multiple of 8
  return Uint8Array.from([
    144,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...ascii(json),
    0x20,
    0x20,
    0x20,
    0x00,
    0x00,
    0x80,
    0x3f, // 1.0
    0x00,
    0x00,
    0x20,
    0xc0, // -2.5
    0x00,
    0x00,
    0x00,
    0x00, // 0.0
  ]);
}

/** Header JSON → file bytes (no data). */
function withHeader(header: object, dataBytes = 0): Uint8Array {
  const json = ascii(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('writes exactly the documented bytes', () => {
    const bytes = writeSafetensors(
      { b: { shape: [1, 1], data: Float32Array.of(0) }, a: { shape: [2], data: Float32Array.of(1, -2.5) } },
      { format: 'pt' },
    );
    expect(Array.from(bytes)).toEqual(Array.from(handMade()));
  });

  it('reads the hand-made file', () => {
    const { tensors, metadata } = readSafetensors(handMade());
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.a.shape).toEqual([2]);
    expect(Array.from(tensors.a.data)).toEqual([1, -2.5]);
    expect(tensors.b.shape).toEqual([1, 1]);
    expect(Array.from(tensors.b.data)).toEqual([0]);
  });

  it('round-trips random tensors, metadata with non-ASCII text, a scalar and an empty tensor', () => {
    const rng = new Rng(3);
    const tensors = {
      'enc.0.weight': { shape: [8, 1, 3, 3], data: Float32Array.from(rng.normal(72)) },
      'enc.0.bias': { shape: [8], data: Float32Array.from(rng.normal(8)) },
      scalar: { shape: [], data: Float32Array.of(Math.PI) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    };
    const metadata = { step: '1200', note: 'mélange → démêlage' };
    const bytes = writeSafetensors(tensors, metadata);
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    // An odd byte offset in a larger buffer, as a Node Buffer or a fetch slice may give.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = readSafetensors(shifted.subarray(1));
    expect(back.metadata).toEqual(metadata);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back.tensors[name].shape).toEqual(t.shape);
      expect(back.tensors[name].data).toEqual(t.data);
    }
  });

  it('refuses to write mismatched data or the reserved name', () => {
    expect(() => writeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } })).toThrow(
      'writeSafetensors: tensor "w" has shape [2,3] (6 values) but 5 values',
    );
    expect(() => writeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow('"__metadata__" is reserved');
  });

  it('rejects bad files with errors naming the file and the problem', () => {
    const good = handMade();
    expect(() => readSafetensors(good.subarray(0, 5), 'm.safetensors')).toThrow(
      'm.safetensors: not a valid safetensors file: 5 bytes, shorter than the 8-byte header length',
    );
    expect(() => readSafetensors(good.subarray(0, 100), 'm.safetensors')).toThrow(
      'header length 144 runs past the end of the file (100 bytes)',
    );
    expect(() => readSafetensors(good.subarray(0, good.length - 4), 'm.safetensors')).toThrow(
      'the tensors cover 12 bytes of data but the file holds 8 after the header',
    );
    const notJson = good.slice();
    notJson[8] = 0x5b; // '['
    expect(() => readSafetensors(notJson)).toThrow('header is not UTF-8 JSON');
    expect(() => readSafetensors(withHeader({ h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } }, 4), 'half.safetensors')).toThrow(
      'half.safetensors: not a valid safetensors file: tensor "h" has dtype "F16"; only F32 is supported',
    );
    expect(() => readSafetensors(withHeader({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8))).toThrow(
      'tensor "w" of shape [3] needs 12 bytes but data_offsets [0, 8] hold 8',
    );
    const gap = { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
    expect(() => readSafetensors(withHeader(gap, 12))).toThrow(
      'tensor "b" starts at data offset 8, expected 4 (offsets must be contiguous',
    );
    const overlap = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } };
    expect(() => readSafetensors(withHeader(overlap, 8))).toThrow('tensor "b" starts at data offset 4, expected 8');
    expect(() => readSafetensors(withHeader({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4))).toThrow(
      'tensor "w" has a malformed shape [-1]',
    );
    expect(() => readSafetensors(withHeader({ __metadata__: { step: 3 } }))).toThrow('__metadata__["step"] is 3, not a string');
  });
});
