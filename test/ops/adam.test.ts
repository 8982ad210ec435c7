import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { gatherIntoArena } from '../../src/gpu/arena.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import { Separator } from '../../src/model/separator.ts';
import { Adam, type AdamOptions } from '../../src/ops/adam.ts';
import { mseLossOfPairs } from '../../src/ops/mse.ts';
import { expectClose } from '../helpers/check.ts';
import { useGpu } from '../helpers/gpu.ts';
import { Rng } from '../helpers/rng.ts';

/** f64 reference of one PyTorch Adam/AdamW step (torch.optim.Adam / AdamW, single-tensor path). */
function adamRef(
  w: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  t: number,
  lr: number,
  o: Required<Omit<AdamOptions, 'lr'>>,
): void {
  const bc1 = 1 - o.beta1 ** t;
  const bc2 = 1 - o.beta2 ** t;
  for (let i = 0; i < w.length; i++) {
    let gi = g[i];
    if (o.decoupled) w[i] *= 1 - lr * o.weightDecay;
    else gi += o.weightDecay * w[i];
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * gi;
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
    w[i] -= ((lr / bc1) * m[i]) / (Math.sqrt(v[i]) / Math.sqrt(bc2) + o.eps);
  }
}

// Parameters move by ~lr per step and are rounded to f32 (~6e-8 relative) every step.
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe('adam', () => {
  const gpu = useGpu();
  const rng = new Rng(17);
  // Sizes: one element, odd, one past the 256-wide workgroup, several workgroups, seeded random.
  const shapes = [[1], [7], [257], [3, 5, 17], [2, 3, 10, 10], [rng.int(1, 40), rng.int(1, 40)]];

  const variants: [string, AdamOptions][] = [
    ['Adam', { lr: 1e-2, decoupled: false }],
    ['Adam with L2 weight decay', { lr: 1e-2, weightDecay: 0.1, decoupled: false }],
    ['AdamW', { lr: 1e-2, weightDecay: 0.1 }],
    ['AdamW, other betas and eps', { lr: 3e-3, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.05 }],
  ];

  for (const [name, opts, arena] of variants.flatMap(([n, o]) => [[n, o, false] as const, [n, o, true] as const])) {
    const where = arena ? 'gathered into an arena, one dispatch per step' : 'one dispatch per parameter';
    it(`${name}, ${where}: 5 steps with a decaying lr match the f64 reference (params and state)`, async () => {
      const g = gpu();
      const o = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: true, ...opts };
      const w = shapes.map((s) => Float64Array.from(Float32Array.from(rng.uniform(s.reduce((a, b) => a * b)))));
      const m = w.map((x) => new Float64Array(x.length));
      const v = w.map((x) => new Float64Array(x.length));
      const params = shapes.map((s, i) => g.persistent(s, Float32Array.from(w[i]), `p${i}`));
      if (arena) gatherIntoArena(g, params, 'parameters');
      const adam = new Adam(g, params, opts);
      for (let t = 1; t <= 5; t++) {
        const lr = opts.lr * 0.7 ** (t - 1);
        // Gradients of mixed scales, with exact zeros, as a network produces.
        const grads = w.map((x) =>
          Float64Array.from(Float32Array.from(rng.normal(x.length, 10 ** rng.int(-3, 0)).map((e, i) => (i % 5 === 0 ? 0 : e)))),
        );
        params.forEach((p, i) => {
          p.grad = g.persistent(p.shape, Float32Array.from(grads[i]));
        });
        const before = g.dispatchCount;
        adam.step(lr);
        expect(g.dispatchCount - before).toBe(arena ? 1 : params.length);
        g.endStep(); // step() only encodes; the gradients may go once the step is submitted
        w.forEach((x, i) => {
          adamRef(x, grads[i], m[i], v[i], t, lr, o);
        });
        for (const p of params) p.grad!.buffer.destroy();
      }
      expect(adam.stepCount).toBe(5);
      const state = adam.state();
      for (let i = 0; i < params.length; i++) {
        expectClose(await params[i].read(), w[i], TOL, `${name} param ${shapes[i]}`);
        expectClose(await state[2 * i].read(), m[i], TOL, `${name} m ${shapes[i]}`);
        expectClose(await state[2 * i + 1].read(), v[i], { atol: 1e-9, rtol: 1e-5 }, `${name} v ${shapes[i]}`);
      }
      adam.destroy();
      for (const p of params) p.buffer.destroy();
    });
  }

  it('over some tensors of an arena, updates those and leaves the others as they were', async () => {
    const g = gpu();
    const [a, b, c] = [[3], [300], [5]].map((s, i) => g.persistent(s, Float32Array.from(rng.uniform(s[0])), `t${i}`));
    gatherIntoArena(g, [a, b, c], 'arena');
    const untouched = await b.read();
    const adam = new Adam(g, [a, c], { lr: 0.1, weightDecay: 0.5 });
    for (const p of [a, c]) p.grad = g.persistent(p.shape, new Float32Array(p.size).fill(1));
    const before = g.dispatchCount;
    const [a0, c0] = await Promise.all([a.read(), c.read()]);
    adam.step();
    // a and c are not neighbours in the arena: a span each.
    expect(g.dispatchCount - before).toBe(2);
    expect(await b.read()).toEqual(untouched);
    // Step 1 with gradient 1: w·(1 − lr·wd) − lr·1/(1 + eps).
    expectClose(
      await a.read(),
      Array.from(a0, (w) => w * 0.95 - 0.1),
      TOL,
      'a',
    );
    expectClose(
      await c.read(),
      Array.from(c0, (w) => w * 0.95 - 0.1),
      TOL,
      'c',
    );
    adam.destroy();
    a.destroy();
  });

  it('over an arena, gives each parameter a gradient slot that backward writes into, with the gradients it would make anyway', async () => {
    const g = gpu();
    const config = { width: 2, depth: 2, upsample: 'nearest' as const, output: 'share' as const };
    const [model, plain] = [new Separator(g, config, 5), new Separator(g, config, 5)];
    gatherIntoArena(g, model.parameters(), 'parameters');
    const adam = new Adam(g, model.parameters(), { lr: 1e-3 });
    const tensor = (shape: number[]) =>
      g.persistent(
        shape,
        Float32Array.from(
          rng.uniform(
            shape.reduce((a, b) => a * b),
            0,
            1,
          ),
        ),
      );
    const [mixture, digit, item] = [tensor([2, 1, 32, 32]), tensor([2, 1, 32, 32]), tensor([2, 1, 32, 32])];
    for (const m of [model, plain]) {
      const pred = m.forward(mixture, true);
      backward(mseLossOfPairs([pred.digit, digit], [pred.item, item]));
    }
    const slotted = model.parameters();
    expect(slotted.every((p) => p.grad !== null && p.grad === p.gradSlot)).toBe(true);
    const [got, want] = await Promise.all([slotted, plain.parameters()].map((ps) => Promise.all(ps.map((p) => p.grad!.read()))));
    got.forEach((grad, i) => {
      expect(grad, `gradient of ${model.namedParameters()[i][0]}`).toEqual(want[i]);
    });
    g.endStep();
    adam.destroy();
    expect(slotted.every((p) => p.gradSlot === null)).toBe(true);
    model.destroy();
    plain.destroy();
    for (const t of [mixture, digit, item]) t.destroy();
  });

  it('setStepCount continues the bias correction of a restored run', async () => {
    const g = gpu();
    const w = Float64Array.of(0.5, -0.25, 1);
    const grad = Float64Array.of(0.1, -0.2, 0.3);
    const p = g.persistent([3], Float32Array.from(w));
    const adam = new Adam(g, [p], { lr: 0.1 });
    adam.setStepCount(10);
    p.grad = g.persistent([3], Float32Array.from(grad));
    adam.step();
    adamRef(w, grad, new Float64Array(3), new Float64Array(3), 11, 0.1, {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      decoupled: true,
    });
    expectClose(await p.read(), w, TOL, 'param after step 11');
    expect(adam.stepCount).toBe(11);
    expect(() => adam.setStepCount(-1)).toThrow(/Adam.setStepCount: step count must be a non-negative integer, got -1/);
  });

  it('rejects a parameter without a gradient, naming it, before dispatching', () => {
    const g = gpu();
    const a = g.persistent([4], undefined, 'enc1.weight');
    const b = g.persistent([2, 3], undefined, 'enc1.bias');
    a.grad = g.persistent([4]);
    const adam = new Adam(g, [a, b], { lr: 1e-3 });
    const before = g.dispatchCount;
    expect(() => adam.step()).toThrow(/Adam.step: parameter 2 of 2 \('enc1.bias', shape \[2, 3\]\) has no gradient/);
    expect(g.dispatchCount).toBe(before);
    expect(adam.stepCount).toBe(0);
  });

  it('rejects bad options and transient or repeated parameters', () => {
    const g: Gpu = gpu();
    const a: Tensor = g.persistent([4], undefined, 'w');
    expect(() => new Adam(g, [a], { lr: -1 })).toThrow(/Adam: learning rate must be a finite number >= 0, got -1/);
    expect(() => new Adam(g, [a], { lr: 1e-3, beta2: 1 })).toThrow(/Adam: need 0 <= beta1, beta2 < 1, .*; got beta1 0.9, beta2 1,/);
    expect(() => new Adam(g, [a, a], { lr: 1e-3 })).toThrow(/Adam: parameter 2 of 2 \('w', shape \[4\]\) is listed twice/);
    expect(() => new Adam(g, [g.empty([4])], { lr: 1e-3 })).toThrow(/parameter 1 of 1 .* is a transient tensor/);
    g.endStep();
  });
});
