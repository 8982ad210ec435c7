import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pipeBytes } from '../../src/data/idx.ts';
import { crc32, encodePng } from '../../src/data/png.ts';

interface Chunk {
  type: string;
  data: Uint8Array;
  crc: number;
  /** CRC-32 of type + data, computed by Node's zlib: an independent reference. */
  expectedCrc: number;
}

function chunks(png: Uint8Array): Chunk[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    out.push({
      type,
      data: png.subarray(at + 8, at + 8 + length),
      crc: view.getUint32(at + 8 + length),
      expectedCrc: zlibCrc32(png.subarray(at + 4, at + 8 + length)),
    });
    at += 12 + length;
  }
  return out;
}

/** Decodes an 8-bit grayscale PNG with filter type 0 on every row. */
async function decode(png: Uint8Array): Promise<{ width: number; height: number; gray: Uint8Array }> {
  expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const cs = chunks(png);
  expect(cs.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  for (const c of cs) expect(c.crc, `${c.type} CRC`).toBe(c.expectedCrc);
  const ihdr = new DataView(cs[0].data.buffer, cs[0].data.byteOffset, 13);
  const [width, height] = [ihdr.getUint32(0), ihdr.getUint32(4)];
  expect(Array.from(cs[0].data.subarray(8))).toEqual([8, 0, 0, 0, 0]);
  const scanlines = await pipeBytes(cs[1].data, new DecompressionStream('deflate'));
  expect(scanlines.length).toBe(height * (width + 1));
  const gray = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    expect(scanlines[y * (width + 1)]).toBe(0);
    gray.set(scanlines.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  return { width, height, gray };
}

describe('png', () => {
  it('crc32 matches the standard check value and IEND constant', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082);
  });

  for (const [w, h] of [
    [1, 1],
    [28, 28],
    [7, 3],
    [3, 130],
  ]) {
    it(`encodes a ${w}×${h} gray image that decodes back to the same pixels`, async () => {
      const gray = Uint8Array.from({ length: w * h }, (_, i) => (i * 37 + (i >> 3)) % 256);
      const decoded = await decode(await encodePng(w, h, gray));
      expect([decoded.width, decoded.height]).toEqual([w, h]);
      expect(decoded.gray).toEqual(gray);
    });
  }

  it('rejects bad sizes before encoding', async () => {
    await expect(encodePng(4, 4, new Uint8Array(15))).rejects.toThrow('encodePng: a 4×4 image needs 16 pixels, got 15');
    await expect(encodePng(0, 4, new Uint8Array(0))).rejects.toThrow('encodePng: width 0 and height 4 must be positive integers');
  });
});
