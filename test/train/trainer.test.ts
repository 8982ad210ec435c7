// Training on the real data: the loss must fall well below the mixture baseline, and a run resumed
// from a checkpoint must continue exactly as if it had never stopped.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Mixer } from '../../src/data/mixer.ts';
import { readSafetensors, writeSafetensors } from '../../src/data/safetensors.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { tunerOf } from '../../src/gpu/tuner.ts';
import { evaluateProtocol, mixtureAsPrediction } from '../../src/train/evaluate.ts';
import { checkTrainConfig } from '../../src/train/options.ts';
import { checkpointConfig, decayStart, learningRate, type TrainConfig, Trainer } from '../../src/train/trainer.ts';
import { useGpuWithData } from '../helpers/gpu.ts';

/** Predicting the mixture itself for both outputs scores 0.0363 on the task's protocol. */
const MIXTURE_BASELINE = 0.0363;

const tiny: TrainConfig = {
  model: { width: 4, depth: 3 },
  steps: 250,
  batch: 16,
  lr: 1e-2,
  warmupSteps: 10,
  weightDecay: 0,
  seed: 5,
};

describe('training', () => {
  const env = useGpuWithData();
  let gpu: Gpu;
  let mixer: Mixer;
  beforeAll(() => {
    ({ gpu, mixer } = env());
  });

  it('the evaluator scores the mixture-as-prediction baseline at 0.0363 ± 0.0001', async () => {
    const r = await evaluateProtocol(gpu, mixer, mixtureAsPrediction, { mixtures: 20_000, repeats: 3, batch: 1000 });
    expect(r.mse_mean).toBeGreaterThan(0.0358);
    expect(r.mse_mean).toBeLessThan(0.0368);
    expect(r.mse_std).toBeLessThan(0.0005);
    expect(r.mse_std).toBeGreaterThan(0);
  });

  it('evaluation progress counts mixtures the GPU has finished, in order, up to the total; an abort ends it', async () => {
    const seen: number[] = [];
    const opts = { mixtures: 1000, repeats: 2, batch: 100 };
    await evaluateProtocol(gpu, mixer, mixtureAsPrediction, { ...opts, onProgress: (done) => seen.push(done) });
    expect(seen).toEqual(Array.from({ length: 20 }, (_, k) => 100 * (k + 1)));

    const abort = new AbortController();
    const before: number[] = [];
    const cancelled = evaluateProtocol(gpu, mixer, mixtureAsPrediction, {
      ...opts,
      signal: abort.signal,
      onProgress: (done) => {
        before.push(done);
        abort.abort();
      },
    });
    await expect(cancelled).rejects.toThrow(/evaluation cancelled/);
    // Aborted at the first finished batch: no more than the few batches queued meanwhile finish.
    expect(before.length).toBeLessThanOrEqual(4);
  });

  it(`a small network trained for ${tiny.steps} steps beats the mixture baseline by far`, async () => {
    const trainer = await Trainer.create(gpu, mixer, tiny);
    const first = await (async () => {
      trainer.trainStep();
      return trainer.readLoss();
    })();
    while (trainer.step < tiny.steps) {
      trainer.trainStep();
      if (trainer.step % 50 === 0) await trainer.readLoss();
    }
    const last = await trainer.readLoss();
    const test = await trainer.testLoss(4);
    expect(Number.isFinite(first) && Number.isFinite(last)).toBe(true);
    expect(last).toBeLessThan(first / 2);
    expect(test).toBeLessThan(MIXTURE_BASELINE / 2);
    const evaluation = await trainer.evaluate({ mixtures: 2000, repeats: 2 });
    expect(evaluation.mse_mean).toBeLessThan(MIXTURE_BASELINE / 2);
    trainer.destroy();
  });

  it('resuming from a checkpoint continues exactly', async () => {
    const config: TrainConfig = { ...tiny, steps: 6, batch: 4 };
    const straight = await Trainer.create(gpu, mixer, config);
    for (let i = 0; i < 6; i++) straight.trainStep();
    const expected = readSafetensors(await straight.checkpoint()).tensors;

    const first = await Trainer.create(gpu, mixer, config);
    for (let i = 0; i < 3; i++) first.trainStep();
    const saved = await first.checkpoint();
    const resumed = await Trainer.fromCheckpoint(gpu, mixer, saved);
    expect(resumed.step).toBe(3);
    for (let i = 0; i < 3; i++) resumed.trainStep();
    const actual = readSafetensors(await resumed.checkpoint()).tensors;

    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, t] of Object.entries(expected)) {
      expect(Array.from(actual[name].data), name).toEqual(Array.from(t.data));
    }
    for (const t of [straight, first, resumed]) t.destroy();
  });

  it.each([
    ['default kernels', { kind: 'default' }],
    ["Winograd's, in the step's shared scratch", { kind: 'force', kernel: 'winograd' }],
  ] as const)('a replayed step is the recorded one (%s): losses and weights bit-identical to steps encoded afresh', async (_, mode) => {
    await tunerOf(gpu).configure(mode, null);
    const config: TrainConfig = { ...tiny, steps: 8, batch: 4, ema: 0.99 };
    const run = async (afresh: boolean) => {
      const trainer = await Trainer.create(gpu, mixer, config);
      const forward = trainer.model.forward.bind(trainer.model);
      let forwards = 0;
      trainer.model.forward = (...args) => {
        forwards++;
        return forward(...args);
      };
      const losses: number[] = [];
      for (let i = 0; i < config.steps; i++) {
        if (afresh) gpu.forgetRecordings();
        trainer.trainStep();
        losses.push(await trainer.readLoss());
      }
      const weights = readSafetensors(await trainer.checkpoint()).tensors;
      trainer.destroy();
      return { losses, weights, forwards };
    };
    const replayed = await run(false);
    const afresh = await run(true);
    const kernels = Object.values(tunerOf(gpu).variants());
    await tunerOf(gpu).configure({ kind: 'default' }, null);
    expect(kernels.includes('winograd')).toBe(mode.kind === 'force');
    // Step 1 grows Winograd's scratch buffers layer by layer and releases the outgrown ones, which
    // leaves its recording stale: step 2 records again, and the rest replay.
    expect(replayed.forwards).toBe(mode.kind === 'default' ? 1 : 2);
    expect(afresh.forwards).toBe(config.steps);
    expect(replayed.losses).toEqual(afresh.losses);
    expect(new Set(replayed.losses).size).toBe(config.steps);
    for (const [name, t] of Object.entries(afresh.weights)) {
      expect(Array.from(replayed.weights[name].data), name).toEqual(Array.from(t.data));
    }
  });

  it('a step records itself again once its recording is stale: kernels chosen anew, a buffer released', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, batch: 4 });
    const forward = trainer.model.forward.bind(trainer.model);
    let forwards = 0;
    trainer.model.forward = (...args) => {
      forwards++;
      return forward(...args);
    };
    trainer.trainStep();
    trainer.trainStep();
    expect(forwards).toBe(1);
    await tunerOf(gpu).configure({ kind: 'default' }, null);
    trainer.trainStep();
    trainer.trainStep();
    expect(forwards).toBe(2);
    gpu.persistent([4]).destroy();
    trainer.trainStep();
    expect(forwards).toBe(3);
    await trainer.readLoss();
    trainer.destroy();
  });

  it('a steady training step allocates no GPU buffer', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, batch: 4 });
    trainer.trainStep();
    trainer.trainStep();
    await trainer.readLoss();
    const before = gpu.pool.allocations;
    for (let i = 0; i < 3; i++) trainer.trainStep();
    await trainer.readLoss();
    expect(gpu.pool.allocations).toBe(before);
    trainer.destroy();
  });

  it('a training step, optimizer and weight average included, is one queue submission', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, batch: 4, ema: 0.99 });
    const queue = gpu.device.queue;
    const submit = queue.submit;
    let submissions = 0;
    queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
      submissions++;
      submit.call(queue, buffers);
    };
    try {
      for (let i = 0; i < 3; i++) trainer.trainStep();
    } finally {
      queue.submit = submit;
    }
    expect(submissions).toBe(3);
    await trainer.readLoss();
    trainer.destroy();
  });

  it('loads a checkpoint that records the removed model options switched off, and refuses one that uses them', async () => {
    const trained = await Trainer.create(gpu, mixer, { ...tiny, steps: 1, batch: 2 });
    const { metadata } = readSafetensors(await trained.checkpoint());
    trained.destroy();
    const recorded = (model: object) => ({ ...metadata, config: JSON.stringify({ ...JSON.parse(metadata.config), model }) });
    const before = { width: tiny.model.width, depth: tiny.model.depth, upsample: 'nearest', heads: 'sigmoid', attention: false, patch: 1 };
    expect(checkpointConfig(recorded(before)).model).toEqual({ width: tiny.model.width, depth: tiny.model.depth });
    expect(() => checkpointConfig(recorded({ ...before, attention: true }))).toThrow(
      /checkpoint: its model uses attention true, an option removed after commit c8291d8/,
    );
    expect(() => checkpointConfig(recorded({ ...before, upsample: 'bilinear' }))).toThrow(/uses upsample "bilinear"/);
  });

  it('the learning rate warms up linearly, then decays by a cosine to 5%', () => {
    const c = { ...tiny, lr: 1, warmupSteps: 10, steps: 110 };
    expect(learningRate(c, 0)).toBeCloseTo(0.1);
    expect(learningRate(c, 9)).toBeCloseTo(1);
    expect(learningRate(c, 60)).toBeCloseTo(0.525);
    expect(learningRate(c, 110)).toBeCloseTo(0.05);
  });

  it('with a cooldown, the rate holds its peak until the decay, which then ends at 5% on the same cosine', () => {
    const c = { ...tiny, lr: 1, warmupSteps: 10, steps: 110, cooldown: 0.2 };
    expect(decayStart(c)).toBe(90);
    expect(decayStart({ ...c, cooldown: undefined })).toBe(10);
    for (const step of [10, 50, 89, 90]) expect(learningRate(c, step)).toBeCloseTo(1);
    expect(learningRate(c, 100)).toBeCloseTo(0.525);
    expect(learningRate(c, 110)).toBeCloseTo(0.05);
    // Before the decay, no rate depends on the step count: a longer run takes the same steps there.
    for (let step = 0; step < 90; step++) expect(learningRate({ ...c, steps: 500 }, step)).toBe(learningRate(c, step));
    expect(learningRate({ ...c, cooldown: 1 }, 60)).toBe(learningRate({ ...c, cooldown: undefined }, 60));
    for (const cooldown of [0, 1.5]) {
      expect(() => checkTrainConfig({ ...c, cooldown })).toThrow(
        new RegExp(`train config: cooldown must be a share of the steps in \\(0, 1\\], e\\.g\\. 0\\.2, got ${cooldown}`),
      );
    }
  });

  it('rejects a checkpoint of another architecture, naming the tensor', async () => {
    const small = await Trainer.create(gpu, mixer, { ...tiny, steps: 1 });
    const bytes = await small.checkpoint();
    const other = readSafetensors(bytes);
    other.tensors['enc1.conv1.weight'] = { shape: [1, 1, 1, 1], data: new Float32Array(1) };
    await expect(Trainer.fromCheckpoint(gpu, mixer, writeSafetensors(other.tensors, other.metadata))).rejects.toThrow(
      /enc1\.conv1\.weight has shape \[1,1,1,1\] in the file but \[4,1,3,3\] in the model/,
    );
    small.destroy();
  });
});
