// Writes public/sample/test-sample.json: the small sample of the test sets the page ships
// (src/data/test-sample.ts), taken from the real datasets found as the CLI finds them.
import { writeFileSync } from 'node:fs';
import { exitOnError } from '../src/cli/common.ts';
import { loadSourceImagesNode } from '../src/data/locate.ts';
import { makeTestSample, TEST_SAMPLE_FILE } from '../src/data/test-sample.ts';

exitOnError();
const sample = makeTestSample(await loadSourceImagesNode());
const path = `public/${TEST_SAMPLE_FILE}`;
writeFileSync(path, `${JSON.stringify(sample)}\n`);
console.log(
  `make-test-sample: wrote ${path}: ${sample.mnist.indices.length} MNIST and ${sample.fashion.indices.length} Fashion-MNIST test images`,
);
