// The winograd variant (src/ops/conv2d/winograd.ts) at the network's real 3×3 shapes (channels 1 to
// 192, 8×8 to 32×32: BENCH_CONVS), each pass against its f64 defining sum, with packed's worst error
// beside it for the record (printed). Tolerance, derived: a direct sum adds cin·9 products bounded by
// |x|·|w|; F(2×2, 3×3) adds, per output, 9 of the 16 ξ sums (Aᵀ·A has at most 9 nonzero ±1 entries
// per output) of cin products U·V, with |V| ≤ 4·max|x| (Bᵀ·B sums 4 entries) and |U| ≤ 2.25·max|w|
// (G's rows sum to at most 1.5 in absolute value). The sum of the absolute terms, which bounds the
// rounding error, is then at most 9·9·cin·max|x|·max|w| against 9·cin for the direct sum: 9× the
// direct sum's tolerance (test/helpers/conv-reference.ts: convVariantTolerance).
// The weight gradient, F(3×3, 2×2): a direct sum adds N·OH·OW products |dy|·|x|, about 4 per 2×2
// tile; Winograd adds, per filter tap, the 16 ξ sums over the tiles of D·V, with |D| ≤ 4·max|dy|
// (A dy Aᵀ sums up to 4 entries) and |V| ≤ 4·max|x|, weighted by Gᵀ·G, whose rows sum to at most
// 2 in absolute value (4 for the pair). The sum of the absolute terms is then at most
// 4·16·tiles·max|dy|·max|x| against 4·tiles: 16× the direct sum's tolerance.
import { describe, expect, it } from 'vitest';
import { geometry } from '../../src/ops/conv2d/geometry.ts';
import { CONV_KERNELS } from '../../src/ops/conv2d/kernels.ts';
import { applicableKernels } from '../../src/ops/conv2d.ts';
import { BENCH_CONVS } from '../../src/ops/index.ts';
import { convVariantData, convVariantReference, convVariantTolerance, runConvVariant } from '../helpers/conv-reference.ts';
import { useGpu } from '../helpers/gpu.ts';

/** How many times a direct sum's rounding bound Winograd's can reach, per pass (derived above). */
const WINOGRAD_ERROR_GROWTH = { forward: 9, input: 9, weight: 16 };

function worstError(got: Float32Array, want: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

/** Fails on the first element of `got` farther from `want` than `growth`× the direct sum's tolerance. */
function expectWithinBound(what: string, got: Float32Array, want: Float64Array, tol: { atol: number; rtol: number }, growth: number): void {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= growth * (tol.atol + tol.rtol * Math.abs(want[i])))) {
      expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]} (bound ${growth * tol.atol})`);
    }
  }
}

describe('conv2d winograd at the network shapes', () => {
  const gpu = useGpu();

  it('leaves a batch whose tiles would pass the storage binding limit to the other kernels', () => {
    // The hour model's 48→16 decoder conv at 32×32: its tiles of x are 16 × 48 × 256 floats per
    // sample, 4× x itself, so the largest batch they fit (170 on lavapipe's 128 MiB) is far below the
    // other kernels'. An evaluation batch past it crashed `--conv winograd` runs before.
    const limit = gpu().device.limits.maxStorageBufferBindingSize;
    const batchAt = (bytes: number) => Math.floor(bytes / (4 * 16 * 48 * 16 * 16));
    for (const pass of ['forward', 'input', 'weight'] as const) {
      const names = (n: number) => applicableKernels(gpu(), pass, geometry('conv2d', [n, 48, 32, 32], [16, 48, 3, 3])).map((k) => k.name);
      expect(names(batchAt(limit)), `${pass} at the largest batch that fits`).toContain('winograd');
      expect(names(batchAt(limit) + 1), `${pass} one sample beyond`).not.toContain('winograd');
      expect(names(batchAt(limit) + 1), pass).toContain('packed');
    }
  });
  it("two convolutions of a step share Winograd's scratch: the second adds only its output to the pool, and both stay right", async () => {
    const gp = gpu();
    gp.trim();
    const g = geometry('conv2d', [2, 8, 16, 16], [16, 8, 3, 3]);
    const forward = CONV_KERNELS.forward.find((kernel) => kernel.name === 'winograd')!;
    const data = [convVariantData(g, 1), convVariantData(g, 2)];
    const inputs = data.map((d) => ({
      x: gp.persistent([g.n, g.cin, g.h, g.w], d.x),
      w: gp.persistent([g.cout, g.cin, 3, 3], d.w),
      b: gp.persistent([g.cout], d.b),
    }));
    try {
      const held = [gp.pool.heldBytes];
      const ys = inputs.map((input) => {
        const { y } = forward.run(gp, input, g);
        held.push(gp.pool.heldBytes);
        return y;
      });
      // The first convolution adds its output and the scratch (its tiles alone are 4× x)...
      expect(held[1] - held[0]).toBeGreaterThan(ys[0].byteLength + 4 * inputs[0].x.byteLength);
      // ...the second, of the same shape, reuses that scratch.
      expect(held[2] - held[1]).toBe(ys[1].byteLength);
      for (const [i, y] of ys.entries()) {
        const want = convVariantReference('forward', g, data[i]);
        expectWithinBound(`convolution ${i + 1}`, await y.read(), want, convVariantTolerance('forward', g), WINOGRAD_ERROR_GROWTH.forward);
      }
    } finally {
      gp.endStep();
      for (const t of inputs.flatMap((input) => [input.x, input.w, input.b])) gp.release(t.buffer);
    }
  });
  for (const [name, cin, cout, size, k] of BENCH_CONVS) {
    if (k !== 3) continue;
    for (const pass of ['forward', 'input', 'weight'] as const) {
      const growth = WINOGRAD_ERROR_GROWTH[pass];
      it(`${pass}, ${name} ${cin}→${cout} @${size}×${size}: within ${growth}× the direct sum's tolerance`, async () => {
        const g = geometry('conv2d', [2, cin, size, size], [cout, cin, 3, 3]);
        const data = convVariantData(g, cin * 1000 + size);
        const want = convVariantReference(pass, g, data);
        const find = (n: string) => CONV_KERNELS[pass].find((kernel) => kernel.name === n)!;
        const winograd = await runConvVariant(gpu(), find('winograd'), g, data);
        const packed = await runConvVariant(gpu(), find('packed'), g, data);
        const tol = convVariantTolerance(pass, g);
        const bound = growth * tol.atol;
        const [ew, ep] = [worstError(winograd, want), worstError(packed, want)];
        console.log(
          `worst |error| ${pass} ${cin}→${cout} @${size}: winograd ${ew.toExponential(2)}, packed ${ep.toExponential(2)}, bound ${bound.toExponential(2)}`,
        );
        expectWithinBound(`${pass} winograd`, winograd, want, tol, growth);
      });
    }
  }
});
