// Results on disk: one JSON file per section under bench/results/, each stamped with the adapter and
// the date, and bench/RESULTS.md, rebuilt from whichever of those files exist (a run of one section
// keeps the others' latest figures).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KernelResult } from './kernels.ts';
import type { PeakResult } from './peak.ts';
import { type TrainStepResult, UNMIX_AFTER } from './peers/bench-net.ts';
import { PACED_SUFFIX } from './peers/node-env.ts';

export interface Stamp {
  adapter: string;
  date: string;
  /** The command line that produced the file. */
  command: string;
}

/** alu is absent in files written before the ALU ceiling was measured. */
export type PeakFile = Stamp & Omit<PeakResult, 'alu'> & Partial<Pick<PeakResult, 'alu'>>;
export interface KernelsFile extends Stamp {
  /** aluGflops: absent in files written before the ALU ceiling was measured. */
  peak: { matmulGflops: number; aluGflops?: number; copyGbps: number };
  batches: number[];
  kernels: KernelResult[];
}
/** One preset's A/B (bench/ab.ts): the step profile of each side (two runs each, alternated), and
 * the training samples/s of each CLI run. */
export interface AbStep {
  dispatches: number;
  encodeMs: number;
  gpuMs: number;
  kernels: Record<string, number>;
}
export interface AbPreset {
  preset: string;
  steps: number;
  step: { old: AbStep[]; new: AbStep[] };
  cli: { old: number[]; new: number[] };
  /** Mean samples/s of the new side's CLI runs over the old side's. */
  ratio: number;
}
export interface AbFile {
  date: string;
  command: string;
  /** Short commit hashes of the two sides. */
  old: string;
  new: string;
  presets: AbPreset[];
}
/** One training run of a checkout's page (bench/page.ts). */
export interface PageRun {
  side: 'old' | 'new';
  batch: number;
  /** Steps between the first step counter the page showed and the last. */
  stepsTimed: number;
  seconds: number;
  samplesPerS: number;
  /** The page's own readout, its last value while running. */
  pageSamplesPerS: number;
}
export interface PageFile {
  date: string;
  command: string;
  environment: string;
  preset: string;
  conv: string;
  steps: number;
  /** Short commit hashes of the two sides. */
  old: string;
  new: string;
  runs: PageRun[];
  /** Mean samples/s new over old. */
  ratio: number;
}
export type Failure = { framework: string; environment: string; error: string };
export interface EnvironmentComparison {
  adapter: string;
  environment: string;
  batch: number;
  unmix_samples_per_s: number | null;
  tfjs_samples_per_s: number | null;
  ratio_vs_tfjs: number | null;
  jaxjs_samples_per_s: number | null;
  ratio_vs_jaxjs: number | null;
}
export interface TrainFile extends Stamp, EnvironmentComparison {
  chromium: EnvironmentComparison | null;
  /** Node again, with the peers given unmix's paced Dawn polling (null when not run). */
  node_paced_peers: EnvironmentComparison | null;
  /** Every run in full: first-step time, memory, loss, and the default model's. */
  runs: TrainStepResult[];
  failures: Failure[];
}

export const RESULTS_DIR = new URL('./results/', import.meta.url);
const MARKDOWN = new URL('./RESULTS.md', import.meta.url);
const path = (name: string) => join(RESULTS_DIR.pathname, name);

/** The short commit checked out in `dir`, naming the sides of an A/B (empty outside a git checkout). */
export function commitOf(dir: string): string {
  return spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).stdout.trim();
}

export function writeJson(name: string, data: unknown): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path(name), `${JSON.stringify(data, null, 2)}\n`);
}

function readJson<T>(name: string): T | null {
  return existsSync(path(name)) ? (JSON.parse(readFileSync(path(name), 'utf8')) as T) : null;
}

/** unmix / tfjs and unmix / jax-js among the runs of one environment at one batch: the peers as
 * they ship, or (paced) the Node runs where they were given unmix's paced Dawn polling. */
