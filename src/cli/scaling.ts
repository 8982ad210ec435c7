// How test MSE falls with the samples a configuration trains on, fitted from the run ledger:
// MSE ≈ a · samples^(−b), least squares on the logs. It prices a quality target in samples, and in
// time at a measured speed, so a target's distance is a figure anyone can re-derive from the runs.
import type { LedgerRecord } from './ledger.ts';

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

// ---------------------------------------------------------------- the ledger's recipes

const sorted = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));

/** A ledger record's model, with the options it may record that were removed after c8291d8. */
export type RecordedModel = LedgerRecord['config']['model'] & { upsample?: string; heads?: string; attention?: boolean; patch?: number };

/** The network a run trained. Options a run left out take their defaults, so older records group
 * with newer ones. */
export function networkKey(r: LedgerRecord): string {
  const m: RecordedModel = r.config.model;
  return sorted({
    ...m,
    upsample: m.upsample ?? 'nearest',
    output: m.output ?? 'independent',
    heads: m.heads ?? 'sigmoid',
    residual: !!m.residual,
    attention: !!m.attention,
    patch: m.patch ?? 1,
  });
}

/** What sets a run's speed: its network and batch (the recipe does not change the work per sample). */
export const speedKey = (r: LedgerRecord) => `${networkKey(r)} batch ${r.config.batch}`;

/** The recipe a run stands for: everything but the seed, the paths and the preset it started from;
 * `anyLength`: nor its length (steps or budget), which groups runs a scaling law can fit. */
export function recipeKey(r: LedgerRecord, anyLength = false): string {
  const { seed: _seed, model: _model, ema, steps, ...rest } = r.config;
  const length = anyLength ? '' : ` steps ${steps} budget ${r.budget_minutes}`;
  return `${networkKey(r)} ${sorted(rest)} ema ${ema ?? 0}${length}`;
}

/** Runs of one recipe at two or more lengths, and the scaling law they fit. */
export interface Family {
  runs: LedgerRecord[];
  law: PowerLaw;
}

/** The recipes of evaluated runs that a scaling law can fit: one point per run that reached the end
 * of its schedule (a run its budget cut before the end never decayed its learning rate, so it is
 * not a point of its recipe's curve), two or more distinct lengths. */
export function scalingFamilies(records: LedgerRecord[]): Family[] {
  const byRecipe = new Map<string, LedgerRecord[]>();
  for (const r of records.filter((r) => r.eval && r.steps_reached === r.config.steps)) {
    const key = recipeKey(r, true);
    byRecipe.set(key, [...(byRecipe.get(key) ?? []), r]);
  }
  return [...byRecipe.values()]
    .filter((runs) => new Set(runs.map((r) => r.samples_seen)).size >= 2)
    .map((runs) => ({ runs, law: fitPowerLaw(runs.map((r) => ({ x: r.samples_seen, y: r.eval!.mse_mean }))) }));
}
