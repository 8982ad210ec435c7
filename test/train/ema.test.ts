import { describe, expect, it } from 'vitest';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import { Mixer } from '../../src/data/mixer.ts';
import { readSafetensors, writeSafetensors } from '../../src/data/safetensors.ts';
import { gatherIntoArena } from '../../src/gpu/arena.ts';
import { Ema, emaDecay } from '../../src/train/ema.ts';
import { type TrainConfig, Trainer } from '../../src/train/trainer.ts';
import { expectClose } from '../helpers/check.ts';
import { useGpu } from '../helpers/gpu.ts';
import { Rng } from '../helpers/rng.ts';

describe('ema', () => {
  const gpu = useGpu();
  const rng = new Rng(4);

  it('the decay warms up as (1 + t) / (10 + t) to its ceiling', () => {
    expect(emaDecay(0.999, 1)).toBeCloseTo(2 / 11, 12);
    expect(emaDecay(0.999, 100)).toBeCloseTo(101 / 110, 12);
    expect(emaDecay(0.9, 100)).toBe(0.9);
  });

  for (const arena of [false, true]) {
    it(`matches an f64 reference over updates of changing weights, several tensors and sizes (${arena ? 'gathered into an arena, one dispatch' : 'one dispatch per tensor'})`, async () => {
      const g = gpu();
      // Sizes: one element, odd, past one 256-wide workgroup.
      const sizes = [1, 37, 1000];
      const values = sizes.map((n) => rng.uniform(n, -1, 1));
      const tensors = sizes.map((n, i) => g.persistent([n], Float32Array.from(values[i])));
      if (arena) gatherIntoArena(g, tensors, 'weights');
      const ema = new Ema(g, tensors, 0.9);
      const reference = values.map((v) => Float64Array.from(v));
      for (let t = 1; t <= 30; t++) {
        // New weights each step, as training would leave them.
        values.forEach((v, i) => {
          for (let k = 0; k < v.length; k++) v[k] += rng.uniform(1, -0.1, 0.1)[0];
          g.write(tensors[i], Float32Array.from(v));
        });
        const before = g.dispatchCount;
        ema.update();
        expect(g.dispatchCount - before).toBe(arena ? 1 : sizes.length);
        g.endStep(); // update() only encodes; the next writes must come after it is submitted
        const d = emaDecay(0.9, t);
        reference.forEach((r, i) => {
          for (let k = 0; k < r.length; k++) r[k] = d * r[k] + (1 - d) * values[i][k];
        });
      }
      expect(ema.updateCount).toBe(30);
      const averages = await Promise.all(ema.averages.map((a) => a.read()));
      for (const [i, a] of averages.entries()) expectClose(a, reference[i], { atol: 1e-6, rtol: 1e-5 }, `average ${i}`);
      ema.destroy();
    });
  }

  it('withAverages runs with the averages in place of the weights, and restores both', async () => {
    const g = gpu();
    const live = Float32Array.from(rng.uniform(300));
    const w = g.persistent([300], live);
    const ema = new Ema(g, [w], 0.5);
    g.write(
      w,
      live.map((v) => v + 1),
    );
    ema.update();
    const average = await ema.averages[0].read();
    const seen = await ema.withAverages(() => w.read());
    expect(seen).toEqual(average);
    expect(await w.read()).toEqual(live.map((v) => v + 1));
    expect(await ema.averages[0].read()).toEqual(average);
    // Decay 2/11 at t = 1: the average moved from live by 9/11 of the change.
    expectClose(
      average,
      Array.from(live, (v) => v + 9 / 11),
      { atol: 1e-6, rtol: 1e-6 },
      'first update',
    );
    ema.destroy();
  });

  it('rejects a decay outside [0, 1)', () => {
    expect(() => new Ema(gpu(), [], 1)).toThrow(/Ema: decay must be in \[0, 1\), got 1/);
  });

  describe('in the trainer', () => {
    const config: TrainConfig = {
      model: { width: 2, depth: 2 },
      steps: 6,
      batch: 4,
      lr: 1e-2,
      warmupSteps: 2,
      weightDecay: 0,
      seed: 3,
      ema: 0.9,
    };

    it('checkpoints the averages under the model names and the live weights as live.*, and resumes exactly', async () => {
      const g = gpu();
      const mixer = new Mixer(g, await loadSourceImagesNode());
      const straight = await Trainer.create(g, mixer, config);
      for (let i = 0; i < 6; i++) straight.trainStep();
      const expected = readSafetensors(await straight.checkpoint()).tensors;
      const live = straight.model.namedParameters();
      const liveValues = await Promise.all(live.map(([, t]) => t.read()));
      for (const [i, [name]] of live.entries()) {
        expect(Array.from(expected[`live.${name}`].data), name).toEqual(Array.from(liveValues[i]));
      }
      expect(Array.from(expected['enc1.conv1.weight'].data)).not.toEqual(Array.from(expected['live.enc1.conv1.weight'].data));

      const first = await Trainer.create(g, mixer, config);
      for (let i = 0; i < 3; i++) first.trainStep();
      const resumed = await Trainer.fromCheckpoint(g, mixer, await first.checkpoint());
      for (let i = 0; i < 3; i++) resumed.trainStep();
      const actual = readSafetensors(await resumed.checkpoint()).tensors;
      expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, t] of Object.entries(expected)) expect(Array.from(actual[name].data), name).toEqual(Array.from(t.data));

      // Evaluation uses the averages (which differ from the live weights, above): the same loss as a
      // trainer without an EMA given only them.
      const averagesOnly = Object.fromEntries(Object.entries(expected).filter(([name]) => !/^(live|optimizer)\./.test(name)));
      const plain = await Trainer.fromCheckpoint(
        g,
        mixer,
        writeSafetensors(averagesOnly, { format: 'unmix-checkpoint-v1', config: JSON.stringify({ ...config, ema: undefined }) }),
      );
      expect(await plain.testLoss(1)).toBe(await straight.testLoss(1));
      for (const t of [straight, first, resumed, plain]) t.destroy();
      mixer.destroy();
    });
  });
});