export function compare(runs: TrainStepResult[], environment: string, batch: number, paced = false): EnvironmentComparison | null {
  const of = (prefix: string) =>
    runs.find(
      (r) =>
        r.environment === environment &&
        r.batch === batch &&
        r.framework.startsWith(prefix) &&
        r.framework.endsWith(PACED_SUFFIX) === paced,
    );
  // unmix's figure: the mean of its runs before and after the peers (either alone if one failed).
  const unmixRuns = runs.filter(
    (r) => r.environment === environment && r.batch === batch && (r.framework === 'unmix' || r.framework === UNMIX_AFTER),
  );
  const unmix = unmixRuns.length ? unmixRuns.reduce((a, r) => a + r.samplesPerS, 0) / unmixRuns.length : null;
  const tfjs = of('TensorFlow.js');
  const jax = of('jax-js');
  const any = unmixRuns[0] ?? tfjs ?? jax;
  if (!any || (paced && !tfjs && !jax)) return null;
  const ratio = (peer: TrainStepResult | undefined) => (unmix && peer ? unmix / peer.samplesPerS : null);
  return {
    adapter: any.adapter,
    environment,
    batch,
    unmix_samples_per_s: unmix,
    tfjs_samples_per_s: tfjs?.samplesPerS ?? null,
    ratio_vs_tfjs: ratio(tfjs),
    jaxjs_samples_per_s: jax?.samplesPerS ?? null,
    ratio_vs_jaxjs: ratio(jax),
  };
}

// ---------------------------------------------------------------- text tables

const fixed = (v: number | null | undefined, digits = 2) => (v === null || v === undefined ? 'n/a' : v.toFixed(digits));
const mib = (b: number | null) => (b === null ? 'n/a' : `${(b / 2 ** 20).toFixed(0)} MiB`);

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function trainTable(runs: TrainStepResult[]): string {
  return table(
    [
      'environment',
      'framework',
      'batch',
      'samples/s',
      'ms/step',
      'GPU ms/step',
      'dispatches/step',
      'encode ms/step',
      'first step (s)',
      'GPU memory',
      'loss',
    ],
    runs.map((r) => [
      r.environment,
      r.framework,
      String(r.batch),
      fixed(r.samplesPerS),
      fixed(r.msPerStep, 0),
      fixed(r.gpuMsPerStep, 0),
      r.dispatchesPerStep === undefined ? 'n/a' : String(r.dispatchesPerStep),
      fixed(r.encodeMsPerStep),
      fixed(r.firstStepMs / 1000, 1),
      mib(r.gpuMemoryBytes),
      fixed(r.loss, 4),
    ]),
  );
}

/** Where each unmix step's GPU time went, one column per measured configuration: the kernels that
 * took the most, the rest summed. */
export function profileTable(runs: TrainStepResult[], top = 10): string | null {
  const profiled = runs.filter((r) => r.profile?.length);
  if (!profiled.length) return null;
  const totals = profiled.map((r) => r.profile!.reduce((a, k) => a + k.ms, 0));
  const ranked = new Map<string, number>();
  profiled.forEach((r, i) => {
    for (const k of r.profile!) ranked.set(k.kernel, (ranked.get(k.kernel) ?? 0) + k.ms / totals[i]);
  });
  const kernels = [...ranked].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const shown = kernels.slice(0, top);
  const cell = (r: TrainStepResult, i: number, names: string[]) => {
    const parts = r.profile!.filter((k) => names.includes(k.kernel));
    const ms = parts.reduce((a, k) => a + k.ms, 0);
    const n = parts.reduce((a, k) => a + k.dispatches, 0);
    return n ? `${fixed(ms, 0)} ms, ${fixed((100 * ms) / totals[i], 1)}% (${n})` : '—';
  };
  return table(
    ['kernel (shader.entry)', ...profiled.map((r) => `${r.environment}, ${r.framework}, batch ${r.batch}`)],
    [
      ...shown.map((k) => [k, ...profiled.map((r, i) => cell(r, i, [k]))]),
      ...(kernels.length > top
        ? [[`${kernels.length - top} other kernels`, ...profiled.map((r, i) => cell(r, i, kernels.slice(top)))]]
        : []),
      ['all dispatches', ...profiled.map((r, i) => `${fixed(totals[i], 0)} ms (${r.profile!.reduce((a, k) => a + k.dispatches, 0)})`)],
    ],
  );
}

