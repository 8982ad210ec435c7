import { describe, expect, it } from 'vitest';
import { gunzip, isGzip, parseIdxImages, parseIdxLabels, pipeBytes, sha256Hex } from '../../src/data/idx.ts';

/** An IDX file built by hand: big-endian magic, dims, then the data bytes. */
function idx(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => {
    view.setUint32(4 + 4 * i, d);
  });
  out.set(data, 4 + 4 * dims.length);
  return out;
}

const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 7) % 256);

describe('IDX parsing', () => {
  it('reads images: dims and pixels in order', () => {
    const images = parseIdxImages(idx(2051, [3, 4, 5], pixels), 'imgs');
    expect([images.count, images.rows, images.cols]).toEqual([3, 4, 5]);
    expect(Array.from(images.pixels)).toEqual(Array.from(pixels));
  });

  it('reads labels', () => {
    expect(Array.from(parseIdxLabels(idx(2049, [4], Uint8Array.of(7, 2, 1, 0)), 'labels'))).toEqual([7, 2, 1, 0]);
  });

  it('names the file and the magic when given the wrong kind of file', () => {
    expect(() => parseIdxImages(idx(2049, [4], Uint8Array.of(7, 2, 1, 0)), 'labels.idx')).toThrow(
      'labels.idx: not an IDX images file: magic number is 2049 (magic 2049 is an IDX labels file), expected 2051',
    );
    expect(() => parseIdxLabels(Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0), 'junk')).toThrow(
      'junk: not an IDX labels file: magic number is 16909060, expected 2049',
    );
  });

  it('says expected vs actual bytes when truncated or too long', () => {
    const full = idx(2051, [3, 4, 5], pixels);
    expect(() => parseIdxImages(full.subarray(0, full.length - 1), 'cut')).toThrow(
      'cut: IDX images file truncated: dims [3, 4, 5] need 76 bytes, the file has 75',
    );
    expect(() => parseIdxImages(full.subarray(0, 10), 'cut')).toThrow(
      'cut: truncated IDX images file: 10 bytes, but the header alone is 16 bytes',
    );
    const long = new Uint8Array(full.length + 2);
    long.set(full);
    expect(() => parseIdxImages(long, 'long')).toThrow(
      'long: IDX images file has trailing bytes: dims [3, 4, 5] need 76 bytes, the file has 78',
    );
  });

  it('rejects a zero dimension', () => {
    expect(() => parseIdxImages(idx(2051, [0, 28, 28], new Uint8Array(0)), 'empty')).toThrow(
      'empty: IDX images file has a zero dimension [0, 28, 28]',
    );
  });
});

describe('gzip and SHA-256', () => {
  it('gunzip inverts gzip', async () => {
    const gz = await pipeBytes(pixels, new CompressionStream('gzip'));
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(pixels)).toBe(false);
    expect(Array.from(await gunzip(gz, 'x.gz'))).toEqual(Array.from(pixels));
  });

  it('names the file of a corrupt or truncated gzip stream', async () => {
    const gz = await pipeBytes(pixels, new CompressionStream('gzip'));
    await expect(gunzip(gz.subarray(0, gz.length - 6), 'cut.gz')).rejects.toThrow(/^cut\.gz: corrupt or truncated gzip data/);
    const flipped = gz.slice();
    flipped[12] ^= 0xff;
    await expect(gunzip(flipped, 'bad.gz')).rejects.toThrow(/^bad\.gz: corrupt or truncated gzip data .*fetch it again/);
  });

  it('sha256Hex matches the FIPS 180-2 test vector', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
