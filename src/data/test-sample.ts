// A small sample of the two test sets that travels with the page (public/sample/, made from the real
// test sets by scripts/make-test-sample.ts): the display pairs' images, then SAMPLE_PER_CLASS images
// of each class, so the grid, "try it yourself" and the drawing pad work on any static host at once,
// before (or without) the datasets. Browser and Node.
import { DISPLAY_PAIRS } from '../train/evaluate.ts';
import type { SourceImages } from './datasets.ts';
import type { IdxImages } from './idx.ts';

/** Where the page finds the sample, relative to its base URL (and to public/ in the repository). */
export const TEST_SAMPLE_FILE = 'sample/test-sample.json';
/** Test images of each class in the sample: "Another example" goes round this many. */
export const SAMPLE_PER_CLASS = 10;
const SIDE = 28;

/** One dataset's share of the sample: its test-set indices, labels and 28×28 pixels (base64, image after image). */
export interface SampledSet {
  indices: number[];
  labels: number[];
  pixels: string;
}

export interface TestSample {
  /** Where it came from, for a reader of the file. */
  source: string;
  mnist: SampledSet;
  fashion: SampledSet;
}

function sampleOf(images: IdxImages, labels: Uint8Array, first: number[]): SampledSet {
  const indices = [...first];
  for (let c = 0; c < 10; c++) {
    let taken = 0;
    for (let i = 0; i < labels.length && taken < SAMPLE_PER_CLASS; i++) {
      if (labels[i] !== c) continue;
      if (!indices.includes(i)) indices.push(i);
      taken++;
    }
  }
  const pixels = new Uint8Array(indices.length * SIDE * SIDE);
  indices.forEach((index, k) => {
    pixels.set(images.pixels.subarray(index * SIDE * SIDE, (index + 1) * SIDE * SIDE), k * SIDE * SIDE);
  });
  let binary = '';
  for (const byte of pixels) binary += String.fromCharCode(byte);
  return { indices, labels: indices.map((i) => labels[i]), pixels: btoa(binary) };
}

/** The sample of the test sets: the display pairs first (positions 0..7 of each set), then each class's first images. */
export function makeTestSample(images: SourceImages): TestSample {
  return {
    source:
      'MNIST (CC BY-SA 3.0) and Fashion-MNIST (MIT) test images, chosen by scripts/make-test-sample.ts: the display pairs, ' +
      `then the first ${SAMPLE_PER_CLASS} of each class`,
    mnist: sampleOf(images.mnistTest, images.mnistTestLabels, DISPLAY_PAIRS.digits),
    fashion: sampleOf(images.fashionTest, images.fashionTestLabels, DISPLAY_PAIRS.items),
  };
}

function unpack(set: SampledSet, what: string): { images: IdxImages; labels: Uint8Array } {
  const binary = atob(set.pixels);
  const pixels = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  if (pixels.length !== set.indices.length * SIDE * SIDE || set.labels.length !== set.indices.length) {
    throw new Error(
      `${TEST_SAMPLE_FILE}: ${what} has ${set.indices.length} indices, ${set.labels.length} labels and ${pixels.length} pixel bytes ` +
        `(${SIDE}×${SIDE} per image); make it again with npm run make-test-sample`,
    );
  }
  return { images: { count: set.indices.length, rows: SIDE, cols: SIDE, pixels }, labels: Uint8Array.from(set.labels) };
}

/** The sample as SourceImages: its images stand in for both splits (the page never trains on them). */
export function testSampleImages(sample: TestSample): SourceImages {
  const mnist = unpack(sample.mnist, 'mnist');
  const fashion = unpack(sample.fashion, 'fashion');
  return {
    mnistTrain: mnist.images,
    mnistTest: mnist.images,
    fashionTrain: fashion.images,
    fashionTest: fashion.images,
    mnistTestLabels: mnist.labels,
    fashionTestLabels: fashion.labels,
  };
}

/** Where the display pairs sit in the sample: its first images. */
export const SAMPLE_DISPLAY_PAIRS = {
  digits: DISPLAY_PAIRS.digits.map((_, k) => k),
  items: DISPLAY_PAIRS.items.map((_, k) => k),
};