export function kernelTable(kernels: KernelResult[]): string {
  return table(
    ['kernel', 'variant (tuner)', 'where', 'batch', 'ms', 'rate', '% of peak', '% of ALU ceiling'],
    kernels.map((k) => [
      k.kernel,
      k.variant ?? '—',
      k.shape,
      k.batch === null ? '—' : String(k.batch),
      fixed(k.ms),
      `${fixed(k.rate)} ${k.unit}`,
      fixed(100 * k.fractionOfPeak, 1),
      k.fractionOfAlu === undefined || k.fractionOfAlu === null ? '—' : fixed(100 * k.fractionOfAlu, 1),
    ]),
  );
}

/** The conv kernel each shape class ran, one column per unmix run of the benchmark network, and a
 * last row with the run's samples/s and tuning time: tuned beside hand-picked. */
export function kernelChoiceTable(runs: TrainStepResult[]): string | null {
  const withKernels = runs.filter(
    (r) =>
      r.kernels && Object.keys(r.kernels.variants).length && r.framework.startsWith('unmix') && !r.framework.includes('default preset'),
  );
  if (!withKernels.length) return null;
  const keys = [...new Set(withKernels.flatMap((r) => Object.keys(r.kernels!.variants)))].sort();
  return table(
    ['shape class', ...withKernels.map((r) => `${r.environment}, ${r.framework} (${r.kernels!.mode})`)],
    [
      ...keys.map((key) => [key, ...withKernels.map((r) => r.kernels!.variants[key] ?? '—')]),
      [
        'samples/s (tuning time)',
        ...withKernels.map(
          (r) => `${fixed(r.samplesPerS)} (${r.kernels!.tuningSeconds === null ? 'none' : `${fixed(r.kernels!.tuningSeconds, 1)} s`})`,
        ),
      ],
    ],
  );
}

function comparisonLine(c: EnvironmentComparison, note = ''): string {
  return (
    `${c.environment}${note}, batch ${c.batch}: unmix ${fixed(c.unmix_samples_per_s)} samples/s; ` +
    `TensorFlow.js ${fixed(c.tfjs_samples_per_s)} (unmix/tfjs ${fixed(c.ratio_vs_tfjs)}×); ` +
    `jax-js ${fixed(c.jaxjs_samples_per_s)} (unmix/jax-js ${fixed(c.ratio_vs_jaxjs)}×)`
  );
}

export function comparisonLines(t: TrainFile): string[] {
  return [
    comparisonLine(t),
    ...(t.node_paced_peers ? [comparisonLine(t.node_paced_peers, ', peers also with paced Dawn polling')] : []),
    ...(t.chromium ? [comparisonLine(t.chromium)] : []),
  ];
}

function kernelChoiceSection(runs: TrainStepResult[]): string[] {
  const choices = kernelChoiceTable(runs);
  if (!choices) return [];
  return [
    '',
    '### Which conv kernel each shape class ran',
    '',
    'The tuner (src/gpu/tuner.ts) times the variants that apply on the adapter after the first step, at the',
    'training batch, and keeps the fastest by a 10 % margin over the default; "hand-picked" is the choice hard-coded',
    'before it (packed kernels; all K kernel rows per update on SwiftShader). Tuning time is not in the step time.',
    '',
    choices,
  ];
}

function profileSection(runs: TrainStepResult[]): string[] {
  const profile = profileTable(runs);
  if (!profile) return [];
  return [
    '',
    "### Where unmix's step spends its GPU time",
    '',
    'One more step, each dispatch in a compute pass of its own between two timestamps, summed by kernel',
    '(milliseconds, share of the step, dispatches). conv2d.conv runs the forward and input-gradient',
    'convolutions, conv2d_weight.* the weight gradients, conv2d_layout.* the zero-padding and weight',
    'repacking they read from.',
    '',
    profile,
  ];
}

