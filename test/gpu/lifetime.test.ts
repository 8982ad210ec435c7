// A long-lived Gpu (a page that trains one model after another): after each model is destroyed,
// live GPU buffers, pool and cache entries come back to where the first model left them; and a
// transient tensor used after endStep() recycled its buffer is an error that names it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import { Mixer } from '../../src/data/mixer.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { createNodeGpu, releaseNodeGpu } from '../../src/gpu/node.ts';
import { relu } from '../../src/ops/activations.ts';
import { type TrainConfig, Trainer } from '../../src/train/trainer.ts';

describe('a Gpu that outlives its models', () => {
  let gpu: Gpu;
  let mixer: Mixer;
  /** Buffers created on the device and not destroyed yet. */
  const live = new Set<GPUBuffer>();
  beforeAll(async () => {
    gpu = await createNodeGpu();
    const device = gpu.device;
    const createBuffer = device.createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor) => {
      const buffer = createBuffer(descriptor);
      const destroy = buffer.destroy.bind(buffer);
      live.add(buffer);
      buffer.destroy = () => {
        live.delete(buffer);
        destroy();
      };
      return buffer;
    };
    mixer = new Mixer(gpu, await loadSourceImagesNode());
  });
  afterAll(() => {
    mixer.destroy();
    releaseNodeGpu(gpu);
  });

  const level = () => ({ liveBuffers: live.size, ...gpu.cacheSizes() });

  it('returns buffers, pool and caches to their level after each of several models of different widths and batches', async () => {
    const configs: [number, number, boolean][] = [
      [4, 4, false],
      [8, 2, true],
      [6, 3, false],
      [4, 5, true],
    ];
    let after: ReturnType<typeof level> | null = null;
    for (const [width, batch, residual] of configs) {
      const config: TrainConfig = {
        model: { width, depth: 3, residual },
        steps: 10,
        batch,
        lr: 1e-3,
        warmupSteps: 2,
        weightDecay: 0,
        seed: 1,
      };
      const trainer = await Trainer.create(gpu, mixer, config);
      for (let i = 0; i < 2; i++) trainer.trainStep();
      await trainer.readLoss();
      await trainer.testLoss(1);
      const during = level();
      trainer.destroy();
      await gpu.sync();
      if (!after) {
        after = level();
        continue;
      }
      // Each model did hold more, and gave all of it back.
      expect(during.liveBuffers).toBeGreaterThan(after.liveBuffers + 20);
      expect(during.bindGroups).toBeGreaterThan(after.bindGroups + 20);
      expect(level(), `after the model of width ${width}, batch ${batch}`).toEqual(after);
    }
  });

  it('refuses a transient tensor read, dispatched, copied or written after endStep() recycled its buffer, naming it', async () => {
    const x = gpu.persistent([2, 3], [1, -2, 3, -4, 5, -6], 'x');
    const y = relu(x);
    expect(Array.from(await y.read())).toEqual([1, 0, 3, 0, 5, 0]);
    gpu.endStep();
    const stale = /Tensor\[2×3\]\(relu\) is a transient tensor of an earlier step, and gpu\.endStep\(\) has returned its buffer/;
    await expect(y.read()).rejects.toThrow(new RegExp(`^read: ${stale.source}`));
    expect(() => relu(y)).toThrow(new RegExp(`^activations\\.relu_forward \\(binding 1\\): ${stale.source}`));
    expect(() => gpu.copy(y, x)).toThrow(new RegExp(`^copy: ${stale.source}`));
    expect(() => gpu.write(y, new Float32Array(6))).toThrow(new RegExp(`^write: ${stale.source}`));
    // A tensor of the current step is fine.
    expect(Array.from(await relu(x).read())).toEqual([1, 0, 3, 0, 5, 0]);
    gpu.endStep();
    x.destroy();
  });
});
