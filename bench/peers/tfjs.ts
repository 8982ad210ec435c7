// The benchmark network's training step in TensorFlow.js on its WebGPU backend. NHWC, as tfjs's
// convolutions want; the work is the same as unmix's NCHW network.
import type * as TF from '@tensorflow/tfjs';
import { countBufferBytes } from '../gpu-memory.ts';
import {
  ADAM_EPS,
  BETA1,
  BETA2,
  BLOCKS,
  type Block,
  BN_EPS,
  BN_MOMENTUM,
  DECODER,
  ENCODER,
  HEAD_IN,
  IMAGE,
  LR,
  MID,
  PARAMETERS,
  POOL_BATCHES,
  type StepRun,
  stepResult,
  type TrainStepResult,
} from './bench-net.ts';

type Tf = typeof TF;

interface Conv {
  w: TF.Variable;
  b: TF.Variable;
}
interface Bn {
  gamma: TF.Variable;
  beta: TF.Variable;
  mean: TF.Variable;
  variance: TF.Variable;
}
interface BlockParams {
  conv1: Conv;
  bn1: Bn;
  conv2: Conv;
  bn2: Bn;
}

/** Loads tfjs with its WebGPU backend; navigator.gpu must exist first (in Node: Dawn). */
export async function loadTfjs(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialise (is navigator.gpu set?)');
  await tf.ready();
  return tf;
}