export function writeMarkdown(): void {
  const peak = readJson<PeakFile>('peak.json');
  const kernels = readJson<KernelsFile>('kernels.json');
  const train = readJson<TrainFile>('train-step.json');
  const out: string[] = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts) from the JSON files in bench/results/, which hold every',
    'figure in full (`npm run bench -- --help` for the flags; `--full` runs kernels at batches 32 to 256).',
    '',
    'These figures come from a CPU-only machine (2 cores of a virtual machine whose speed drifts by up to',
    'a third from minute to minute): WebGPU there is Mesa lavapipe under Dawn in Node and SwiftShader in',
    'headless Chromium, so absolute numbers are small and noisy. What carries over is the comparison: each',
    'framework runs the same network on the same adapter, one after the other, in the same run.',
    '',
    'In Node, Dawn (npm `webgpu`) settles GPU promises by polling from a setImmediate loop that keeps a core',
    "busy while any is pending; on a 2-core CPU adapter that core is half the device. unmix's runtime paces",
    'that polling to once a millisecond (src/gpu/node.ts). The peers are measured both as they ship and',
    'with the same pacing, so both comparisons are on record.',
    '',
  ];
  if (train) {
    out.push(
      '## Training step: unmix vs TensorFlow.js and jax-js',
      '',
      `The benchmark network (docs/BENCH_NET.md: 472,290 parameters, Adam lr 1e-3, batch norm in training`,
      `mode, (MSE(digit) + MSE(item)) / 2), one full step (GPU batch mixing, forward, loss, backward, update,`,
      `no read-back) per iteration. ${train.date}, \`${train.command}\`. unmix is timed before and after`,
      'the peers in each environment, and its figure in the ratios is the mean of the two.',
      '',
      ...comparisonLines(train).map((l) => `- ${l}`),
      '',
      trainTable(train.runs),
      '',
      'First step = wall time of step 1 until its loss was read back (shader compilation included). GPU ms/step',
      '(unmix only) = one more step timed with GPU timestamps, from its first dispatch to its last (gaps between',
      'its submissions included): far below ms/step means the CPU side (encoding, submission) is the bottleneck.',
      'Dispatches/step and encode ms/step (unmix only): the compute dispatches one step encodes, and the CPU time',
      'to encode and submit it with the GPU idle, not waiting for it (median of 5 steps): the floor of a step on',
      'an infinitely fast GPU.',
      'GPU memory = live bytes of the GPU buffers each framework created, counted the same way for all three',
      "(hooking its device's createBuffer/destroy), pooled-but-free buffers included; unmix's leaves out the",
      '105 MiB of MNIST + Fashion-MNIST images its mixer keeps on the GPU (the peers mix from a pool of 4',
      'batches of random images, which is counted).',
      ...profileSection(train.runs),
      ...kernelChoiceSection(train.runs),
      '',
      '### What makes the step fast',
      '',
      "- Node: Dawn's GPU promises are polled on a 1 ms timer instead of a busy loop, leaving both cores to",
      '  lavapipe (1.8× on the step; src/gpu/node.ts).',
      '- Convolutions: a zero-padded source so the hot loop has no bounds checks and only vec4 loads; each',
      '  invocation computes 8 output channels × 16 output pixels; weights packed per block of 8 channels so',
      "  a kernel row's taps are neighbours. The tap loops are unrolled by the shader preprocessor",
      '  (`#unroll`), since SwiftShader compiles loops as written (1.7× there); accumulators are updated once',
      '  per kernel row of taps on lavapipe and once per all K² taps, with no row loop, on SwiftShader',
      '  (1.6× there). Both are chosen per adapter and both are tested.',
      '- Weight gradients: 8 output × 2 input channels and all taps per invocation (1.3-1.4×), lanes that',
      '  differ only in input channel, row slices summed by a second pass instead of atomics; they read the',
      '  zero-padded x the forward pass made.',
      '- Fewer passes: ReLU fused into batch norm forward and backward (20 dispatches fewer per step), the',
      '  conv bias written by the weight-repacking pass, zero padding 8 planes per invocation (2×).',
      "- Fewer dispatches (issue 20): the model's parameters live in one arena (src/gpu/arena.ts), which",
      '  Adam updates in one dispatch (the EMA too) from a gradient arena that backward writes into',
      "  directly; batch norm's training passes are one dispatch each way, a workgroup per channel; the",
      "  packed forward pass lays out the input gradient's weights in its own repack dispatch; the loss",
      "  reads both outputs without concatenating them. The default preset's step: 206 → 132 dispatches.",
      '- A whole step is encoded into one command buffer with no read-back; pipelines, bind groups, uniforms',
      '  and buffers are reused, so a steady step allocates nothing.',
      '',
      '### GPU memory of the tuned step (issue 20)',
      '',
      "The benchmark network's step (batch 64, Node) held 634 MiB on 2026-12-02 and 1,444 MiB on 2026-12-04 with",
      '`--conv auto`. `npm run bench:memory` (bench/memory.ts; its first version, the same count, at d6308de with a',
      'new tuning cache) found 1,350 MiB live after tuning: a step acquired 1,235 MiB in 169 pooled buffers, of',
      "which Winograd's tiles 432 MiB (25 buffers), products 404 MiB (17), filters 6 MiB and partial sums 8 MiB,",
      "each layer's kept to the end of the step, 4× the tensor it transforms; and the pool kept 108 MiB more",
      "that no step asked for again: the tuner's trials (other candidates' buffers, each timed run's repeats).",
      "Now Winograd's scratch is one buffer per role that all of a step's Winograd convolutions share",
      "(Gpu.scratch: the largest layer's size, not the sum), and the tuner trims the pool after measuring.",
      'Same kernel choices (a copy of that cache), alternating d6308de and this code under the timing lock (each',
      'side: Trainer.trainStep() × 8 after 3 steps, as `npm run bench` times it): 1,242 →',
      '**544 MiB** live (2.3× less), 39.58, 39.59 → 39.60, 40.48 samples/s (1.01×). With a new cache (tuned again,',
      'other choices): 605 MiB live, nothing pooled beyond what a step acquires.',
      ...(train.failures.length
        ? ['', 'Failed runs:', ...train.failures.map((f) => `- ${f.environment} ${f.framework}: ${f.error.split('\n')[0]}`)]
        : []),
      '',
    );
  }
  const ab = readJson<AbFile>('ab.json');
  if (ab) out.push(...abSection(ab));
  const page = readJson<PageFile>('page.json');
  if (page) out.push(...pageSection(page));
  if (peak) {
    out.push(
      '## Adapter peak',
      '',
      `${peak.adapter}, ${peak.date}. Best register tile of a barrier-free f32 matmul (shaders/bench_peak.wgsl),`,
      `${peak.matmul.m}×${peak.matmul.n}×${peak.matmul.k}: **${fixed(peak.matmul.gflops)} GFLOP/s**; vec4 copy, best of`,
      `${peak.copy.sizes.map((c) => `${c.bytes / 2 ** 21} MiB (${fixed(c.gbps)})`).join(', ')}: **${fixed(peak.copy.gbps)} GB/s** (read + write).`,
      ...(peak.alu
        ? [
            `ALU ceiling (independent vec4 multiply-add chains on registers, nothing loaded in the loop, as vkpeak`,
            `measures a GPU), best of ${peak.alu.chains.map((a) => `${a.chains} chains (${fixed(a.gflops)})`).join(', ')}: **${fixed(peak.alu.gflops)} GFLOP/s**.`,
          ]
        : []),
      '',
      table(
        ['tile (rows × cols per invocation)', 'workgroup', 'GFLOP/s'],
        peak.matmul.tiles.map((t) => [`${t.rows} × ${t.cols}`, `${t.wgX} × ${t.wgY}`, fixed(t.gflops)]),
      ),
      '',
    );
  }
  if (kernels) {
    out.push(
      "## Kernels at the benchmark network's shapes",
      '',
      `${kernels.adapter}, ${kernels.date}, batches ${kernels.batches.join(', ')}. Convolutions in GFLOP/s as a fraction of the`,
      `peak matmul (${fixed(kernels.peak.matmulGflops)} GFLOP/s) and of the ALU ceiling (${fixed(kernels.peak.aluGflops)} GFLOP/s, what arithmetic`,
      `alone allows); the rest in GB/s of minimum traffic (each tensor read or`,
      `written once) as a fraction of the peak copy (${fixed(kernels.peak.copyGbps)} GB/s). Times are the best of a few rounds`,
      '(GPU timestamps).',
      '',
      kernelTable(kernels.kernels),
      '',
    );
  }
  writeFileSync(MARKDOWN, out.join('\n'));
}

