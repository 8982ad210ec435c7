// The training session both the command line and the page drive: read-back policies, checkpoints by
// step count and by time, pause and resume, a time budget that fixes the step count, divergence.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Mixer } from '../../src/data/mixer.ts';
import { readSafetensors, writeSafetensors } from '../../src/data/safetensors.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { tunerOf } from '../../src/gpu/tuner.ts';
import { type Progress, type SessionOptions, TrainingSession } from '../../src/train/session.ts';
import { decayStart, type TrainConfig, Trainer } from '../../src/train/trainer.ts';
import { useGpuWithData } from '../helpers/gpu.ts';

const tiny: TrainConfig = {
  model: { width: 2, depth: 2 },
  steps: 12,
  batch: 4,
  lr: 5e-3,
  warmupSteps: 3,
  weightDecay: 1e-4,
  seed: 9,
};
const lagged: SessionOptions = { readBack: { mode: 'lagged', everySteps: 4 } };
const chunked: SessionOptions = { readBack: { mode: 'chunked', chunkSeconds: 0.05, maxChunkSteps: 3 } };

describe('training session', () => {
  const env = useGpuWithData();
  let gpu: Gpu;
  let mixer: Mixer;
  beforeAll(() => {
    ({ gpu, mixer } = env());
  });

  const weights = (bytes: Uint8Array) =>
    Object.fromEntries(Object.entries(readSafetensors(bytes).tensors).map(([name, t]) => [name, Array.from(t.data)]));

  it('lagged read-back: a loss every few steps, one behind; checkpoints at every multiple of their step count and at the end', async () => {
    const trainer = await Trainer.create(gpu, mixer, tiny);
    const session = new TrainingSession(trainer, { ...lagged, checkpointEverySteps: 5 });
    const progress: Progress[] = [];
    const checkpoints: number[] = [];
    session.on('progress', (p) => void progress.push(p));
    session.on('checkpoint', ({ step }) => void checkpoints.push(step));
    const done = await session.run();
    expect(done).toMatchObject({ reason: 'complete', step: 12, stepsRun: 12 });
    // Chunks end at read-backs (every 4) and at checkpoints (every 5), so no checkpoint is late.
    expect(progress.map((p) => p.step)).toEqual([4, 5, 8, 10, 12, 12]);
    expect(progress.map((p) => p.lossStep)).toEqual([0, 4, 5, 8, 10, 12]); // the first read is awaited a chunk later
    for (const p of progress.slice(1)) expect(Number.isFinite(p.loss) && p.loss > 0).toBe(true);
    expect(progress[1].samplesPerSecond).toBeGreaterThan(0);
    expect(progress.at(-1)?.secondsLeft).toBe(0);
    expect(checkpoints).toEqual([5, 10, 12]);
    expect(session.complete).toBe(true);
    trainer.destroy();
  });

  it('chunked read-back, paused and resumed, ends on the same weights as a run straight through', async () => {
    const straight = await Trainer.create(gpu, mixer, tiny);
    await new TrainingSession(straight, lagged).run();
    const expected = weights(await straight.checkpoint());

    const trainer = await Trainer.create(gpu, mixer, tiny);
    const session = new TrainingSession(trainer, chunked);
    const steps: number[] = [];
    session.on('progress', (p) => {
      steps.push(p.step);
      expect(p.lossStep).toBe(p.step); // awaited after each chunk
      if (p.step >= 2) session.pause();
    });
    const paused = await session.run();
    expect(paused.reason).toBe('paused');
    expect(paused.step).toBeLessThan(tiny.steps);
    expect(steps[0]).toBe(1); // the first chunk is one step, then sized by its time
    expect(steps.every((s, i) => s - (steps[i - 1] ?? 0) <= 3)).toBe(true); // maxChunkSteps
    const resumedSteps = steps.length;
    const done = await new TrainingSession(trainer, chunked).run();
    expect(done).toMatchObject({ reason: 'complete', step: tiny.steps });
    expect(steps.length).toBe(resumedSteps); // a new session: the old one's listeners stay quiet
    expect(weights(await trainer.checkpoint())).toEqual(expected);
    for (const t of [straight, trainer]) t.destroy();
  });

  it('checkpoints by elapsed time; stop() ends the run with a checkpoint', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 1000 });
    const session = new TrainingSession(trainer, { ...chunked, checkpointEverySeconds: 0 });
    const checkpoints: number[] = [];
    session.on('checkpoint', ({ step }) => {
      checkpoints.push(step);
      if (checkpoints.length === 2) session.stop();
    });
    const done = await session.run();
    expect(done.reason).toBe('stopped');
    expect(checkpoints.length).toBe(3); // two by time, then the one that closes the run
    expect(checkpoints[2]).toBe(done.step);
    trainer.destroy();
  });

  it('a time budget fixes the step count after warm-up and records it with the budget', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 1, warmupSteps: 4 });
    const session = new TrainingSession(trainer, { ...lagged, budgetSeconds: 1.5 });
    expect(session.stepsFixed).toBe(false);
    const done = await session.run();
    expect(['complete', 'budget']).toContain(done.reason);
    expect(session.stepsFixed).toBe(true);
    expect(trainer.config.steps).toBeGreaterThanOrEqual(4);
    expect(done.step).toBeLessThanOrEqual(trainer.config.steps);
    expect(done.trainedSeconds).toBeLessThan(1.5 + 1);
    const saved = readSafetensors(await session.checkpoint());
    expect(saved.metadata).toMatchObject({ budget_seconds: '1.5', steps_fixed: 'true', step: String(done.step) });
    expect(JSON.parse(saved.metadata.config).steps).toBe(trainer.config.steps);
    // Resumed from its checkpoint, the run is complete within its recorded budget or at its step count.
    const resumed = await Trainer.fromCheckpoint(gpu, mixer, await session.checkpoint());
    const again = new TrainingSession(resumed, lagged);
    expect(again.budgetSeconds).toBe(1.5);
    expect(again.complete).toBe(done.reason === 'complete' || done.trainedSeconds >= 1.5);
    for (const t of [trainer, resumed]) t.destroy();
  });

  it('a run that reached its last step is complete, even where its budget ran out at that step', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 6, warmupSteps: 2 });
    for (let s = 0; s < 5; s++) trainer.trainStep();
    // Its checkpoint as a budget run at step 5 of 6 with 0.1 ms of its 1 s budget left: the last
    // step spends it.
    const { tensors, metadata } = readSafetensors(await new TrainingSession(trainer, lagged).checkpoint());
    const atLastStep = writeSafetensors(tensors, { ...metadata, budget_seconds: '1', trained_seconds: '0.9999', steps_fixed: 'true' });
    const resumed = await Trainer.fromCheckpoint(gpu, mixer, atLastStep);
    const done = await new TrainingSession(resumed, lagged).run();
    expect([done.reason, done.step]).toEqual(['complete', 6]);
    expect(done.trainedSeconds).toBeGreaterThan(1);
    for (const t of [trainer, resumed]) t.destroy();
  });

  it('with a cooldown, a budget refines the step count past warm-up until the decay, and --steps replays it exactly', async () => {
    const config = { ...tiny, steps: 1, warmupSteps: 4, cooldown: 0.5 };
    const trainer = await Trainer.create(gpu, mixer, config);
    const session = new TrainingSession(trainer, { ...lagged, budgetSeconds: 3 });
    const estimates: { step: number; steps: number; fixed: boolean }[] = [];
    session.on('progress', (p) => {
      estimates.push({ step: p.step, steps: p.steps, fixed: session.stepsFixed });
    });
    const done = await session.run();
    expect(done.trainedSeconds).toBeLessThan(3 + 1);
    const open = estimates.filter((e) => !e.fixed);
    // Still an estimate after warm-up, and fixed where the decay starts.
    expect(open.some((e) => e.step > config.warmupSteps)).toBe(true);
    const fixedAt = estimates.find((e) => e.fixed)!.step;
    expect(decayStart(trainer.config)).toBe(fixedAt);
    expect(fixedAt).toBeGreaterThanOrEqual(Math.max(...open.map((e) => e.step)));
    expect(done.step).toBeLessThanOrEqual(trainer.config.steps);

    const replay = await Trainer.create(gpu, mixer, { ...config, steps: trainer.config.steps });
    for (let i = 0; i < done.step; i++) replay.trainStep();
    expect(weights(await replay.checkpoint())).toEqual(weights(await trainer.checkpoint()));
    for (const t of [trainer, replay]) t.destroy();
  });

  it('a budget needs a timed warm-up', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, warmupSteps: 1 });
    expect(() => new TrainingSession(trainer, { ...lagged, budgetSeconds: 10 })).toThrow(/at least 2 warm-up steps/);
    trainer.destroy();
  });

  it('a non-finite loss ends the run with an error event and no checkpoint of that state', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 40, lr: 1e30 });
    const session = new TrainingSession(trainer, { readBack: { mode: 'lagged', everySteps: 1 }, checkpointEverySteps: 1 });
    const errors: string[] = [];
    let lastCheckpoint = -1;
    session.on('checkpoint', ({ step }) => void (lastCheckpoint = step));
    session.on('error', ({ message }) => void errors.push(message));
    const done = await session.run();
    expect(done.reason).toBe('diverged');
    expect(errors).toHaveLength(1);
    // Whichever is seen first: the loss, or a weight before its checkpoint.
    expect(errors[0]).toMatch(
      /^(the loss became|tensor "[\w.]+" holds (NaN|Infinity|-Infinity) at index \d+)( (NaN|Infinity|-Infinity))? at step \d+$/,
    );
    expect(lastCheckpoint).toBeLessThan(Number(errors[0].match(/step (\d+)/)![1]));
    trainer.destroy();
  });

  it('a non-finite weight with a finite loss is caught before its checkpoint is saved, naming the tensor', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 8 });
    // Training normalizes with each batch's own statistics, so a NaN running variance leaves the
    // loss finite: only a look at the weights finds it.
    const [name, runningVar] = trainer.model.namedBuffers().find(([n]) => n.endsWith('running_var'))!;
    gpu.write(runningVar, new Float32Array(runningVar.shape[0]).fill(NaN));
    const session = new TrainingSession(trainer, { ...lagged, checkpointEverySteps: 4 });
    const errors: string[] = [];
    const checkpoints: number[] = [];
    session.on('checkpoint', ({ step }) => void checkpoints.push(step));
    session.on('error', ({ message }) => void errors.push(message));
    const done = await session.run();
    expect(done).toMatchObject({ reason: 'diverged', step: 4 });
    expect(checkpoints).toEqual([]);
    expect(errors).toEqual([`tensor "${name}" holds NaN at index 0 at step 4`]);
    trainer.destroy();
  });

  it('the first step measures the shape classes training meets, not those queued before the session', async () => {
    const tuner = tunerOf(gpu);
    await tuner.configure({ kind: 'tune' }, null);
    try {
      // What the page queues drawing the grid with another model before Start.
      const stale = 'conv2d.forward 1→16 3×3 s1 p1 @32×32 batch 8 (another model)';
      tuner.pick({ key: stale, candidates: ['a', 'b'], prepare: () => expect.unreachable(`measured ${stale}`) });
      const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 2 });
      const session = new TrainingSession(trainer, lagged);
      const measured: string[] = [];
      session.on('tuning', ({ key }) => void measured.push(key));
      await session.run();
      expect(measured.length).toBeGreaterThan(0);
      expect(
        measured.every((key) => key.startsWith('conv2d.') && key.endsWith('batch 4')),
        measured.join('\n'),
      ).toBe(true);
      expect(tuner.choices()[stale].source).toBe('default');
      trainer.destroy();
    } finally {
      await tuner.configure({ kind: 'default' }, null);
    }
  });

  it('a run at its final step is complete: run() trains nothing and reports no loss', async () => {
    const trainer = await Trainer.create(gpu, mixer, { ...tiny, steps: 2 });
    await new TrainingSession(trainer, lagged).run();
    const restored = await Trainer.fromCheckpoint(gpu, mixer, await trainer.checkpoint());
    const session = new TrainingSession(restored, lagged);
    expect(session.complete).toBe(true);
    let reports = 0;
    session.on('progress', () => void reports++);
    expect(await session.run()).toMatchObject({ reason: 'complete', stepsRun: 0, step: 2 });
    expect(reports).toBe(0);
    for (const t of [trainer, restored]) t.destroy();
  });
});
