// How bench/ times GPU work: warm up (pipelines compiled, pool buffers allocated), pick an iteration
// count that fills a time budget, then time that many iterations with GPU timestamps where the
// adapter has them, else with the wall clock around submit → onSubmittedWorkDone. The machine may
// be shared, and noise only ever adds time, so the result is the best of a few rounds.
import type { Gpu } from '../src/gpu/gpu.ts';

export interface Timing {
  /** Milliseconds per iteration, best round. */
  ms: number;
  iterations: number;
  rounds: number;
  clock: 'gpu timestamps' | 'wall clock';
}

export interface TimingOptions {
  /** Rough time to spend on all timed iterations, in milliseconds. */
  budgetMs: number;
  maxIterations: number;
  rounds: number;
}

/** Times `encode`, which records one iteration's dispatches into gpu's current step. Each
 * iteration ends with gpu.endStep(), as a training step does, so transient buffers are recycled. */
export async function timeKernel(gpu: Gpu, encode: () => void, opts: TimingOptions): Promise<Timing> {
  const once = () => {
    encode();
    gpu.endStep();
  };
  // Warm-up, timed by the wall clock: a run longer than the budget (lavapipe's big convolutions)
  // is then timed once more, alone; a shorter one is warmed up again and sizes the measured loop.
  let t0 = performance.now();
  once();
  await gpu.sync();
  let guess = performance.now() - t0;
  let rounds = 1;
  let iterations = 1;
  if (guess < opts.budgetMs) {
    t0 = performance.now();
    once();
    await gpu.sync();
    guess = Math.max(performance.now() - t0, 0.01);
    rounds = opts.rounds;
    iterations = Math.max(1, Math.min(opts.maxIterations, Math.round(opts.budgetMs / rounds / guess)));
  }

  let best = Infinity;
  let clock: Timing['clock'] = 'wall clock';
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    const gpuMs = await gpu.timeGpu(() => {
      for (let i = 0; i < iterations; i++) once();
    });
    const ms = gpuMs ?? performance.now() - start;
    if (gpuMs !== null) clock = 'gpu timestamps';
    best = Math.min(best, ms / iterations);
  }
  return { ms: best, iterations, rounds, clock };
}
