// How test MSE falls with the samples a configuration trains on, fitted from the run ledger:
// MSE ≈ a · samples^(−b), least squares on the logs. It prices a quality target in samples, and in
// time at a measured speed, so a target's distance is a figure anyone can re-derive from the runs.

export interface PowerLaw {
  a: number;
  /** The exponent: MSE falls by a factor 2^b each time the samples double. */
  b: number;
}

export interface Point {
  x: number;
  y: number;
}

/** y ≈ a · x^(−b), fitted by least squares on log y against log x; needs 2 or more distinct x. */
export function fitPowerLaw(points: Point[]): PowerLaw {
  const bad = points.find((p) => !(p.x > 0 && p.y > 0 && Number.isFinite(p.x) && Number.isFinite(p.y)));
  if (bad) throw new Error(`fitPowerLaw: points must be positive and finite, got (${bad.x}, ${bad.y})`);
  const distinct = new Set(points.map((p) => p.x)).size;
  if (distinct < 2) throw new Error(`fitPowerLaw: needs points at 2 or more distinct x, got ${distinct}`);
  const lx = points.map((p) => Math.log(p.x));
  const ly = points.map((p) => Math.log(p.y));
  const mx = lx.reduce((s, v) => s + v, 0) / lx.length;
  const my = ly.reduce((s, v) => s + v, 0) / ly.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((v, i) => {
    sxy += (v - mx) * (ly[i] - my);
    sxx += (v - mx) ** 2;
  });
  const slope = sxy / sxx;
  return { a: Math.exp(my - slope * mx), b: -slope };
}

export function predict(law: PowerLaw, x: number): number {
  return law.a * x ** -law.b;
}

/** The x at which the law reaches y; Infinity where it never falls that far (b ≤ 0). */
export function inverse(law: PowerLaw, y: number): number {
  return law.b > 0 ? (law.a / y) ** (1 / law.b) : Number.POSITIVE_INFINITY;
}
