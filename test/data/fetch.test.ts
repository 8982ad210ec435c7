// The download script, offline: an injected fetch serves the real files (or broken ones).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fetchDatasets, MIRRORS } from '../../data/fetch.ts';
import { DATASET_FILES } from '../../src/data/datasets.ts';
import { findDataDirs } from '../../src/data/locate.ts';

const shared = findDataDirs();
// The four small label files keep the test fast; the code path is the same for the images.
const labels = DATASET_FILES.filter((f) => f.file.includes('labels'));

/** A fetch that serves the real files from the mirrors' URLs, after `mangle`. */
function mirrorFetch(mangle = (b: Uint8Array) => b, requested: string[] = []) {
  return async (url: string) => {
    requested.push(url);
    const entry = DATASET_FILES.find((f) => url === MIRRORS[f.dataset] + f.file);
    if (!entry) return new Response('not found', { status: 404, statusText: 'Not Found' });
    const bytes = mangle(new Uint8Array(readFileSync(join(entry.dataset === 'mnist' ? shared.mnist : shared.fashion, entry.file))));
    return new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-length': String(bytes.length) } });
  };
}

describe('fetch-data', () => {
  it('downloads, verifies and writes each file, with progress; a second run downloads nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-fetch-'));
    const requested: string[] = [];
    const progress = new Map<string, [number, number | null]>();
    const written = await fetchDatasets({
      dir,
      files: labels,
      fetch: mirrorFetch(undefined, requested),
      onProgress: (f, r, t) => progress.set(f, [r, t]),
    });
    expect(written).toEqual(labels.map((f) => join(dir, f.dataset, f.file)));
    expect(requested).toEqual(labels.map((f) => MIRRORS[f.dataset] + f.file));
    for (const f of labels) {
      const path = join(dir, f.dataset, f.file);
      expect(readFileSync(path)).toEqual(readFileSync(join(f.dataset === 'mnist' ? shared.mnist : shared.fashion, f.file)));
      const size = readFileSync(path).length;
      expect(progress.get(`${f.dataset}/${f.file}`)).toEqual([size, size]);
    }
    const again: string[] = [];
    expect(await fetchDatasets({ dir, files: labels, fetch: mirrorFetch(undefined, again) })).toEqual([]);
    expect(again).toEqual([]);
  });

  it('replaces a corrupt file already in the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-fetch-'));
    const f = labels[0];
    mkdirSync(join(dir, f.dataset));
    writeFileSync(join(dir, f.dataset, f.file), 'garbage');
    expect(await fetchDatasets({ dir, files: [f], fetch: mirrorFetch() })).toEqual([join(dir, f.dataset, f.file)]);
    expect(readFileSync(join(dir, f.dataset, f.file)).length).toBe(28881); // mnist/train-labels-idx1-ubyte.gz
  });

  it('a file that fails its checksum is not written, and the error says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-fetch-'));
    const flipLastLabel = (gz: Uint8Array) => {
      // Served uncompressed with one label changed: the check is on the decompressed bytes.
      const raw = new Uint8Array(gunzipSync(gz));
      raw[raw.length - 1] ^= 1;
      return raw;
    };
    const error = await fetchDatasets({ dir, files: labels.slice(0, 1), fetch: mirrorFetch(flipLastLabel) }).catch((e: Error) => e.message);
    expect(error).toMatch(
      new RegExp(
        `^${MIRRORS.mnist}train-labels-idx1-ubyte.gz: SHA-256 of the decompressed data is [0-9a-f]{64}, expected ${labels[0].sha256}: the mirror served .*nothing was written; try again later`,
      ),
    );
    expect(existsSync(join(dir, 'mnist')) ? readdirSync(join(dir, 'mnist')) : []).toEqual([]);
  });

  it('offline or HTTP errors say what to do instead', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-fetch-'));
    const offline = async () => {
      throw new TypeError('fetch failed', { cause: new Error('getaddrinfo ENOTFOUND storage.googleapis.com') });
    };
    const error = await fetchDatasets({ dir, files: labels, fetch: offline }).catch((e: Error) => e.message);
    expect(error).toContain(`could not download ${MIRRORS.mnist}train-labels-idx1-ubyte.gz (getaddrinfo ENOTFOUND storage.googleapis.com)`);
    expect(error).toContain('no internet access');
    expect(error).toContain('--data / UNMIX_DATA');
    const missing = { ...labels[0], file: 'nope.gz' };
    await expect(fetchDatasets({ dir, files: [missing], fetch: mirrorFetch() })).rejects.toThrow(
      `could not download ${MIRRORS.mnist}nope.gz: HTTP 404 Not Found; if this machine has no internet access`,
    );
  });

  it('a download cut short is an error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-fetch-'));
    const short = async () => new Response(new Uint8Array(10), { headers: { 'content-length': '20' } });
    await expect(fetchDatasets({ dir, files: labels.slice(0, 1), fetch: short })).rejects.toThrow('was cut short: 10 of 20 bytes');
  });
});
