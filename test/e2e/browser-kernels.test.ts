// The kernels the Node tests check also run in a browser: Chromium's WebGPU (SwiftShader here) runs
// the project's ops, forward and backward, and the results match f64 CPU references.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { expectClose, F32 } from '../helpers/check.ts';
import { Rng } from '../helpers/rng.ts';
import { openPage, type Session } from './browser.ts';
import type { KernelInput, KernelResult } from './kernels.ts';

type Ref = (xs: Float64Array[], seed: Float64Array) => { y: Float64Array; grads: Float64Array[] };

const sigmoidOf = (v: number) => 1 / (1 + Math.exp(-v));

const REFERENCES: Record<string, { inputs: number; reference: Ref }> = {
  relu: {
    inputs: 1,
    reference: ([x], s) => ({ y: x.map((v) => Math.max(v, 0)), grads: [x.map((v, i) => (v > 0 ? s[i] : 0))] }),
  },
  leakyRelu: {
    inputs: 1,
    reference: ([x], s) => ({ y: x.map((v) => (v > 0 ? v : 0.1 * v)), grads: [x.map((v, i) => (v > 0 ? s[i] : 0.1 * s[i]))] }),
  },
  sigmoid: {
    inputs: 1,
    reference: ([x], s) => ({
      y: x.map(sigmoidOf),
      grads: [x.map((v, i) => sigmoidOf(v) * (1 - sigmoidOf(v)) * s[i])],
    }),
  },
  add: {
    inputs: 2,
    reference: ([a, b], s) => ({ y: a.map((v, i) => v + b[i]), grads: [s.slice(), s.slice()] }),
  },
};

// Batch 1, odd sizes, a size that is not a multiple of the workgroup size (256), and one spanning
// many workgroups.
const SHAPES = [[1, 1, 1, 1], [2, 3, 5, 7], [3, 8, 33, 33]];

describe('the same kernels in Chromium (WebGPU on SwiftShader)', () => {
  let session: Session;
  beforeAll(async () => {
    session = await openPage('/test/e2e/kernels.html');
    await session.page.waitForFunction(() => document.getElementById('status')!.textContent !== 'starting…', { timeout: 30_000 });
  });
  afterAll(async () => {
    await session?.close();
  });

  it('opens a WebGPU device in the page', async () => {
    const status = await session.page.$eval('#status', (e) => e.textContent);
    expect(status, session.log.join('\n')).toMatch(/^ready: /);
  });

  const rng = new Rng(11);
  for (const [op, { inputs, reference }] of Object.entries(REFERENCES)) {
    for (const shape of SHAPES) {
      it(`${op} forward and backward, ${shape.join('×')}`, async () => {
        const n = sizeOf(shape);
        const xs = Array.from({ length: inputs }, () => rng.uniform(n, -3, 3));
        const seed = rng.uniform(n);
        const got = await session.page.evaluate(
          (op, inputs, seed) => window.kernels.run(op, inputs, seed),
          op,
          xs.map((x): KernelInput => ({ shape, data: Array.from(x) })),
          Array.from(seed),
        ) as KernelResult;
        const want = reference(xs, seed);
        expectClose(got.y, want.y, F32, `${op} ${shape} forward in the browser`);
        want.grads.forEach((g, i) => expectClose(got.grads[i], g, F32, `${op} ${shape} gradient of input ${i} in the browser`));
      });
    }
  }

  it('reports an unknown op instead of failing silently', async () => {
    const error = await session.page.evaluate(() => window.kernels.run('nope', [], []).then(() => 'no error', (e: Error) => e.message));
    expect(error).toMatch(/no op nope; known: relu/);
  });
});
