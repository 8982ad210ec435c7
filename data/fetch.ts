// Downloads MNIST and Fashion-MNIST from their official mirrors into the user cache
// (~/.cache/unmix/data, or $XDG_CACHE_HOME/unmix/data), where src/data/locate.ts finds them.
// Each file is checked against the SHA-256 of its decompressed bytes before it is written, and
// written atomically (a temporary file, then rename), so the cache never holds a partial file.
//   npm run fetch-data [-- --dir DIR]
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitOnError, parseFlags } from '../src/cli/common.ts';
import { DATASET_FILES, type Dataset, type DatasetFile, verifiedIdx } from '../src/data/datasets.ts';
import { gunzip, isGzip, sha256Hex } from '../src/data/idx.ts';
import { cacheDir } from '../src/data/locate.ts';
import { readBody } from '../src/data/read-body.ts';
import { UserError } from '../src/util/user-error.ts';

export const MIRRORS: Record<Dataset, string> = {
  mnist: 'https://storage.googleapis.com/cvdf-datasets/mnist/',
  'fashion-mnist': 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
};

export interface FetchOptions {
  /** Where to put mnist/ and fashion-mnist/ (default: the user cache). */
  dir?: string;
  files?: DatasetFile[];
  /** Injected in tests; the global fetch otherwise. */
  fetch?: (url: string) => Promise<Response>;
  onProgress?: (file: string, received: number, total: number | null) => void;
  log?: (line: string) => void;
}

/** Fetches every file not already present and valid; returns the paths written. */
export async function fetchDatasets(opts: FetchOptions = {}): Promise<string[]> {
  const dir = opts.dir ?? cacheDir();
  const log = opts.log ?? (() => {});
  const written: string[] = [];
  for (const entry of opts.files ?? DATASET_FILES) {
    const name = `${entry.dataset}/${entry.file}`;
    const dest = join(dir, entry.dataset, entry.file);
    if (existsSync(dest) && (await isValid(dest, entry))) {
      log(`${name}: already here and verified`);
      continue;
    }
    const url = MIRRORS[entry.dataset] + entry.file;
    const bytes = await download(url, name, dir, opts);
    const sha = await sha256Hex(isGzip(bytes) ? await gunzip(bytes, url) : bytes);
    if (sha !== entry.sha256) {
      throw new UserError(
        `${url}: SHA-256 of the decompressed data is ${sha}, expected ${entry.sha256}: the mirror served a different or damaged file, and nothing was written`,
        'try again later',
      );
    }
    await writeAtomically(dest, bytes);
    log(`${name}: downloaded and verified → ${dest}`);
    written.push(dest);
  }
  return written;
}

async function isValid(path: string, entry: DatasetFile): Promise<boolean> {
  try {
    await verifiedIdx(new Uint8Array(await readFile(path)), entry.dataset, entry.file);
    return true;
  } catch {
    return false;
  }
}

async function download(url: string, name: string, dir: string, opts: FetchOptions): Promise<Uint8Array> {
  const offline =
    `if this machine has no internet access, copy the files (see data/README.md) into ` +
    `${dir}/mnist and ${dir}/fashion-mnist, or point --data / UNMIX_DATA at a folder holding them`;
  let response: Response;
  try {
    response = await (opts.fetch ?? fetch)(url);
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new UserError(`could not download ${url} (${cause})`, offline, { cause: e });
  }
  if (!response.ok || !response.body)
    throw new UserError(`could not download ${url}: HTTP ${response.status} ${response.statusText}`, offline);
  const bytes = await readBody(response, (received, total) => opts.onProgress?.(name, received, total));
  const total = response.headers.get('content-length');
  if (total !== null && bytes.length !== Number(total)) {
    throw new UserError(`download of ${url} was cut short: ${bytes.length} of ${total} bytes`, 'try again');
  }
  return bytes;
}

async function writeAtomically(dest: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, dest);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

const USAGE = `usage: npm run fetch-data -- [--dir DIR]
  --dir DIR   where to put mnist/ and fashion-mnist/ (default ${cacheDir()})`;

async function main(): Promise<void> {
  const dir = parseFlags(process.argv.slice(2), { dir: { type: 'string' } }, USAGE).dir as string | undefined;
  const mb = (n: number) => (n / 1e6).toFixed(1);
  await fetchDatasets({
    dir,
    log: (line) => process.stderr.write(`\r\x1b[K${line}\n`),
    onProgress: (file, received, total) => process.stderr.write(`\r\x1b[K${file}: ${mb(received)}${total ? ` / ${mb(total)}` : ''} MB`),
  });
  process.stderr.write(`All ${DATASET_FILES.length} files are in ${dir ?? cacheDir()}.\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  exitOnError();
  await main();
}
