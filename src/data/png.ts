// 8-bit grayscale PNG encoding (browser and Node): signature, IHDR, one IDAT of zlib-compressed
// scanlines (each prefixed by filter type 0, "none"), IEND. Each chunk ends with the CRC-32 of its
// type and data.
import { pipeBytes } from './idx.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** CRC-32 (ISO 3309, polynomial 0xedb88320, reflected), table-driven. */
const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** length (4 bytes), type (4 ASCII), data, CRC-32 of type + data; all big-endian. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

export async function encodePng(width: number, height: number, gray: Uint8Array): Promise<Uint8Array> {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`encodePng: width ${width} and height ${height} must be positive integers`);
  }
  if (gray.length !== width * height) {
    throw new Error(`encodePng: a ${width}×${height} image needs ${width * height} pixels, got ${gray.length}`);
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // bit depth 8, colour type 0 (gray), deflate, filter method 0, no interlace

  const scanlines = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) scanlines.set(gray.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  // 'deflate' is the zlib format (RFC 1950) that IDAT holds.
  const idat = await pipeBytes(scanlines, new CompressionStream('deflate'));

  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
