// What `npm run build` puts in dist/data/ (src/app/data-plugin.ts): the six files the page reads,
// checked and gzipped, with their list; a damaged file stops the build; without datasets, an empty
// list and a warning, and the build goes on.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { copyDatasets, type LocatedFiles } from '../../src/app/data-plugin.ts';
import { DATA_DIR, DATA_MANIFEST, SOURCE_FILES } from '../../src/data/datasets.ts';
import { findDataDirs, findIdxFile } from '../../src/data/locate.ts';

const located = (): LocatedFiles => {
  const dirs = findDataDirs();
  return {
    found: SOURCE_FILES.map((file) => ({ file, path: findIdxFile(file.dataset === 'mnist' ? dirs.mnist : dirs.fashion, file.file)! })),
    why: '',
  };
};

describe('datasets in a build', () => {
  let out = '';
  beforeEach(() => void (out = mkdtempSync(join(tmpdir(), 'unmix-build-data-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));
  const manifest = () => JSON.parse(readFileSync(join(out, DATA_DIR, DATA_MANIFEST), 'utf8'));

  it('copies the six files the page reads, gzipped, raw ones included, and lists them', async () => {
    const files = located();
    // One found raw (as some packages ship them): the build gzips it under its official name.
    const labels = files.found.find((f) => f.file.file.startsWith('t10k-labels'))!;
    const raw = join(out, 'raw-labels');
    writeFileSync(raw, gunzipSync(readFileSync(labels.path)));
    labels.path = raw;
    await copyDatasets(out, files, () => {});
    expect(manifest().files).toEqual(SOURCE_FILES.map((f) => `${f.dataset}/${f.file}`));
    const copied = readFileSync(join(out, DATA_DIR, labels.file.dataset, labels.file.file));
    expect(gunzipSync(copied)).toEqual(readFileSync(raw));
  });

  it('refuses a damaged file, naming it', async () => {
    const files = located();
    const bad = join(out, 'bad.gz');
    writeFileSync(bad, readFileSync(files.found[1].path).subarray(0, 100));
    files.found[1].path = bad;
    await expect(copyDatasets(out, files, () => {})).rejects.toThrow(new RegExp(`${files.found[1].file.file}`));
  });

  it('without datasets: an empty list, and a warning that says how to include them', async () => {
    const warnings: string[] = [];
    await copyDatasets(out, { found: [], why: 'MNIST and Fashion-MNIST not found' }, (w) => warnings.push(w));
    expect(manifest()).toEqual({ files: [] });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/no datasets copied .*not found.*npm run fetch-data/);
  });
});