export async function benchTfjs(tf: Tf, opts: StepRun): Promise<TrainStepResult> {
  const n = opts.batch;
  const liveBytes = countBufferBytes((tf.backend() as unknown as { device: GPUDevice }).device);
  const heInit = (shape: number[], fanIn: number) => tf.variable(tf.randomNormal(shape, 0, Math.sqrt(2 / fanIn)));
  const conv = (cin: number, cout: number, k: number): Conv => ({
    w: heInit([k, k, cin, cout], k * k * cin),
    b: tf.variable(tf.zeros([cout])),
  });
  const bn = (c: number): Bn => ({
    gamma: tf.variable(tf.ones([c])),
    beta: tf.variable(tf.zeros([c])),
    mean: tf.variable(tf.zeros([c]), false),
    variance: tf.variable(tf.ones([c]), false),
  });
  const block = (b: Block): BlockParams => ({
    conv1: conv(b.cin, b.cout, 3),
    bn1: bn(b.cout),
    conv2: conv(b.cout, b.cout, 3),
    bn2: bn(b.cout),
  });
  const blocks = new Map(BLOCKS.map((b) => [b.name, block(b)]));
  const heads = [conv(HEAD_IN, 1, 1), conv(HEAD_IN, 1, 1)];
  const trainable = [...blocks.values()].flatMap((p) => [
    p.conv1.w,
    p.conv1.b,
    p.bn1.gamma,
    p.bn1.beta,
    p.conv2.w,
    p.conv2.b,
    p.bn2.gamma,
    p.bn2.beta,
  ]);
  trainable.push(...heads.flatMap((h) => [h.w, h.b]));
  const count = trainable.reduce((s, v) => s + v.size, 0);
  if (count !== PARAMETERS) throw new Error(`tfjs bench net has ${count} parameters, BENCH_NET.md says ${PARAMETERS}`);

  // Batch statistics of this step, kept out of the gradient tape to update the running statistics.
  // The running variance is unbiased (× m/(m−1), m values per channel), as in PyTorch and unmix.
  const batchStats: [Bn, TF.Tensor, TF.Tensor, number][] = [];
  const batchNorm = (x: TF.Tensor4D, p: Bn) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const m = x.shape[0] * x.shape[1] * x.shape[2];
    batchStats.push([p, tf.keep(mean), tf.keep(variance), m / (m - 1)]);
    return tf.batchNorm(x, mean, variance, p.beta, p.gamma, BN_EPS) as TF.Tensor4D;
  };
  const convBnRelu = (x: TF.Tensor4D, c: Conv, b: Bn): TF.Tensor4D =>
    tf.relu(batchNorm(tf.add(tf.conv2d(x, c.w as TF.Tensor4D, 1, 'same'), c.b) as TF.Tensor4D, b));
  const runBlock = (x: TF.Tensor4D, name: string) => {
    const p = blocks.get(name)!;
    return convBnRelu(convBnRelu(x, p.conv1, p.bn1), p.conv2, p.bn2);
  };
  const forward = (x: TF.Tensor4D): [TF.Tensor4D, TF.Tensor4D] => {
    const skips: TF.Tensor4D[] = [];
    for (const b of ENCODER) {
      x = runBlock(x, b.name);
      skips.push(x);
      x = tf.maxPool(x, 2, 2, 'valid');
    }
    x = runBlock(x, MID.name);
    for (const b of DECODER) {
      const skip = skips.pop()!;
      const up = tf.image.resizeNearestNeighbor(x, [skip.shape[1], skip.shape[2]]);
      x = runBlock(tf.concat([up, skip], 3) as TF.Tensor4D, b.name);
    }
    const [d, i] = heads.map((h) => tf.sigmoid(tf.add(tf.conv2d(x, h.w as TF.Tensor4D, 1, 'valid'), h.b)) as TF.Tensor4D);
    return [d, i];
  };

  // The batch: gathered from resident pools by indices derived on the GPU from a step counter.
  const pool = POOL_BATCHES * n;
  const digitPool = tf.randomUniform([pool, IMAGE, IMAGE, 1]);
  const itemPool = tf.randomUniform([pool, IMAGE, IMAGE, 1]);
  const lanes = tf.range(0, n, 1, 'int32');
  const stride = tf.scalar(n, 'int32');
  const poolSize = tf.scalar(pool, 'int32');
  const seven = tf.scalar(7, 'int32');
  const one = tf.scalar(1, 'int32');
  const half = tf.scalar(0.5);
  const counter = tf.variable(tf.scalar(0, 'int32'), false);

  const optimizer = tf.train.adam(LR, BETA1, BETA2, ADAM_EPS);
  const step = (): TF.Scalar => {
    const loss = tf.tidy(() => {
      const base = tf.mul(counter, stride);
      const digits = tf.gather(digitPool, tf.mod(tf.add(lanes, base), poolSize));
      const items = tf.gather(itemPool, tf.mod(tf.add(tf.mul(lanes, seven), base), poolSize));
      const mixture = tf.mul(tf.add(digits, items), half) as TF.Tensor4D;
      counter.assign(tf.add(counter, one));
      return optimizer.minimize(
        () => {
          const [d, i] = forward(mixture);
          return tf.mul(tf.add(tf.losses.meanSquaredError(digits, d), tf.losses.meanSquaredError(items, i)), half) as TF.Scalar;
        },
        true,
        trainable,
      )!;
    });
    tf.tidy(() => {
      for (const [p, mean, variance, unbias] of batchStats.splice(0)) {
        const unbiased = tf.mul(variance, unbias);
        p.mean.assign(tf.add(tf.mul(p.mean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
        p.variance.assign(tf.add(tf.mul(p.variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
        mean.dispose();
        variance.dispose();
      }
    });
    return loss;
  };

  const t0 = performance.now();
  const first = step();
  await first.data();
  const firstStepMs = performance.now() - t0;
  first.dispose();
  for (let s = 1; s < opts.warmup; s++) {
    const l = step();
    await l.data();
    l.dispose();
  }
  const start = performance.now();
  let last: TF.Scalar | null = null;
  for (let s = 0; s < opts.steps; s++) {
    last?.dispose();
    last = step();
  }
  const loss = (await last!.data())[0];
  // The loss is ready before the step's updates are: read what the step writes last, too.
  await blocks.get(DECODER[DECODER.length - 1].name)!.bn2.variance.data();
  const msPerStep = (performance.now() - start) / opts.steps;
  last!.dispose();

  const mem = tf.memory() as TF.MemoryInfo & { numBytesAllocatedInGPU?: number };
  const own =
    mem.numBytesAllocatedInGPU === undefined
      ? ''
      : `; tf.memory() says ${(mem.numBytesAllocatedInGPU / 2 ** 20).toFixed(1)} MiB allocated in GPU`;
  const result = stepResult(
    'TensorFlow.js (webgpu backend)',
    { ...opts, batch: n },
    { firstStepMs, msPerStep },
    {
      gpuMemoryBytes: liveBytes(),
      memoryNote: `live bytes of the GPU buffers tfjs created after start-up${own}`,
      loss,
    },
  );
  tf.disposeVariables();
  return result;
}
