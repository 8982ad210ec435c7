// The eight dataset files with their checksums, and loading them into images (browser and Node:
// the caller supplies how to read a file).
import { UserError } from '../util/user-error.ts';
import { gunzip, type IdxImages, isGzip, parseIdxImages, parseIdxLabels, REPLACE_FILE_FIX, sha256Hex } from './idx.ts';

export type Dataset = 'mnist' | 'fashion-mnist';

export interface DatasetFile {
  dataset: Dataset;
  /** The official download's name, e.g. 'train-images-idx3-ubyte.gz'. */
  file: string;
  /** SHA-256 of the decompressed bytes: it holds whichever gzip (or none) the file came in. */
  sha256: string;
}

export const DATASET_FILES: DatasetFile[] = [
  { dataset: 'mnist', file: 'train-images-idx3-ubyte.gz', sha256: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db' },
  { dataset: 'mnist', file: 'train-labels-idx1-ubyte.gz', sha256: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5' },
  { dataset: 'mnist', file: 't10k-images-idx3-ubyte.gz', sha256: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7' },
  { dataset: 'mnist', file: 't10k-labels-idx1-ubyte.gz', sha256: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2' },
  {
    dataset: 'fashion-mnist',
    file: 'train-images-idx3-ubyte.gz',
    sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
  },
  {
    dataset: 'fashion-mnist',
    file: 'train-labels-idx1-ubyte.gz',
    sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
  },
  {
    dataset: 'fashion-mnist',
    file: 't10k-images-idx3-ubyte.gz',
    sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
  },
  {
    dataset: 'fashion-mnist',
    file: 't10k-labels-idx1-ubyte.gz',
    sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
  },
];

/** Where a build (and the dev server) serves the dataset files, relative to the page: DATA_DIR +
 * dataset/official name, beside DATA_MANIFEST, which lists the files there (src/app/data-plugin.ts). */
export const DATA_DIR = 'data/';
export const DATA_MANIFEST = 'datasets.json';
export interface DataManifest {
  /** 'dataset/file' of each file served. */
  files: string[];
}

/** Fashion-MNIST's class names, by label. */
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export interface SourceImages {
  mnistTrain: IdxImages;
  mnistTest: IdxImages;
  fashionTrain: IdxImages;
  fashionTest: IdxImages;
  /** Test labels only (see SOURCE_FILES). */
  mnistTestLabels: Uint8Array;
  fashionTestLabels: Uint8Array;
}

export type ReadFile = (dataset: Dataset, file: string) => Promise<Uint8Array>;

/** Decompresses (when gzip) and checks the SHA-256 of the decompressed bytes against the known sum. */
export async function verifiedIdx(bytes: Uint8Array, dataset: Dataset, file: string): Promise<Uint8Array> {
  const entry = DATASET_FILES.find((f) => f.dataset === dataset && f.file === file);
  if (!entry)
    throw new Error(`${dataset}/${file}: not one of the dataset files (${DATASET_FILES.map((f) => `${f.dataset}/${f.file}`).join(', ')})`);
  const name = `${dataset}/${file}`;
  const raw = isGzip(bytes) ? await gunzip(bytes, name) : bytes;
  const actual = await sha256Hex(raw);
  if (actual !== entry.sha256) {
    throw new UserError(
      `${name}: SHA-256 of the decompressed data is ${actual}, expected ${entry.sha256}: the file is damaged or not the official one`,
      REPLACE_FILE_FIX,
    );
  }
  return raw;
}

/** The files training and the page read: both image sets of both datasets, and the test labels
 * (the page picks test images by class; training never uses labels). */
export const SOURCE_FILES: DatasetFile[] = DATASET_FILES.filter((f) => !f.file.startsWith('train-labels'));

/** Reads, verifies and parses the SOURCE_FILES; onProgress is called after each file. */
export async function loadSourceImages(
  read: ReadFile,
  onProgress?: (done: number, total: number, file: string) => void,
): Promise<SourceImages> {
  const bytes = new Map<string, Uint8Array>();
  for (const { dataset, file } of SOURCE_FILES) {
    bytes.set(`${dataset}/${file}`, await verifiedIdx(await read(dataset, file), dataset, file));
    onProgress?.(bytes.size, SOURCE_FILES.length, `${dataset}/${file}`);
  }
  const images = (name: string) => parseIdxImages(bytes.get(name)!, name);
  const labels = (name: string) => parseIdxLabels(bytes.get(name)!, name);
  return {
    mnistTrain: images('mnist/train-images-idx3-ubyte.gz'),
    mnistTest: images('mnist/t10k-images-idx3-ubyte.gz'),
    fashionTrain: images('fashion-mnist/train-images-idx3-ubyte.gz'),
    fashionTest: images('fashion-mnist/t10k-images-idx3-ubyte.gz'),
    mnistTestLabels: labels('mnist/t10k-labels-idx1-ubyte.gz'),
    fashionTestLabels: labels('fashion-mnist/t10k-labels-idx1-ubyte.gz'),
  };
}
