import { describe, expect, it } from 'vitest';
import { sizeOf } from '../../src/gpu/tensor.ts';
import { relu, sigmoid } from '../../src/ops/activations.ts';
import { useGpu } from '../helpers/gpu.ts';
import { checkOp } from '../helpers/gradcheck.ts';
import { Rng } from '../helpers/rng.ts';

// CPU references.
const reluRef = ([x]: Float64Array[]) => x.map((v) => Math.max(v, 0));
const sigmoidRef = ([x]: Float64Array[]) => x.map((v) => 1 / (1 + Math.exp(-v)));

/** Values away from the kink at 0, so finite differences never straddle it. */
function awayFromZero(rng: Rng, n: number): Float64Array {
  return rng.uniform(n, -2, 2).map((v) => (Math.abs(v) < 0.05 ? v + Math.sign(v || 1) * 0.1 : v));
}

describe('activations', () => {
  const gpu = useGpu();
  const rng = new Rng(42);
  // Batch 1, odd sizes, a size past one 256-wide workgroup, and random shapes.
  const shapes = [
    [1, 1, 1, 1],
    [1, 3, 5, 7],
    [2, 4, 9, 11],
    [3, 1, 17, 13],
    ...Array.from({ length: 2 }, () => [rng.int(1, 4), rng.int(1, 8), rng.int(1, 12), rng.int(1, 12)]),
  ];

  for (const shape of shapes) {
    it(`relu ${shape.join('×')}`, async () => {
      await checkOp(gpu(), {
        what: `relu ${shape}`,
        inputs: [{ name: 'x', shape, data: awayFromZero(rng, sizeOf(shape)) }],
        reference: reluRef,
        run: ([x]) => relu(x),
      });
    });
    it(`sigmoid ${shape.join('×')}`, async () => {
      await checkOp(gpu(), {
        what: `sigmoid ${shape}`,
        inputs: [{ name: 'x', shape, data: rng.uniform(sizeOf(shape), -4, 4) }],
        reference: sigmoidRef,
        run: ([x]) => sigmoid(x),
      });
    });
  }

  it('a large tensor folds its dispatch into 2-D (over 65535 workgroups)', async () => {
    const n = 65536 * 256 + 300;
    const x = gpu().persistent(
      [n],
      new Float32Array(n).fill(-1).map((v, i) => (i % 3 === 0 ? 2 : v)),
    );
    const y = await relu(x).read();
    expect(y[n - 1]).toBe(n % 3 === 1 ? 2 : 0);
    expect(y.filter((v) => v === 2).length).toBe(Math.ceil(n / 3));
    gpu().endStep();
  });
});
