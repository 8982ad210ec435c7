// Times every conv2d kernel variant (src/ops/conv2d/kernels.ts) on the benchmark network's conv
// shapes, pass by pass, with GPU timestamps (the wall clock where there are none): the variants of a
// pass alternate within each of 5 rounds (a, b, c, a, b, c, …) and each keeps its best, so a machine
// whose speed drifts between minutes rates them all at the same moments. Shared by the Node script
// (bench/conv2d-variants.ts, lavapipe) and the browser page (bench/browser/variants.ts, SwiftShader).
import type { Gpu } from '../src/gpu/gpu.ts';
import { tunerOf } from '../src/gpu/tuner.ts';
import { type AnyConvKernel, type ConvPass, geometry } from '../src/ops/conv2d/geometry.ts';
import { applicableKernels, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, shapeClass } from '../src/ops/conv2d.ts';
import { BENCH_CONVS } from '../src/ops/index.ts';

export interface VariantTimingOptions {
  batch: number;
  /** Only variants whose name contains one of these comma-separated strings. */
  variant?: string;
  /** Only shapes whose "Cin→Cout H×W" contains this. */
  shape?: string;
  /** Only K×K kernels of this size. */
  k?: number;
  /** Only the shapes whose input and output channels are both at least this many. */
  minChannels?: number;
  /** Only these passes (all three if absent). */
  passes?: ConvPass[];
}

export interface VariantRow {
  /** e.g. "32→64 16×16 k3". */
  shape: string;
  pass: ConvPass;
  variant: string;
  /** The direct convolution's FLOPs (2·N·Cin·Cout·K²·H·W) over the best time. */
  gflops: number;
  ms: number;
  /** Whether the tuner (in the mode the caller configured) chose this variant for the shape class. */
  chosen: boolean;
}

const ROUNDS = 5;

/** Each row as it is measured goes to `onRow` too. The caller configures the tuner first. */
export async function timeConvVariants(gpu: Gpu, opts: VariantTimingOptions, onRow: (row: VariantRow) => void): Promise<VariantRow[]> {
  const tuner = tunerOf(gpu);
  const { batch } = opts;
  const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
  const rows: VariantRow[] = [];
  for (const [, cin, cout, hw, k] of BENCH_CONVS) {
    if (opts.shape && !`${cin}→${cout} ${hw}×${hw}`.includes(opts.shape)) continue;
    if ((opts.k && k !== opts.k) || Math.min(cin, cout) < (opts.minChannels ?? 0)) continue;
    const x = gpu.persistent([batch, cin, hw, hw], rand(batch * cin * hw * hw));
    const w = gpu.persistent([cout, cin, k, k], rand(cout * cin * k * k));
    const b = gpu.persistent([cout], rand(cout));
    const dy = gpu.persistent([batch, cout, hw, hw], rand(batch * cout * hw * hw));
    const g = geometry('conv2d', x.shape, w.shape);
    const flop = 2 * batch * cin * cout * k * k * hw * hw;
    const iters = Math.max(1, Math.min(20, Math.round(2e8 / flop)));
    // Through the public passes first, so the tuner meets (and then measures) each shape class.
    const passes = opts.passes ?? (['forward', 'input', 'weight'] as ConvPass[]);
    if (passes.includes('forward')) conv2dForward(x, w, b);
    if (passes.includes('input')) conv2dBackwardInput(dy, w, x.shape);
    if (passes.includes('weight')) conv2dBackwardWeight(dy, x, w.shape);
    gpu.endStep();
    await tuner.tunePending();
    const choices = tuner.choices();
    for (const pass of passes) {
      const kernels = (applicableKernels(gpu, pass, g) as AnyConvKernel[]).filter(
        (kernel) => !opts.variant || opts.variant.split(',').some((part) => kernel.name.includes(part)),
      );
      const runs = kernels.map((kernel) => () => {
        for (let i = 0; i < iters; i++) {
          if (kernel.pass === 'forward') kernel.run(gpu, { x, w, b }, g);
          else if (kernel.pass === 'input') kernel.run(gpu, { dy, w }, g);
          else kernel.run(gpu, { dy, x }, g);
        }
      });
      for (const run of runs) {
        run(); // compiles the pipelines and fills the buffer pool
        await gpu.sync();
        gpu.endStep();
      }
      const best = kernels.map(() => Infinity);
      for (let r = 0; r < ROUNDS; r++) {
        for (const [i, run] of runs.entries()) {
          const start = performance.now();
          const ms = await gpu.timeGpu(run);
          best[i] = Math.min(best[i], (ms ?? performance.now() - start) / iters);
          gpu.endStep();
        }
      }
      for (const [i, kernel] of kernels.entries()) {
        const row: VariantRow = {
          shape: `${cin}→${cout} ${hw}×${hw} k${k}`,
          pass,
          variant: kernel.name,
          gflops: flop / best[i] / 1e6,
          ms: best[i],
          chosen: choices[shapeClass(pass, g)]?.kernel === kernel.name,
        };
        rows.push(row);
        onRow(row);
      }
    }
    for (const t of [x, w, b, dy]) gpu.release(t.buffer);
  }
  return rows;
}

/** A row as the tables print it. */
export function variantLine(row: VariantRow): string {
  return [row.shape, row.pass, row.variant, row.gflops.toFixed(1), row.chosen ? 'chosen' : ''].join('\t');
}
