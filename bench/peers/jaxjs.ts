// The benchmark network's training step in jax-js on its WebGPU device: NCHW like unmix, the whole
// step (batch mixing, forward, loss, backward, Adam, running statistics) inside one jit. jax-js's
// optimizer package is not on npm, so Adam is written here with jax-js ops.
import type * as JAX from '@jax-js/jax';
import type { Array as JaxArray } from '@jax-js/jax';
import { countBufferBytes } from '../gpu-memory.ts';
import {
  ADAM_EPS,
  BETA1,
  BETA2,
  BLOCKS,
  BN_EPS,
  BN_MOMENTUM,
  HEAD_IN,
  IMAGE,
  LR,
  PARAMETERS,
  POOL_BATCHES,
  type StepRun,
  stepResult,
  type TrainStepResult,
} from './bench-net.ts';

type Jax = typeof JAX;
type Conv = { w: JaxArray; b: JaxArray };
type Bn = { gamma: JaxArray; beta: JaxArray };
type BlockParams = { conv1: Conv; bn1: Bn; conv2: Conv; bn2: Bn };
type Params = { blocks: BlockParams[]; heads: Conv[] };
/** Running mean and variance of each batch norm, in forward order. */
type Running = { mean: JaxArray; variance: JaxArray }[];
type State = { params: Params; m: Params; v: Params; t: JaxArray; running: Running; counter: JaxArray };
type Pools = { digits: JaxArray; items: JaxArray };
/** One batch norm's batch mean and (biased) variance. */
type BatchStats = { mean: JaxArray; variance: JaxArray };

/** Loads jax-js and makes WebGPU its default device; navigator.gpu must exist first (in Node: Dawn). */
export async function loadJax(): Promise<Jax> {
  const jax = await import('@jax-js/jax');
  const devices = await jax.init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js: the webgpu device did not initialise (is navigator.gpu set?)');
  jax.defaultDevice('webgpu');
  return jax;
}

