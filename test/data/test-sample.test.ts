// The test sample the page ships (public/sample/): taken from the real test sets, as the script makes
// it today, with the display pairs first and every class offered for "try it yourself".
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import {
  makeTestSample,
  SAMPLE_DISPLAY_PAIRS,
  SAMPLE_PER_CLASS,
  TEST_SAMPLE_FILE,
  type TestSample,
  testSampleImages,
} from '../../src/data/test-sample.ts';
import { DISPLAY_PAIRS } from '../../src/train/evaluate.ts';

const FILE = `public/${TEST_SAMPLE_FILE}`;

describe('test sample', () => {
  const shipped = JSON.parse(readFileSync(FILE, 'utf8')) as TestSample;

  it(`${FILE} is small and is what npm run make-test-sample makes from the test sets`, async () => {
    expect(statSync(FILE).size).toBeLessThan(400_000);
    const images = await loadSourceImagesNode();
    expect(shipped).toEqual(makeTestSample(images));
    // Each image is the test image its index names.
    const sample = testSampleImages(shipped);
    shipped.mnist.indices.forEach((index, k) => {
      expect(sample.mnistTest.pixels.subarray(k * 784, (k + 1) * 784)).toEqual(
        images.mnistTest.pixels.subarray(index * 784, (index + 1) * 784),
      );
    });
    shipped.fashion.indices.forEach((index, k) => {
      expect(sample.fashionTestLabels[k]).toBe(images.fashionTestLabels[index]);
      expect(sample.fashionTest.pixels.subarray(k * 784, (k + 1) * 784)).toEqual(
        images.fashionTest.pixels.subarray(index * 784, (index + 1) * 784),
      );
    });
  });

  it('holds the display pairs first and at least SAMPLE_PER_CLASS images of every class', () => {
    expect(SAMPLE_DISPLAY_PAIRS.digits.map((k) => shipped.mnist.indices[k])).toEqual(DISPLAY_PAIRS.digits);
    expect(SAMPLE_DISPLAY_PAIRS.items.map((k) => shipped.fashion.indices[k])).toEqual(DISPLAY_PAIRS.items);
    for (const set of [shipped.mnist, shipped.fashion]) {
      for (let c = 0; c < 10; c++) expect(set.labels.filter((l) => l === c).length).toBeGreaterThanOrEqual(SAMPLE_PER_CLASS);
    }
  });

  it('refuses a sample whose pixels do not match its indices, naming the fix', () => {
    const broken = { ...shipped, fashion: { ...shipped.fashion, indices: [...shipped.fashion.indices, 0] } };
    expect(() => testSampleImages(broken)).toThrow(/fashion has \d+ indices, \d+ labels.*npm run make-test-sample/);
  });
});
