// unmix's kernels at the exact shapes of the benchmark network (docs/BENCH_NET.md), each
// timed alone. Convolutions are rated in GFLOP/s against the peak matmul and against the ALU
// ceiling (what arithmetic alone allows); the memory-bound ops in GB/s against the peak copy, counting each tensor the op must read or write once (the least
// traffic any implementation needs).
import { gatherIntoArena } from '../src/gpu/arena.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import type { Shape, Tensor } from '../src/gpu/tensor.ts';
import { sizeOf } from '../src/gpu/tensor.ts';
import { tunerOf } from '../src/gpu/tuner.ts';
import { BENCH_NET_CONFIG, Separator } from '../src/model/separator.ts';
import { Adam } from '../src/ops/adam.ts';
import { type KernelBench, OPS } from '../src/ops/index.ts';
import type { PeakResult } from './peak.ts';
import { type Timing, type TimingOptions, timeKernel } from './timing.ts';

export interface KernelResult {
  kernel: string;
  /** Where in the network, e.g. "enc2.conv1 32→64 @16×16". */
  shape: string;
  /** null for the optimizer, which does not depend on the batch. */
  batch: number | null;
  ms: number;
  /** GFLOP/s for convolutions, GB/s for the rest. */
  rate: number;
  unit: 'GFLOP/s' | 'GB/s';
  /** The kernel variant(s) the tuner chose for this row (conv2d), absent for ops with one kernel. */
  variant?: string;
  /** rate / the adapter's peak in that unit. */
  fractionOfPeak: number;
  /** rate / the ALU ceiling, for the GFLOP/s rows (null for the GB/s ones). */
  fractionOfAlu: number | null;
  timing: Timing;
}

/** A persistent tensor with cheap, deterministic, varied values in [-0.5, 0.5). */
function filled(gpu: Gpu, shape: Shape, label: string): Tensor {
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = ((i * 0.6180339887) % 1) - 0.5;
  return gpu.persistent(shape, data, label);
}

type Log = (line: string) => void;

/** Times one kernel and rates it: `flops` for convolutions, else `bytes` of minimum traffic. */
async function measure(
  gpu: Gpu,
  peak: PeakResult,
  opts: TimingOptions,
  log: Log,
  kernel: string,
  shape: string,
  batch: number | null,
  encode: () => void,
  work: { flops: number } | { bytes: number },
): Promise<KernelResult> {
  // The op's first run picks its kernel variants; new shape classes are measured before timing.
  const tuner = tunerOf(gpu);
  const picks = new Map<string, string>();
  tuner.onPick = (key, kernel) => picks.set(key, kernel);
  encode();
  gpu.endStep();
  if (tuner.pendingCount) await tuner.tunePending();
  picks.clear();
  encode();
  gpu.endStep();
  tuner.onPick = null;
  const variant = [...new Set(picks.values())].join(' + ');
  const timing = await timeKernel(gpu, encode, opts);
  const isConv = 'flops' in work;
  const rate = (isConv ? work.flops : work.bytes) / timing.ms / 1e6;
  const r: KernelResult = {
    kernel,
    shape,
    batch,
    ms: timing.ms,
    rate,
    unit: isConv ? 'GFLOP/s' : 'GB/s',
    ...(variant ? { variant } : {}),
    fractionOfPeak: rate / (isConv ? peak.matmul.gflops : peak.copy.gbps),
    fractionOfAlu: isConv ? rate / peak.alu.gflops : null,
    timing,
  };
  const ofAlu = r.fractionOfAlu === null ? '' : `, ${(100 * r.fractionOfAlu).toFixed(1)}% of the ALU ceiling`;
  log(
    `  ${(variant ? `${kernel} [${variant}]` : kernel).padEnd(36)} ${shape.padEnd(38)} ${r.ms.toFixed(2).padStart(10)} ms ${r.rate.toFixed(2).padStart(8)} ${r.unit.padEnd(7)} ${(100 * r.fractionOfPeak).toFixed(1).padStart(6)}% of peak${ofAlu}`,
  );
  return r;
}

/** Every kernel of a training step at batch `batch`, as each op of the index (src/ops/index.ts)
 * times its own, except the optimizer (see benchAdam). */
export async function benchKernels(gpu: Gpu, batch: number, peak: PeakResult, opts: TimingOptions, log: Log): Promise<KernelResult[]> {
  const results: KernelResult[] = [];
  const owned: Tensor[] = [];
  const input = (shape: Shape, label: string) => {
    const t = filled(gpu, shape, label);
    owned.push(t);
    return t;
  };
  const run: KernelBench['run'] = async (kernel, shape, encode, work) => {
    results.push(await measure(gpu, peak, opts, log, kernel, shape, batch, encode, work));
  };
  try {
    for (const op of OPS) await op.bench?.({ gpu, batch, input, run });
  } finally {
    await gpu.sync();
    for (const t of owned) t.buffer.destroy();
  }
  return results;
}

/** Adam over the benchmark network's parameters (independent of the batch), gathered into an
 * arena as the trainer gathers them: copies the gradients in, reads p, g, m, v and writes p, m, v. */
export async function benchAdam(gpu: Gpu, peak: PeakResult, opts: TimingOptions, log: Log): Promise<KernelResult> {
  const model = new Separator(gpu, BENCH_NET_CONFIG, 1);
  const params = model.parameters();
  gatherIntoArena(gpu, params, 'parameters');
  const grads = params.map((p) => filled(gpu, p.shape, 'grad'));
  params.forEach((p, i) => {
    p.grad = grads[i];
  });
  const adam = new Adam(gpu, params, { lr: 1e-3 });
  const count = params.reduce((s, p) => s + p.size, 0);
  try {
    return await measure(gpu, peak, opts, log, 'adam', `${count.toLocaleString('en-US')} parameters`, null, () => adam.step(), {
      bytes: 7 * 4 * count,
    });
  } finally {
    await gpu.sync();
    adam.destroy();
    for (const t of [params[0], ...grads, ...model.namedBuffers().map(([, t]) => t)]) t.buffer.destroy();
  }
}
