import { describe, expect, it } from 'vitest';
import { backward } from '../../src/autograd/graph.ts';
import { type PaddedLayout, paddedCopy } from '../../src/autograd/padded-copies.ts';
import { type Gpu, reductionWorkgroup } from '../../src/gpu/gpu.ts';
import { sizeOf, type Tensor } from '../../src/gpu/tensor.ts';
import { reluBackward, reluForward } from '../../src/ops/activations.ts';
import { type BatchNormState, batchNorm2d, batchNorm2dBackward, batchNorm2dForward } from '../../src/ops/batchnorm2d.ts';
import { expectClose, F32 } from '../helpers/check.ts';
import { useGpu, withSubgroupSize } from '../helpers/gpu.ts';
import { backwardDispatches, checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

const EPS = 1e-5;

/** Per-channel mean and biased variance of x [N,C,H,W], in f64. */
function channelStats(x: ArrayLike<number>, [n, c, h, w]: number[]): { mean: Float64Array; variance: Float64Array } {
  const m = n * h * w;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    for (let s = 0; s < n; s++) for (let k = 0; k < h * w; k++) mean[ch] += x[(s * c + ch) * h * w + k];
    mean[ch] /= m;
    for (let s = 0; s < n; s++) for (let k = 0; k < h * w; k++) variance[ch] += (x[(s * c + ch) * h * w + k] - mean[ch]) ** 2;
    variance[ch] /= m;
  }
  return { mean, variance };
}

/** f64 reference: y = gamma (x - mean) / sqrt(var + eps) + beta, with the batch's statistics
 * (training) or the given running ones (eval). */
function batchNormRef(shape: number[], running?: { mean: Float64Array; variance: Float64Array }) {
  const [, c, h, w] = shape;
  return ([x, gamma, beta]: Float64Array[]) => {
    const { mean, variance } = running ?? channelStats(x, shape);
    return x.map((v, i) => {
      const ch = Math.floor(i / (h * w)) % c;
      return (gamma[ch] * (v - mean[ch])) / Math.sqrt(variance[ch] + EPS) + beta[ch];
    });
  };
}

function newState(gpu: Gpu, mean: ArrayLike<number>, variance: ArrayLike<number>): BatchNormState {
  return {
    runningMean: gpu.persistent([mean.length], Float32Array.from(mean)),
    runningVar: gpu.persistent([variance.length], Float32Array.from(variance)),
  };
}

