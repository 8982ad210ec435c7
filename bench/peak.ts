// The adapter's peak, measured rather than taken from a data sheet: the best of a few register tile
// shapes of a barrier-free f32 matmul (shaders/bench_peak.wgsl), the ALU ceiling (register-only
// multiply-add chains, shaders/bench_alu.wgsl, the best of a few chain counts), and a vec4 copy's bandwidth. Every kernel
// figure in bench/ is expressed as a fraction of these.
import type { Gpu } from '../src/gpu/gpu.ts';
import type { Tensor } from '../src/gpu/tensor.ts';
import { Rng } from '../src/util/rng.ts';
import { type Timing, type TimingOptions, timeKernel } from './timing.ts';

/** One register tile: each invocation computes `rows` × `cols` of C (entry matmul_{rows}x{cols} of
 * shaders/bench_peak.wgsl); a workgroup is wgX × wgY invocations. */
export interface Tile {
  rows: 4 | 8;
  cols: 4 | 8 | 16;
  wgX: number;
  wgY: number;
}

export const TILES: Tile[] = [
  { rows: 4, cols: 4, wgX: 8, wgY: 8 },
  { rows: 8, cols: 8, wgX: 8, wgY: 8 },
  { rows: 8, cols: 8, wgX: 16, wgY: 4 },
  { rows: 8, cols: 16, wgX: 8, wgY: 8 },
  { rows: 8, cols: 16, wgX: 4, wgY: 16 },
];

export interface TileResult extends Tile {
  gflops: number;
  timing: Timing;
}

export interface CopyResult {
  /** Bytes moved per copy: read + write. */
  bytes: number;
  gbps: number;
  timing: Timing;
}

export interface AluResult {
  /** Independent vec4 multiply-add chains per invocation. */
  chains: number;
  gflops: number;
  timing: Timing;
}

export interface PeakResult {
  matmul: { m: number; n: number; k: number; gflops: number; best: Tile; tiles: TileResult[] };
  /** The ALU ceiling: the best of the chain counts. */
  alu: { gflops: number; chains: AluResult[] };
  /** The best of the copy sizes. */
  copy: { gbps: number; sizes: CopyResult[] };
}

/** vec4s each copy invocation moves (COPY_PER in shaders/bench_peak.wgsl). */
const COPY_PER = 8;
/** Copy sizes tried, in MiB per buffer. */
const COPY_MIB = [4, 16, 64];
/** Chain counts of the ALU kernel tried: fewer leave multiply-add latency exposed, more spill. */
const ALU_CHAINS = [4, 8, 16];
/** ALU kernel: invocations (64 per workgroup), and loop iterations of 4 multiply-adds per chain. */
const ALU_INVOCATIONS = 16_384;
const ALU_ITERATIONS = 256;
const ALU_SCALE = 0.999;
const ALU_SHIFT = 1e-3;

/** What invocation 0 of the ALU kernel stores (its first component), computed here in f64: a
 * kernel that skipped work would store something else. */
function aluExpected(chains: number): number {
  let total = 0;
  for (let j = 0; j < chains; j++) {
    let acc = j * 1e-3;
    for (let i = 0; i < ALU_ITERATIONS * 4; i++) acc = acc * ALU_SCALE + ALU_SHIFT;
    total += acc;
  }
  return total;
}

const tileDefines = (t: Tile) => ({ WG_X: t.wgX, WG_Y: t.wgY });

function matmul(gpu: Gpu, tile: Tile, a: Tensor, b: Tensor, c: Tensor, m: number, n: number, k: number): void {
  gpu.dispatch({
    shader: 'bench_peak',
    entry: `matmul_${tile.rows}x${tile.cols}`,
    defines: tileDefines(tile),
    params: { m, n, k },
    buffers: [a, b, c],
    workgroups: [n / tile.cols / tile.wgX, m / tile.rows / tile.wgY],
  });
}

/** Checks a sample of C against a CPU dot product, so a fast but wrong tile is never the peak. */
async function verify(c: Tensor, a: Float32Array, b: Float32Array, m: number, n: number, k: number, tile: Tile): Promise<void> {
  const got = await c.read();
  const rng = new Rng(7);
  for (let s = 0; s < 32; s++) {
    const i = rng.int(0, m - 1);
    const j = rng.int(0, n - 1);
    let want = 0;
    for (let q = 0; q < k; q++) want += a[i * k + q] * b[q * n + j];
    if (Math.abs(got[i * n + j] - want) > 1e-3 * (1 + Math.abs(want))) {
      throw new Error(`bench peak: matmul tile ${JSON.stringify(tile)} is wrong at C[${i}][${j}]: ${got[i * n + j]} vs ${want}`);
    }
  }
}

