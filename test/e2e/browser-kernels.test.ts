// The kernels the Node tests check also run in a browser: Chromium's WebGPU (SwiftShader here) runs
// the project's ops (op-cases.ts), forward and backward. Element-wise ops are compared with f64 CPU
// references; every op is compared with the same op on Dawn in Node (lavapipe), whose results the
// op tests in test/ops check against f64 references and finite differences.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { createNodeGpu, releaseNodeGpu } from '../../src/gpu/node.ts';
import { type Conv2dOptions, geometry } from '../../src/ops/conv2d/geometry.ts';
import { CONV_KERNELS } from '../../src/ops/conv2d/kernels.ts';
import { expectClose, F32, type Tolerance } from '../helpers/check.ts';
import { convVariantData, convVariantReference, convVariantTolerance } from '../helpers/conv-reference.ts';
import { openPage, type Session } from './browser.ts';
import { OP_CASES, type OpResult, runCase } from './op-cases.ts';

type Reference = (xs: number[][], dy: number[]) => { y: number[]; grads: number[][] };

const sigmoidOf = (v: number) => 1 / (1 + Math.exp(-v));

const REFERENCES: Record<string, Reference> = {
  relu: ([x], dy) => ({ y: x.map((v) => Math.max(v, 0)), grads: [x.map((v, i) => (v > 0 ? dy[i] : 0))] }),
  sigmoid: ([x], dy) => ({ y: x.map(sigmoidOf), grads: [x.map((v, i) => sigmoidOf(v) * (1 - sigmoidOf(v)) * dy[i])] }),
  add: ([a, b], dy) => ({ y: a.map((v, i) => v + b[i]), grads: [dy, dy] }),
};

/** Browser vs Node: the same WGSL on two Vulkan drivers, which may fuse multiply-adds differently. */
const ACROSS_DRIVERS: Tolerance = { atol: 1e-5, rtol: 1e-4 };

describe('the same kernels in Chromium (WebGPU on SwiftShader)', () => {
  let session: Session;
  let node: Gpu;
  beforeAll(async () => {
    node = await createNodeGpu();
    session = await openPage('/test/e2e/kernels.html');
    await session.page.waitForFunction(() => document.getElementById('status')!.textContent !== 'starting…', { timeout: 30_000 });
  });
  afterAll(async () => {
    await session?.close();
    if (node) releaseNodeGpu(node);
  });

  it('opens a WebGPU device in the page', async () => {
    const status = await session.page.$eval('#status', (e) => e.textContent);
    expect(status, session.log.join('\n')).toMatch(/^ready: /);
  });

  Object.keys(OP_CASES).forEach((name, i) => {
    it(`${name}: forward and backward match${REFERENCES[name] ? ' the f64 reference and' : ''} Node`, async () => {
      const seed = 100 + i;
      const browser = (await session.page.evaluate((name, seed) => window.kernels.run(name, seed), name, seed)) as OpResult;
      const dawn = await runCase(node, name, seed);
      expect(browser.inputs).toEqual(dawn.inputs);
      const reference = REFERENCES[name]?.(browser.inputs, browser.outputGrad);
      if (reference) {
        expectClose(browser.y, reference.y, F32, `${name} forward in the browser vs f64`);
        reference.grads.forEach((g, k) => {
          expectClose(browser.grads[k], g, F32, `${name} gradient of input ${k} in the browser vs f64`);
        });
      }
      expectClose(browser.y, dawn.y, ACROSS_DRIVERS, `${name} forward, browser vs Node`);
      dawn.grads.forEach((g, k) => {
        expectClose(browser.grads[k], g, ACROSS_DRIVERS, `${name} gradient of input ${k}, browser vs Node`);
      });
    });
  });

  // Every conv2d kernel variant that applies on SwiftShader, against the f64 sums, on two awkward
  // shapes (odd sizes and channel counts, several blocks of channels, stride 2); the Node op tests
  // run more shapes on lavapipe.
  const convCases: [number[], number, number, Conv2dOptions][] = [
    [[2, 13, 10, 19], 17, 3, {}],
    [[3, 9, 9, 11], 12, 3, { stride: 2 }],
  ];
  for (const [xShape, cout, k, opts] of convCases) {
    const g = geometry('conv2d', xShape, [cout, xShape[1], k, k], opts);
    for (const pass of ['forward', 'input', 'weight'] as const) {
      for (const kernel of CONV_KERNELS[pass]) {
        it(`conv2d ${pass} kernel '${kernel.name}' in the browser vs f64, x ${xShape.join('×')} → ${cout} ch, stride ${g.stride}`, async (ctx) => {
          const seed = xShape.reduce((a, b) => a * 31 + b, cout);
          const got = await session.page.evaluate(
            (...args) => window.kernels.convVariant(...args),
            pass,
            kernel.name,
            xShape,
            cout,
            k,
            opts,
            seed,
          );
          if (got === null) return ctx.skip(); // not on this adapter (its features): reported as skipped
          const data = convVariantData(g, seed);
          expectClose(got, convVariantReference(pass, g, data), convVariantTolerance(pass, g), `${pass} '${kernel.name}' in the browser`);
        });
      }
    }
  }

  it('reports an unknown op instead of failing silently', async () => {
    const error = await session.page.evaluate(() =>
      window.kernels.run('nope', 1).then(
        () => 'no error',
        (e: Error) => e.message,
      ),
    );
    expect(error).toMatch(/op case nope: unknown; known: relu/);
  });
});