describe('batchnorm2d', () => {
  const gpu = useGpu();
  const rng = new Rng(21);
  // Batch 1, odd sizes, channels of more than 256 values (one workgroup's invocations each add
  // several), H·W past the 64-wide element-wise workgroups, N past 16 samples per invocation, H·W
  // a multiple of 4 (vec4 element-wise kernels) or not, random shapes.
  const shapes = [
    [1, 3, 4, 5],
    [2, 4, 3, 3],
    [3, 2, 7, 5],
    [1, 1, 16, 17],
    [4, 3, 9, 9],
    [17, 2, 3, 3],
    [17, 2, 2, 6],
    [2, 2, 20, 20],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 5), rng.int(2, 9), rng.int(2, 9)]),
  ];

  for (const training of [true, false]) {
    for (const shape of shapes) {
      const c = shape[1];
      it(`${training ? 'training' : 'eval'} ${shape.join('×')}: forward and gradients to x, gamma, beta`, async () => {
        const running = { mean: rng.uniform(c, -0.5, 0.5), variance: rng.uniform(c, 0.5, 2) };
        const state = newState(gpu(), running.mean, running.variance);
        await checkOp(gpu(), {
          what: `batchnorm2d ${training ? 'training' : 'eval'} ${shape}`,
          inputs: [
            { name: 'x', shape, data: rng.uniform(sizeOf(shape), -2, 2) },
            { name: 'gamma', shape: [c], data: rng.uniform(c, 0.5, 1.5) },
            { name: 'beta', shape: [c], data: rng.uniform(c) },
          ],
          reference: batchNormRef(shape, training ? undefined : running),
          run: ([x, gamma, beta]) => batchNorm2d(x, gamma, beta, state, { training }),
        });
        state.runningMean.buffer.destroy();
        state.runningVar.buffer.destroy();
      });
    }
  }

  // The training kernels run one subgroup per workgroup where the adapter says its size
  // (reductionWorkgroup): SwiftShader's 4 lanes, lavapipe's 8, and 64 where no size is known, each
  // checked here on one device through a Gpu that reports that size.
  for (const [subgroup, lanes] of [
    [4, 4],
    [8, 8],
    [0, 64],
  ]) {
    const shape = [5, 3, 6, 4];
    it(`training ${shape.join('×')} at ${lanes} lanes per workgroup: forward and gradients`, async () => {
      const g = withSubgroupSize(gpu(), subgroup);
      expect(reductionWorkgroup(g.info)).toBe(lanes);
      const state = newState(g, [0, 0, 0], [1, 1, 1]);
      await checkOp(g, {
        what: `batchnorm2d training ${shape}, subgroup ${subgroup}`,
        inputs: [
          { name: 'x', shape, data: rng.uniform(sizeOf(shape), -2, 2) },
          { name: 'gamma', shape: [3], data: rng.uniform(3, 0.5, 1.5) },
          { name: 'beta', shape: [3], data: rng.uniform(3) },
        ],
        reference: batchNormRef(shape),
        run: ([x, gamma, beta]) => batchNorm2d(x, gamma, beta, state, { training: true }),
      });
      state.runningMean.buffer.destroy();
      state.runningVar.buffer.destroy();
    });
  }

  // Only x, or only gamma and beta, needing a gradient: the others get none, the wanted ones stay right.
  for (const [training, needX] of [
    [true, false],
    [false, true],
    [true, true],
  ]) {
    const shape = [3, 2, 4, 4];
    const c = shape[1];
    it(`${training ? 'training' : 'eval'} ${shape.join('×')}: gradients to ${needX ? 'x only' : 'gamma and beta only'}`, async () => {
      const running = { mean: rng.uniform(c, -0.5, 0.5), variance: rng.uniform(c, 0.5, 2) };
      const state = newState(gpu(), running.mean, running.variance);
      await checkOp(gpu(), {
        what: `batchnorm2d ${training ? 'training' : 'eval'} ${shape}, ${needX ? 'x' : 'parameters'} only`,
        inputs: [
          { name: 'x', shape, data: rng.uniform(sizeOf(shape), -2, 2), grad: needX },
          { name: 'gamma', shape: [c], data: rng.uniform(c, 0.5, 1.5), grad: !needX },
          { name: 'beta', shape: [c], data: rng.uniform(c), grad: !needX },
        ],
        reference: batchNormRef(shape, training ? undefined : running),
        run: ([x, gamma, beta]) => batchNorm2d(x, gamma, beta, state, { training }),
      });
      state.runningMean.buffer.destroy();
      state.runningVar.buffer.destroy();
    });
  }

  it('dispatches only the passes the wanted gradients need', () => {
    const g = gpu();
    const shape = [2, 3, 4, 4];
    const shapes = [shape, [3], [3]];
    const count = (training: boolean, relu: boolean, needs: boolean[]) => {
      const state = newState(g, [0, 0, 0], [1, 1, 1]);
      const run = ([x, gamma, beta]: Tensor[]) => batchNorm2d(x, gamma, beta, state, { training, relu });
      const result = backwardDispatches(g, shapes, needs, run);
      state.runningMean.buffer.destroy();
      state.runningVar.buffer.destroy();
      return result;
    };
    // Training: grad, one pass per channel for dgamma, dbeta and dx (whose mean terms need the sums).
    expect(count(true, false, [true, true, true])).toEqual({ dispatches: 1, gradients: [true, true, true] });
    expect(count(true, false, [false, true, true])).toEqual({ dispatches: 1, gradients: [false, true, true] });
    expect(count(true, true, [false, true, false])).toEqual({ dispatches: 1, gradients: [false, true, false] });
    expect(count(true, false, [true, false, false])).toEqual({ dispatches: 1, gradients: [true, false, false] });
    // Eval mode: dx alone needs no sums (input_grad), with or without the ReLU's mask; with the
    // parameters, grad writes dx too.
    expect(count(false, false, [true, false, false])).toEqual({ dispatches: 1, gradients: [true, false, false] });
    expect(count(false, true, [true, false, false])).toEqual({ dispatches: 1, gradients: [true, false, false] });
    expect(count(false, true, [true, true, true])).toEqual({ dispatches: 1, gradients: [true, true, true] });
    expect(count(false, true, [false, true, true])).toEqual({ dispatches: 1, gradients: [false, true, true] });
  });

  // The fused ReLU against the two ops it replaces, both checked above and in activations.test.ts:
  // the same values, the same gradients, including where the output is clamped.
  for (const training of [true, false]) {
    for (const shape of [
      [2, 3, 5, 7],
      [3, 4, 8, 8],
    ]) {
      it(`${training ? 'training' : 'eval'} ${shape.join('×')}: ReLU fused into batch norm equals relu(batch norm), forward and gradients`, async () => {
        const g = gpu();
        const c = shape[1];
        const tensor = (shape: number[], lo = -1, hi = 1) => g.persistent(shape, Float32Array.from(rng.uniform(sizeOf(shape), lo, hi)));
        const [x, gamma, beta, dy] = [tensor(shape, -2, 2), tensor([c], 0.5, 1.5), tensor([c], -0.3, 0.3), tensor(shape)];
        const running = { mean: rng.uniform(c, -0.5, 0.5), variance: rng.uniform(c, 0.5, 2) };
        const [stateFused, statePlain] = [newState(g, running.mean, running.variance), newState(g, running.mean, running.variance)];
        const fused = batchNorm2dForward(x, gamma, beta, stateFused, { training, relu: true });
        const fusedGrads = batchNorm2dBackward(x, dy, fused, training, fused.y);
        const plain = batchNorm2dForward(x, gamma, beta, statePlain, { training });
        const plainGrads = batchNorm2dBackward(x, reluBackward(plain.y, dy), plain, training);
        const [y, yRef, dx, dxRef, dgamma, dgammaRef, dbeta, dbetaRef] = await Promise.all(
          [
            fused.y,
            reluForward(plain.y),
            fusedGrads.dx,
            plainGrads.dx,
            fusedGrads.dgamma,
            plainGrads.dgamma,
            fusedGrads.dbeta,
            plainGrads.dbeta,
          ].map((t) => t!.read()),
        );
        g.endStep();
        const zeros = y.filter((v) => v === 0).length;
        expect(zeros).toBeGreaterThan(0.2 * y.length);
        expect(zeros).toBeLessThan(0.8 * y.length);
        const tol = { atol: 1e-6, rtol: 1e-5 };
        expectClose(y, Float64Array.from(yRef), tol, 'output');
        expectClose(dx, Float64Array.from(dxRef), tol, 'dx');
        expectClose(dgamma, Float64Array.from(dgammaRef), tol, 'dgamma');
        expectClose(dbeta, Float64Array.from(dbetaRef), tol, 'dbeta');
        for (const t of [x, gamma, beta, dy, stateFused.runningMean, stateFused.runningVar, statePlain.runningMean, statePlain.runningVar])
          t.buffer.destroy();
      });
    }
  }

  // The conv after a batch norm reads y zero-padded, the conv before it dx (packed kernels):
  // train_forward and grad write those copies in their own dispatches, walking padded rows, where
  // the layout holds whole rows of whole vec4s. Layouts as conv2d's packed input pass makes them (a
  // 3×3 border), rows over more than one workgroup's invocations, each offset of the rows within
  // their cells (left % 4 = 0 … 3) and a wider border.
  const layouts: [number[], boolean, PaddedLayout][] = [
    [[2, 3, 8, 8], true, { ph: 10, pw: 12, top: 1, left: 1, dilation: 1 }],
    [[5, 2, 16, 16], false, { ph: 18, pw: 20, top: 1, left: 1, dilation: 1 }],
    [[1, 2, 4, 8], true, { ph: 9, pw: 16, top: 3, left: 4, dilation: 1 }],
    [[3, 2, 4, 4], true, { ph: 6, pw: 12, top: 0, left: 6, dilation: 1 }],
    [[2, 1, 2, 8], false, { ph: 4, pw: 12, top: 2, left: 3, dilation: 1 }],
  ];
  // Layouts it leaves to the conv's own padding pass (no copy recorded): rows not of whole vec4s, a
  // stride-2 conv's dilation, a cropped top (padding > K - 1).
  const unwritten: [number[], boolean, PaddedLayout][] = [
    [[2, 3, 5, 7], true, { ph: 7, pw: 12, top: 1, left: 1, dilation: 1 }],
    [[3, 4, 8, 8], false, { ph: 17, pw: 20, top: 1, left: 1, dilation: 2 }],
    [[2, 2, 6, 8], true, { ph: 5, pw: 12, top: -1, left: 2, dilation: 1 }],
  ];
  /** t [N, C, H, W] padded as `layout` on the CPU. */
  const padRef = (t: Float32Array, [n, c, h, w]: number[], layout: PaddedLayout) => {
    const out = new Float32Array(n * c * layout.ph * layout.pw);
    for (let plane = 0; plane < n * c; plane++)
      for (let py = 0; py < layout.ph; py++)
        for (let px = 0; px < layout.pw; px++) {
          const [sy, sx] = [py - layout.top, px - layout.left];
          if (sy < 0 || sx < 0 || sy >= h || sx >= w) continue;
          out[(plane * layout.ph + py) * layout.pw + px] = t[(plane * h + sy) * w + sx];
        }
    return out;
  };
  /** batch norm forward with padOutput and backward with dxLayout `layout`, one dispatch each: y, dx
   * and what each wrote padded. */
  const runPadded = async (shape: number[], relu: boolean, layout: PaddedLayout) => {
    const g = gpu();
    const c = shape[1];
    const tensor = (shape: number[], lo = -1, hi = 1) => g.persistent(shape, Float32Array.from(rng.uniform(sizeOf(shape), lo, hi)));
    const [x, gamma, beta, dy] = [tensor(shape, -2, 2), tensor([c], 0.5, 1.5), tensor([c], -0.3, 0.3), tensor(shape)];
    const state = newState(g, new Float32Array(c), new Float32Array(c).fill(1));
    let before = g.dispatchCount;
    const y = batchNorm2d(x, gamma, beta, state, { training: true, relu, padOutput: layout });
    const saved = batchNorm2dForward(x, gamma, beta, state, { training: true, relu });
    expect(g.dispatchCount - before).toBe(2);
    before = g.dispatchCount;
    const grads = batchNorm2dBackward(x, dy, saved, true, relu ? saved.y : undefined, undefined, undefined, layout);
    expect(g.dispatchCount - before).toBe(1);
    const yPadded = paddedCopy(y, layout) ?? null;
    const [yv, dx, yp, dxp] = await Promise.all([y, grads.dx!, yPadded, grads.dxPadded].map((t) => t?.read() ?? null));
    g.endStep();
    for (const t of [x, gamma, beta, dy, state.runningMean, state.runningVar]) t.destroy();
    return { y: yv!, dx: dx!, yPadded, yp, dxPadded: grads.dxPadded, dxp };
  };
  for (const [shape, relu, layout] of layouts) {
    it(`training ${shape.join('×')}${relu ? ' with ReLU' : ''}: train_forward and grad also write y and dx padded as ${JSON.stringify(layout)}, one dispatch each`, async () => {
      const [n, c] = shape;
      const { y, dx, yPadded, yp, dxPadded, dxp } = await runPadded(shape, relu, layout);
      expect(yPadded?.shape).toEqual([n, c, layout.ph, layout.pw]);
      expect(dxPadded?.shape).toEqual([n, c, layout.ph, layout.pw]);
      expect(yp).toEqual(padRef(y, shape, layout));
      expect(dxp).toEqual(padRef(dx, shape, layout));
    });
  }
  for (const [shape, relu, layout] of unwritten) {
    it(`training ${shape.join('×')}: no padded copy as ${JSON.stringify(layout)}, which the conv pads itself`, async () => {
      const { yPadded, dxPadded } = await runPadded(shape, relu, layout);
      expect(yPadded).toBeNull();
      expect(dxPadded).toBeNull();
    });
  }

  it('training updates the running statistics like PyTorch (unbiased variance), step after step', async () => {
    const g = gpu();
    const shape = [3, 2, 5, 3];
    const momentum = 0.3;
    const mean = Float64Array.of(0.5, -1);
    const variance = Float64Array.of(2, 0.25);
    const state = newState(g, mean, variance);
    const gamma = g.persistent([2], [1, 1]);
    const beta = g.persistent([2], [0, 0]);
    for (let step = 0; step < 2; step++) {
      const x = Float32Array.from(rng.uniform(sizeOf(shape), -3, 5));
      batchNorm2d(g.persistent(shape, x), gamma, beta, state, { training: true, momentum });
      const batch = channelStats(x, shape);
      const m = 3 * 5 * 3;
      for (let ch = 0; ch < 2; ch++) {
        mean[ch] = (1 - momentum) * mean[ch] + momentum * batch.mean[ch];
        variance[ch] = (1 - momentum) * variance[ch] + (momentum * batch.variance[ch] * m) / (m - 1);
      }
      expectClose(await state.runningMean.read(), mean, F32, `running mean after step ${step + 1}`);
      expectClose(await state.runningVar.read(), variance, F32, `running var after step ${step + 1}`);
      g.endStep();
    }
    expect(await state.runningMean.read()).not.toEqual(Float32Array.of(0.5, -1));
  });

  it('eval mode leaves the running statistics unchanged', async () => {
    const g = gpu();
    const state = newState(g, [0.25, -0.5], [1.5, 0.75]);
    batchNorm2d(
      g.persistent([2, 2, 3, 3], Float32Array.from(rng.uniform(36))),
      g.persistent([2], [1, 1]),
      g.persistent([2], [0, 0]),
      state,
      { training: false },
    );
    expect([...(await state.runningMean.read())]).toEqual([0.25, -0.5]);
    expect([...(await state.runningVar.read())]).toEqual([1.5, 0.75]);
    g.endStep();
  });

  // The largest reduction the network does: 256·32·32 values per channel, offset far from zero so
  // that a one-pass variance (E[x²] - E[x]²) would lose most of its digits in f32.
  it('is accurate on channels of 256×32×32 values with mean 20 and std 0.5 (forward and backward vs f64)', async () => {
    const g = gpu();
    const shape = [256, 2, 32, 32];
    const [n, c, h, w] = shape;
    const m = n * h * w;
    const x = Float32Array.from(rng.normal(sizeOf(shape), 0.5).map((v) => v + 20));
    const dy = Float32Array.from(rng.uniform(sizeOf(shape)));
    const gammaData = [1.5, -0.75];
    const xt = g.persistent(shape, x);
    xt.requiresGrad = true;
    const gamma = g.persistent([c], gammaData);
    gamma.requiresGrad = true;
    const beta = g.persistent([c], [0.1, 0.2]);
    beta.requiresGrad = true;
    const y = batchNorm2d(xt, gamma, beta, newState(g, [0, 0], [1, 1]), { training: true });
    backward(y, g.persistent(shape, dy));

    // f64 reference of the forward and of the analytic backward.
    const { mean, variance } = channelStats(x, shape);
    const yRef = batchNormRef(shape)([Float64Array.from(x), Float64Array.from(gammaData), Float64Array.of(0.1, 0.2)]);
    const dgamma = new Float64Array(c);
    const dbeta = new Float64Array(c);
    const xhat = (i: number, ch: number) => (x[i] - mean[ch]) / Math.sqrt(variance[ch] + EPS);
    const channel = (i: number) => Math.floor(i / (h * w)) % c;
    for (let i = 0; i < x.length; i++) {
      dgamma[channel(i)] += dy[i] * xhat(i, channel(i));
      dbeta[channel(i)] += dy[i];
    }
    const dxRef = Float64Array.from(x, (_, i) => {
      const ch = channel(i);
      return (gammaData[ch] / Math.sqrt(variance[ch] + EPS)) * (dy[i] - (dbeta[ch] + xhat(i, ch) * dgamma[ch]) / m);
    });
    expectClose(await y.read(), yRef, { atol: 1e-4, rtol: 1e-4 }, 'y');
    // dgamma and dbeta sum 262144 terms of size ~1: relative accuracy is what f32 sums can keep.
    expectClose(await gamma.grad!.read(), dgamma, { atol: 0, rtol: 1e-4 }, 'dgamma');
    expectClose(await beta.grad!.read(), dbeta, { atol: 0, rtol: 1e-4 }, 'dbeta');
    expectClose(await xt.grad!.read(), dxRef, { atol: 1e-5, rtol: 1e-3 }, 'dx');
    g.endStep();
  });

  it('rejects bad shapes and one-value channels in training before dispatching', () => {
    const g = gpu();
    const before = g.dispatchCount;
    const x = g.persistent([2, 3, 4, 4]);
    const c3 = () => g.persistent([3]);
    const state = { runningMean: c3(), runningVar: c3() };
    expect(() => batchNorm2d(x, g.persistent([4]), c3(), state, { training: true })).toThrow(
      /batchnorm2d: gamma must have shape \[3\], got \[4\]/,
    );
    expect(() => batchNorm2d(x, c3(), c3(), { runningMean: c3(), runningVar: g.persistent([2]) }, { training: false })).toThrow(
      /batchnorm2d: runningVar must have shape \[3\], got \[2\]/,
    );
    expect(() => batchNorm2d(g.persistent([3, 4, 4]), c3(), c3(), state, { training: true })).toThrow(
      /batchnorm2d: x must have rank 4 \(N, C, H, W\), got shape \[3, 4, 4\]/,
    );
    expect(() => batchNorm2d(g.persistent([1, 3, 1, 1]), c3(), c3(), state, { training: true })).toThrow(
      /batchnorm2d: training needs more than one value per channel .* x \[1, 3, 1, 1\]/,
    );
    expect(() => batchNorm2d(x, c3(), c3(), state, { training: true, momentum: 1.5 })).toThrow(
      /batchnorm2d: momentum must lie in \[0, 1\] and eps be > 0, got momentum 1.5/,
    );
    const layout = { ph: 6, pw: 6, top: 1, left: 1, dilation: 1 };
    expect(() => batchNorm2dBackward(x, x, { stats: g.persistent([4, 3]) }, true, undefined, undefined, undefined, layout)).toThrow(
      /batchnorm2d backward: padded dx of \[2, 3, 4, 4\] needs .*pw \(a multiple of 4\).*"pw":6/,
    );
    expect(g.dispatchCount).toBe(before);
  });
});