function pageSection(p: PageFile): string[] {
  const faster = p.ratio >= 1 ? p.new : p.old;
  return [
    `## The page's training: ${p.new} against ${p.old}`,
    '',
    `${p.date}, \`${p.command}\`, ${p.environment}: each checkout's page served by Vite in a fresh browser`,
    `profile (old, new, old, new), the ${p.preset} preset picked in its form, ${p.steps} steps with no time budget, \`?conv=${p.conv}\`.`,
    "Samples/s = steps × batch over the seconds between the page's first step counter and its last (the first",
    "chunk, with its pipeline compiles, left out); the page's own readout beside it.",
    '',
    table(
      ['run', 'commit', 'batch', 'steps timed', 'seconds', 'samples/s', 'page readout'],
      p.runs.map((r, i) => [
        String(i + 1),
        r.side === 'old' ? p.old : p.new,
        String(r.batch),
        String(r.stepsTimed),
        fixed(r.seconds),
        fixed(r.samplesPerS),
        fixed(r.pageSamplesPerS),
      ]),
    ),
    '',
    `Mean samples/s ${p.new} / ${p.old}: **${p.ratio.toFixed(3)}×**: ${faster}'s page trained faster.`,
    '',
  ];
}

function abSection(ab: AbFile): string[] {
  const best = (steps: AbStep[], key: 'encodeMs' | 'gpuMs') => Math.min(...steps.map((x) => x[key]));
  const kernelMs = (steps: AbStep[], prefix: string) =>
    Math.min(...steps.map((x) => Object.entries(x.kernels).reduce((a, [k, ms]) => a + (k.startsWith(prefix) ? ms : 0), 0)));
  const groups = ['conv2d.', 'conv2d_weight.', 'conv2d_layout.', 'batchnorm2d.', 'adam.', 'concat.', 'mse.'];
  return [
    `## Step A/B: ${ab.new} against ${ab.old}`,
    '',
    `${ab.date}, \`${ab.command}\`: the two checkouts alternated on the same machine (step profiles old, new,`,
    "old, new; then CLI runs the same way). Step: the preset's training step with synthetic images and each",
    "pass's default conv kernel (bench/ab-step.ts); encode ms = CPU time to encode and submit it with the GPU",
    'idle (median of 51 steps), GPU ms = timestamps around it (best of 3), and per kernel group the best profiled',
    'step. CLI: training samples/s of `npm run train -- --preset P --steps N --eval-repeats 0 --conv MODE`',
    "(MODE as the command gives it, default: each pass's default kernel), samples seen over training seconds",
    'from its ledger line, each side warmed up by a short run first.',
    '',
    table(
      ['preset', 'side', 'dispatches/step', 'encode ms/step', 'GPU ms/step', ...groups.map((g) => `${g}* ms`), 'CLI samples/s', 'new/old'],
      ab.presets.flatMap((p) =>
        (['old', 'new'] as const).map((side) => [
          p.preset,
          `${side} (${side === 'old' ? ab.old : ab.new})`,
          String(p.step[side][0].dispatches),
          fixed(best(p.step[side], 'encodeMs')),
          fixed(best(p.step[side], 'gpuMs'), 1),
          ...groups.map((g) => fixed(kernelMs(p.step[side], g), 1)),
          p.cli[side].map((v) => fixed(v, 1)).join(', '),
          side === 'new' ? `${fixed(p.ratio, 3)}×` : '',
        ]),
      ),
    ),
    '',
  ];
}
