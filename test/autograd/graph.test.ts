import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { relu, sigmoid } from '../../src/ops/activations.ts';
import { add } from '../../src/ops/add.ts';
import { maxPool2d } from '../../src/ops/maxpool2d.ts';
import { upsample2x } from '../../src/ops/upsample2d.ts';
import { useGpu } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

describe('autograd graph', () => {
  const gpu = useGpu();
  const rng = new Rng(3);

  it('sums gradients where one tensor feeds several ops (diamond: relu(x) + sigmoid(x))', async () => {
    const shape = [2, 3, 4, 5];
    const data = rng.uniform(120, -2, 2).map((v) => (Math.abs(v) < 0.05 ? 0.3 : v));
    await checkOp(gpu(), {
      what: 'relu(x) + sigmoid(x)',
      inputs: [{ name: 'x', shape, data }],
      reference: ([x]) => x.map((v) => Math.max(v, 0) + 1 / (1 + Math.exp(-v))),
      run: ([x]) => add(relu(x), sigmoid(x)),
    });
  });

  it('runs each backward rule once, after every consumer of its output (deep chain with a skip)', async () => {
    // y = h + relu(relu(h)) with h = sigmoid(x): h's gradient must be complete before its rule runs.
    const shape = [1, 2, 3, 3];
    await checkOp(gpu(), {
      what: 'skip over a chain',
      inputs: [{ name: 'x', shape, data: rng.uniform(18, -2, 2) }],
      reference: ([x]) =>
        x.map((v) => {
          const h = 1 / (1 + Math.exp(-v));
          return h + h;
        }),
      run: ([x]) => {
        const h = sigmoid(x);
        return add(h, relu(relu(h)));
      },
    });
  });

  it('records no backward rule for an op whose inputs need no gradient (max-pool, upsample: one input each)', () => {
    const g = gpu();
    // Inputs [2,3,8,8] and [2,3,4,4]; the op's input is the one that needs no gradient.
    const shapes = [
      [2, 3, 8, 8],
      [2, 3, 4, 4],
    ];
    for (const [op, run, needs] of [
      ['maxpool2d', ([x, b]: Tensor[]) => add(maxPool2d(x), b), [false, true]],
      ['upsample2x', ([b, x]: Tensor[]) => add(b, upsample2x(x)), [true, false]],
    ] as const) {
      // add passes dy on without a kernel: only the pool's or upsampling's backward dispatches.
      expect(backwardDispatches(g, shapes, [true, true], run), op).toEqual({ dispatches: 1, gradients: [true, true] });
      expect(backwardDispatches(g, shapes, [...needs], run), op).toEqual({ dispatches: 0, gradients: needs });
    }
  });

  it('refuses a non-scalar root without a seed, and a root that needs no gradient', () => {
    const g = gpu();
    const x = g.persistent([2], [1, 2]);
    expect(() => backward(relu(x))).toThrow(/does not depend on any tensor that requires grad/);
    x.requiresGrad = true;
    expect(() => backward(relu(x))).toThrow(/is not a scalar; pass the gradient to start from as seed/);
    g.endStep();
  });
});
