// Numerical checks shared by the op tests.
//
// Gradient checks use a scalar probe L = Σ y·r with a fixed random r, so dL/dy = r is the seed
// given to the GPU backward, and dL/dx is estimated by central differences
//   dL/dx_i ≈ (L(x + h e_i) - L(x - h e_i)) / 2h
// of the f64 CPU reference (h = 1e-4: truncation error ~h², rounding ~1e-16/h, both far below f32
// noise), and of the f32 GPU forward itself (h = 1e-2: f32 rounding in L is ~1e-7·|L|/h).
import { expect } from 'vitest';
import { Rng } from './rng.ts';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Default comparison of an f32 GPU result with an f64 reference. */
export const F32: Tolerance = { atol: 1e-5, rtol: 1e-4 };

/** Asserts |actual - expected| <= atol + rtol·|expected| everywhere, reporting the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(excess <= worstExcess) || Number.isNaN(a)) {
      worst = i;
      worstExcess = Number.isNaN(a) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|diff| ${Math.abs(actual[worst] - expected[worst]).toExponential(2)} > atol ${tol.atol} + rtol ${tol.rtol}·|expected|)`,
    );
  }
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Central-difference gradient of a scalar function with respect to `x`, at the listed indices
 * (all of them when omitted). `x` is restored afterwards. */
export function numericalGradient(
  f: () => number,
  x: Float64Array | Float32Array,
  h: number,
  indices: Iterable<number> = x.keys(),
): Map<number, number> {
  const grad = new Map<number, number>();
  for (const i of indices) {
    const saved = x[i];
    x[i] = saved + h;
    const plus = f();
    x[i] = saved - h;
    const minus = f();
    x[i] = saved;
    grad.set(i, (plus - minus) / (2 * h));
  }
  return grad;
}

/** Async variant for differentiating the GPU forward itself (each evaluation reads back). */
export async function numericalGradientAsync(
  f: () => Promise<number>,
  x: Float32Array,
  h: number,
  indices: Iterable<number>,
): Promise<Map<number, number>> {
  const grad = new Map<number, number>();
  for (const i of indices) {
    const saved = x[i];
    x[i] = saved + h;
    const plus = await f();
    x[i] = saved - h;
    const minus = await f();
    x[i] = saved;
    grad.set(i, (plus - minus) / (2 * h));
  }
  return grad;
}

/** Compares an analytic gradient with a numerical one at the indices the latter holds. */
export function expectGradClose(analytic: ArrayLike<number>, numerical: Map<number, number>, tol: Tolerance, what: string): void {
  const idx = [...numerical.keys()];
  expectClose(
    idx.map((i) => analytic[i]),
    idx.map((i) => numerical.get(i)!),
    tol,
    `${what} (checked indices ${idx.length <= 8 ? idx.join(',') : `${idx.length} of ${analytic.length}`})`,
  );
}

/** `count` distinct indices in [0, n), drawn with a fixed seed (all of them if n <= count). */
export function sampleIndices(n: number, count: number, seed = 1): number[] {
  if (n <= count) return [...Array(n).keys()];
  const rng = new Rng(seed);
  const out = new Set<number>();
  while (out.size < count) out.add(rng.int(0, n - 1));
  return [...out].sort((a, b) => a - b);
}