export async function measurePeak(gpu: Gpu, opts: TimingOptions & { size: number }): Promise<PeakResult> {
  const m = opts.size;
  const n = opts.size;
  const k = opts.size;
  const rng = new Rng(1);
  const aData = Float32Array.from(rng.uniform(m * k));
  const bData = Float32Array.from(rng.uniform(k * n));
  const a = gpu.persistent([m, k], aData, 'peak A');
  const b = gpu.persistent([k, n], bData, 'peak B');
  const c = gpu.persistent([m, n], undefined, 'peak C');
  const tiles: TileResult[] = [];
  for (const tile of TILES) {
    if (n % (tile.cols * tile.wgX) || m % (tile.rows * tile.wgY)) continue;
    const timing = await timeKernel(gpu, () => matmul(gpu, tile, a, b, c, m, n, k), opts);
    await verify(c, aData, bData, m, n, k, tile);
    tiles.push({ ...tile, gflops: (2 * m * n * k) / timing.ms / 1e6, timing });
  }
  const best = tiles.reduce((x, y) => (y.gflops > x.gflops ? y : x));

  // The copy at a few sizes: on a CPU "GPU" the caches make tensors of a few MiB (the network's, at
  // small batches) faster to stream than big ones, and a peak must not be beaten by the kernels.
  const copies: CopyResult[] = [];
  for (const mib of COPY_MIB) {
    const words = (mib * 1024 * 1024) / 4;
    const src = gpu.persistent(
      [words],
      Float32Array.from({ length: words }, (_, i) => i % 65536),
      'peak copy src',
    );
    const dst = gpu.persistent([words], undefined, 'peak copy dst');
    const timing = await timeKernel(
      gpu,
      () =>
        gpu.dispatch({
          shader: 'bench_peak',
          entry: 'copy',
          // The file's workgroup placeholders belong to the matmul; the copy kernel ignores them.
          defines: tileDefines(best),
          buffers: [src, dst],
          workgroups: [Math.ceil(words / 4 / (256 * COPY_PER))],
        }),
      opts,
    );
    const copied = await dst.read();
    const wrong = copied.findIndex((v, i) => v !== i % 65536);
    if (wrong >= 0) throw new Error(`bench peak: the ${mib} MiB copy is wrong at element ${wrong}: ${copied[wrong]}`);
    src.buffer.destroy();
    dst.buffer.destroy();
    const bytes = 2 * words * 4; // read + write
    copies.push({ bytes, gbps: bytes / timing.ms / 1e6, timing });
  }
  for (const t of [a, b, c]) t.buffer.destroy();
  const alu = await measureAlu(gpu, opts);
  return {
    matmul: { m, n, k, gflops: best.gflops, best: { rows: best.rows, cols: best.cols, wgX: best.wgX, wgY: best.wgY }, tiles },
    alu: { gflops: Math.max(...alu.map((x) => x.gflops)), chains: alu },
    copy: { gbps: Math.max(...copies.map((x) => x.gbps)), sizes: copies },
  };
}

/** The ALU ceiling at each chain count; each multiply-add of a vec4 is 8 FLOP. */
export async function measureAlu(gpu: Gpu, opts: TimingOptions): Promise<AluResult[]> {
  const out = gpu.persistent([ALU_INVOCATIONS, 4], undefined, 'peak alu out');
  const results: AluResult[] = [];
  for (const chains of ALU_CHAINS) {
    const timing = await timeKernel(
      gpu,
      () =>
        gpu.dispatch({
          shader: 'bench_alu',
          entry: 'alu',
          defines: { CHAINS: chains },
          params: { iterations: ALU_ITERATIONS, scale: ALU_SCALE, shift: ALU_SHIFT },
          buffers: [out],
          workgroups: [ALU_INVOCATIONS / 64],
        }),
      opts,
    );
    const [first] = await out.read();
    if (!(Math.abs(first - aluExpected(chains)) < 1e-3 * chains))
      throw new Error(`bench peak: the ALU kernel with ${chains} chains stored ${first}, expected ${aluExpected(chains)}`);
    const flop = ALU_INVOCATIONS * ALU_ITERATIONS * 4 * chains * 8;
    results.push({ chains, gflops: flop / timing.ms / 1e6, timing });
  }
  out.buffer.destroy();
  return results;
}