export async function benchJax(jax: Jax, opts: StepRun): Promise<TrainStepResult> {
  const { numpy: np, lax, nn, random, tree } = jax;
  const liveBytes = countBufferBytes(jax.getWebGPUDevice());
  const n = opts.batch;
  const pool = POOL_BATCHES * n;

  let seed = 0;
  const nextKey = () => random.key(seed++);
  const heInit = (shape: number[], fanIn: number) => random.normal(nextKey(), shape).mul(Math.sqrt(2 / fanIn));
  const conv = (cin: number, cout: number, k: number): Conv => ({ w: heInit([cout, cin, k, k], cin * k * k), b: np.zeros([cout]) });
  const bn = (c: number): Bn => ({ gamma: np.ones([c]), beta: np.zeros([c]) });
  const params: Params = {
    blocks: BLOCKS.map((b) => ({ conv1: conv(b.cin, b.cout, 3), bn1: bn(b.cout), conv2: conv(b.cout, b.cout, 3), bn2: bn(b.cout) })),
    heads: [conv(HEAD_IN, 1, 1), conv(HEAD_IN, 1, 1)],
  };
  const count = tree.leaves(params).reduce((s, a) => s + a.size, 0);
  if (count !== PARAMETERS) throw new Error(`jax-js bench net has ${count} parameters, BENCH_NET.md says ${PARAMETERS}`);
  const zerosLike = (p: Params) => tree.map((a: JaxArray) => np.zeros(a.shape), p) as Params;
  let state: State = {
    params,
    m: zerosLike(params),
    v: zerosLike(params),
    t: np.array(0),
    running: BLOCKS.flatMap((b) => [b.cout, b.cout]).map((c) => ({ mean: np.zeros([c]), variance: np.ones([c]) })),
    counter: np.array(0, { dtype: np.int32 }),
  };
  const pools: Pools = {
    digits: random.uniform(nextKey(), [pool, 1, IMAGE, IMAGE]),
    items: random.uniform(nextKey(), [pool, 1, IMAGE, IMAGE]),
  };

  // ---- the model; every function consumes its arguments (jax-js's ownership rule), .ref keeps one
  const channel = (a: JaxArray) => a.reshape([1, a.shape[0], 1, 1]);
  const convBias = (x: JaxArray, c: Conv, padding: 'SAME' | 'VALID') => lax.conv(x, c.w, [1, 1], padding).add(channel(c.b));
  /** Batch norm with batch statistics; hands them (gradient-free) to the running update. */
  const batchNorm = (x: JaxArray, p: Bn, stats: BatchStats[]) => {
    const mean = np.mean(x.ref, [0, 2, 3], { keepdims: true });
    const centered = x.sub(mean.ref);
    const variance = np.mean(np.square(centered.ref), [0, 2, 3], { keepdims: true });
    const y = centered.mul(np.reciprocal(np.sqrt(variance.ref.add(BN_EPS))));
    stats.push({ mean: lax.stopGradient(mean.reshape([-1])), variance: lax.stopGradient(variance.reshape([-1])) });
    return y.mul(channel(p.gamma)).add(channel(p.beta));
  };
  const block = (x: JaxArray, p: BlockParams, stats: BatchStats[]) => {
    const h = nn.relu(batchNorm(convBias(x, p.conv1, 'SAME'), p.bn1, stats));
    return nn.relu(batchNorm(convBias(h, p.conv2, 'SAME'), p.bn2, stats));
  };
  const maxPool = (x: JaxArray) => {
    const [b, c, h, w] = x.shape;
    return np.max(x.reshape([b, c, h / 2, 2, w / 2, 2]), [3, 5]);
  };
  const upsampleNearest = (x: JaxArray) => {
    const [b, c, h, w] = x.shape;
    return np.broadcastTo(x.reshape([b, c, h, 1, w, 1]), [b, c, h, 2, w, 2]).reshape([b, c, 2 * h, 2 * w]);
  };
  const loss = (p: Params, mixture: JaxArray, digits: JaxArray, items: JaxArray): [JaxArray, JAX.JsTree<JaxArray>] => {
    const stats: BatchStats[] = [];
    const [enc1, enc2, mid, dec2, dec1] = p.blocks; // BLOCKS' order
    const e1 = block(mixture, enc1, stats);
    const e2 = block(maxPool(e1.ref), enc2, stats);
    const m = block(maxPool(e2.ref), mid, stats);
    const d2 = block(np.concatenate([upsampleNearest(m), e2], 1), dec2, stats);
    const d1 = block(np.concatenate([upsampleNearest(d2), e1], 1), dec1, stats);
    const [hd, hi] = p.heads;
    const digit = nn.sigmoid(convBias(d1.ref, hd, 'VALID'));
    const item = nn.sigmoid(convBias(d1, hi, 'VALID'));
    const mse = (a: JaxArray, b: JaxArray) => np.mean(np.square(a.sub(b)));
    return [mse(digit, digits).add(mse(item, items)).mul(0.5), stats];
  };

  // Values per channel of each batch norm (two per block), for the unbiased running variance.
  const sizes = [IMAGE, IMAGE / 2, IMAGE / 4, IMAGE / 2, IMAGE]; // BLOCKS' resolutions
  const bnCounts = sizes.flatMap((s) => [n * s * s, n * s * s]);

  const trainStep = jax.jit((s: State, pl: Pools): [State, JaxArray] => {
    // The batch: gathered from the resident pools by indices computed from the step counter.
    const base = s.counter.ref.mul(n);
    const lanes = np.arange(0, n, 1, { dtype: np.int32 });
    const digits = np.take(pl.digits, np.remainder(lanes.ref.add(base.ref), pool), 0);
    const items = np.take(pl.items, np.remainder(lanes.mul(7).add(base), pool), 0);
    const mixture = digits.ref.add(items.ref).mul(0.5);

    const [[value, stats], grads] = jax.valueAndGrad(loss, { hasAux: true })(tree.ref(s.params), mixture, digits, items) as unknown as [
      [JaxArray, BatchStats[]],
      Params,
    ];

    const t = s.t.add(1);
    const lrT = np
      .sqrt(np.subtract(1, np.power(BETA2, t.ref)))
      .mul(LR)
      .div(np.subtract(1, np.power(BETA1, t.ref)));
    const [ps, def] = tree.flatten(s.params);
    const [gs] = tree.flatten(grads);
    const [ms] = tree.flatten(s.m);
    const [vs] = tree.flatten(s.v);
    const newP: JaxArray[] = [];
    const newM: JaxArray[] = [];
    const newV: JaxArray[] = [];
    ps.forEach((p, i) => {
      const g = gs[i];
      const m = ms[i].mul(BETA1).add(g.ref.mul(1 - BETA1));
      const v = vs[i].mul(BETA2).add(np.square(g).mul(1 - BETA2));
      newP.push(p.sub(lrT.ref.mul(m.ref).div(np.sqrt(v.ref).add(ADAM_EPS))));
      newM.push(m);
      newV.push(v);
    });
    lrT.dispose();
    // Running statistics as in PyTorch and unmix: the variance is unbiased (× m/(m−1)).
    const running = s.running.map((r, i) => {
      const { mean, variance } = stats[i];
      const count = bnCounts[i];
      return {
        mean: r.mean.mul(1 - BN_MOMENTUM).add(mean.mul(BN_MOMENTUM)),
        variance: r.variance.mul(1 - BN_MOMENTUM).add(variance.mul((BN_MOMENTUM * count) / (count - 1))),
      };
    });
    const next: State = {
      params: tree.unflatten(def, newP) as Params,
      m: tree.unflatten(def, newM) as Params,
      v: tree.unflatten(def, newV) as Params,
      t,
      running,
      counter: s.counter.add(1),
    };
    return [next, value];
  });

  const step = (): JaxArray => {
    const [next, value] = trainStep(state, tree.ref(pools));
    state = next;
    return value;
  };
  const t0 = performance.now();
  const first = step();
  await first.data();
  const firstStepMs = performance.now() - t0;
  for (let s = 1; s < opts.warmup; s++) await step().data();
  const start = performance.now();
  let last: JaxArray | null = null;
  for (let s = 0; s < opts.steps; s++) {
    last?.dispose();
    last = step();
  }
  const lossValue = (await last!.data())[0];
  // The loss is ready before the step's update is: wait for the whole new state too.
  await jax.blockUntilReady(state);
  const msPerStep = (performance.now() - start) / opts.steps;
  const result = stepResult(
    'jax-js (webgpu device)',
    { ...opts, batch: n },
    { firstStepMs, msPerStep },
    {
      gpuMemoryBytes: liveBytes(),
      memoryNote: 'live bytes of the GPU buffers jax-js created (it exposes no memory figure)',
      loss: lossValue,
    },
  );
  tree.dispose(state);
  tree.dispose(pools);
  trainStep.dispose();
  return result;
}
