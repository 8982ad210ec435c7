// `npm run bench`: the adapter's peak, unmix's kernels at the benchmark network's shapes, and a full
// training step of that network in unmix, TensorFlow.js and jax-js, in Node (Dawn) and in headless
// Chromium, on the same adapter in the same run. Results: bench/results/*.json and bench/RESULTS.md.
//
//   npm run bench                                # defaults: about 15 minutes on lavapipe
//   npm run bench -- --batches 32,64 --quick     # fewer, shorter measurements
//   npm run bench -- --full                      # kernels at 32..256, training at batch 64, 2 + 3 steps
//   npm run bench -- --only train --no-browser   # sections: peak, kernels, train
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitOnError, UsageError } from '../src/cli/common.ts';
import type { Gpu } from '../src/gpu/gpu.ts';
import { createNodeGpu, nodeTuningStore, releaseNodeGpu } from '../src/gpu/node.ts';
import { tunerOf } from '../src/gpu/tuner.ts';
import { CONV_KERNEL_NAMES, convTuneMode } from '../src/ops/conv2d/kernels.ts';
import { PRESETS } from '../src/train/presets.ts';
import type { TrainConfig } from '../src/train/trainer.ts';
import type { BrowserOutcome, BrowserRun } from './browser.ts';
import { benchAdam, benchKernels, type KernelResult } from './kernels.ts';
import { measurePeak, type PeakResult } from './peak.ts';
import { type TrainStepResult, UNMIX_AFTER, UNMIX_HAND_PICKED } from './peers/bench-net.ts';
import {
  compare,
  comparisonLines,
  type Failure,
  kernelChoiceTable,
  kernelTable,
  type PeakFile,
  profileTable,
  type Stamp,
  type TrainFile,
  trainTable,
  writeJson,
  writeMarkdown,
} from './report.ts';
import type { TimingOptions } from './timing.ts';
import { benchNetTrainConfig, benchUnmix, describeAdapter, handPickedKernels } from './train-unmix.ts';

const USAGE = `usage: npm run bench -- [options]
  --only LIST          sections to run, comma-separated: peak,kernels,train (default: all;
                       kernels measure the peak too, to express their fractions of it)
  --batches LIST       kernel batch sizes (default 32; --full: 32,64,128,256)
  --train-batch N      training-step batch in Node (default 32; --full: 64)
  --browser-batch N    training-step batch in Chromium (default 16; --full: 64)
  --warmup N           training warm-up steps, the first included (default 1; --full: 2)
  --steps N            timed training steps (default 2; --full: 3)
  --peer-polling MODE  Node peers with Dawn's own busy polling (busy), with unmix's paced
                       polling (paced), or both, one after the other (default: both)
  --no-browser         skip headless Chromium
  --no-peers           skip TensorFlow.js and jax-js (the portable bundle has neither)
  --conv MODE          unmix's conv kernels: auto (measured after the first step, cached in
                       ~/.cache/unmix/tuning.json), default, or a variant forced (${CONV_KERNEL_NAMES.join(', ')});
                       the training section also runs the kernels hand-picked before the tuner, to compare
  --retune             measure the kernels again, ignoring the cache
  --quick              shorter kernel timing budgets, a smaller peak matmul
  --full               the long run (several hours on lavapipe)
  --help`;

exitOnError();
const HELP = '`npm run bench -- --help` lists the options';
const { values: flags } = parseArgs({
  options: {
    only: { type: 'string', default: 'peak,kernels,train' },
    batches: { type: 'string' },
    'train-batch': { type: 'string' },
    'browser-batch': { type: 'string' },
    warmup: { type: 'string' },
    steps: { type: 'string' },
    'peer-polling': { type: 'string', default: 'both' },
    'no-browser': { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    conv: { type: 'string', default: 'auto' },
    retune: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function positiveInt(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) {
    throw new UsageError(`--${name} takes positive integers, not "${text}"`, HELP);
  }
  return v;
}
const full = flags.full;
const sections = new Set(flags.only.split(','));
for (const s of sections) {
  if (!['peak', 'kernels', 'train'].includes(s)) {
    throw new UsageError(`unknown section "${s}" in --only`, 'use peak, kernels, train (comma-separated)');
  }
}
const batches = (flags.batches ?? (full ? '32,64,128,256' : '32')).split(',').map((b) => positiveInt('batches', b));
const trainBatch = positiveInt('train-batch', flags['train-batch'] ?? (full ? '64' : '32'));
const browserBatch = positiveInt('browser-batch', flags['browser-batch'] ?? (full ? '64' : '16'));
const warmup = positiveInt('warmup', flags.warmup ?? (full ? '2' : '1'));
const steps = positiveInt('steps', flags.steps ?? (full ? '3' : '2'));
const pollingFlag = flags['peer-polling'];
if (!['busy', 'paced', 'both'].includes(pollingFlag)) {
  throw new UsageError(`--peer-polling takes busy, paced or both, not "${pollingFlag}"`, HELP);
}
const kernelModeOrNull = convTuneMode(flags.retune ? 'retune' : flags.conv);
if (!kernelModeOrNull || (flags.retune && flags.conv !== 'auto')) {
  throw new UsageError(`--conv takes auto, default or a kernel variant (${CONV_KERNEL_NAMES.join(', ')}), not "${flags.conv}"`, HELP);
}
const kernelMode = kernelModeOrNull;
const peerPolling = pollingFlag === 'both' ? (['busy', 'paced'] as const) : [pollingFlag as 'busy' | 'paced'];
const timing: TimingOptions = flags.quick
  ? { budgetMs: 300, maxIterations: 10, rounds: 2 }
  : { budgetMs: 1500, maxIterations: 50, rounds: 3 };
/** A peer step on lavapipe can take a minute and its first (compiling) step several. */
const RUN_TIMEOUT_MS = 30 * 60_000;

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const log = (line: string) => console.log(line);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 60_000).toFixed(1)} min`;

function stamp(gpu: Gpu): Stamp {
  return { adapter: describeAdapter(gpu.info), date: new Date().toISOString(), command };
}

// ---------------------------------------------------------------- peak and kernels

async function peakSection(gpu: Gpu): Promise<PeakResult> {
  log(`\n== adapter peak: ${describeAdapter(gpu.info)}`);
  // More rounds than the kernels get: the peak is every fraction's denominator, and on a shared
  // machine only the best rounds show what the adapter can do.
  const peak = await measurePeak(gpu, {
    budgetMs: flags.quick ? 2000 : 5000,
    maxIterations: 50,
    rounds: 5,
    size: flags.quick ? 512 : 1024,
  });
  for (const t of peak.matmul.tiles)
    log(`  matmul ${t.rows}×${t.cols} per invocation, workgroup ${t.wgX}×${t.wgY}: ${t.gflops.toFixed(2)} GFLOP/s`);
  for (const a of peak.alu.chains) log(`  ALU, ${a.chains} vec4 multiply-add chains per invocation: ${a.gflops.toFixed(2)} GFLOP/s`);
  for (const c of peak.copy.sizes) log(`  copy ${c.bytes / 2 ** 21} MiB: ${c.gbps.toFixed(2)} GB/s`);
  log(
    `  peak matmul ${peak.matmul.gflops.toFixed(2)} GFLOP/s, ALU ceiling ${peak.alu.gflops.toFixed(2)} GFLOP/s, copy ${peak.copy.gbps.toFixed(2)} GB/s`,
  );
  const file: PeakFile = { ...stamp(gpu), ...peak };
  writeJson('peak.json', file);
  return peak;
}

async function kernelSection(gpu: Gpu, peak: PeakResult): Promise<void> {
  const kernels: KernelResult[] = [];
  await tunerOf(gpu).configure(kernelMode, nodeTuningStore());
  log(`\n== kernels (timing: ${gpu.info.hasTimestamps ? 'GPU timestamps' : 'wall clock'}, best of ${timing.rounds} rounds)`);
  kernels.push(await benchAdam(gpu, peak, timing, log));
  for (const batch of batches) {
    log(` batch ${batch} (${elapsed()})`);
    kernels.push(...(await benchKernels(gpu, batch, peak, timing, log)));
  }
  writeJson('kernels.json', {
    ...stamp(gpu),
    peak: { matmulGflops: peak.matmul.gflops, aluGflops: peak.alu.gflops, copyGbps: peak.copy.gbps },
    batches,
    kernels,
  });
  log(`\n${kernelTable(kernels)}`);
}

// ---------------------------------------------------------------- training step

/** A peer in a Node process of its own (bench/node-peer.ts). */
function nodePeer(peer: 'tfjs' | 'jaxjs', batch: number, polling: 'busy' | 'paced'): Promise<TrainStepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/node-peer.ts', peer, String(batch), String(warmup), String(steps), polling],
      {
        cwd: new URL('..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill(), RUN_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)) as TrainStepResult);
      else
        reject(new Error(`${peer} in Node exited with ${code ?? 'a timeout'}: ${(err || out).trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

async function trainSection(): Promise<void> {
  const runs: TrainStepResult[] = [];
  const failures: Failure[] = [];
  const record = (r: TrainStepResult) => {
    runs.push(r);
    log(
      `  ${r.environment} ${r.framework}, batch ${r.batch}: ${r.samplesPerS.toFixed(2)} samples/s (${(r.msPerStep / 1000).toFixed(1)} s/step, first step ${(r.firstStepMs / 1000).toFixed(1)} s) [${elapsed()}]`,
    );
  };
  const fail = (framework: string, environment: string, e: unknown) => {
    const error = e instanceof Error ? e.message : String(e);
    failures.push({ framework, environment, error });
    log(`  ${environment} ${framework}: FAILED: ${error}`);
  };

  log(`\n== training step in Node + Dawn: batch ${trainBatch}, ${warmup} warm-up + ${steps} timed steps`);
  const env = 'Node + Dawn';
  // The step `npm run train` runs: the default preset's model and batch.
  const defaultConfig = PRESETS.default.config;
  const { width, depth, output } = defaultConfig.model;
  const defaultLabel = `unmix, default preset (width ${width}, depth ${depth}, ${output} output)`;
  const unmixInNode = async (label: string, config: TrainConfig, handPicked = false) => {
    // A fresh device per run, so its memory figure counts only its own buffers.
    const gpu = await createNodeGpu();
    try {
      const kernels = handPicked ? handPickedKernels(gpu.info) : kernelMode;
      record(await benchUnmix(gpu, { config, warmup, steps, environment: env, label, kernels, store: nodeTuningStore() }));
    } catch (e) {
      fail(label, env, e);
    } finally {
      releaseNodeGpu(gpu);
    }
  };
  await unmixInNode('unmix', benchNetTrainConfig(trainBatch));
  await unmixInNode(UNMIX_HAND_PICKED, benchNetTrainConfig(trainBatch), true);
  await unmixInNode(defaultLabel, defaultConfig);
  // Each peer as it ships (Dawn's busy polling), then with the paced polling unmix's runtime uses.
  for (const polling of flags['no-peers'] ? [] : peerPolling) {
    for (const peer of ['tfjs', 'jaxjs'] as const) {
      try {
        record(await nodePeer(peer, trainBatch, polling));
      } catch (e) {
        fail(`${peer} (${polling} polling)`, env, e);
      }
    }
  }
  // unmix again: the machine's speed drifts over the minutes the peers take, so unmix is timed on
  // both sides of them and the comparison uses the mean.
  await unmixInNode(UNMIX_AFTER, benchNetTrainConfig(trainBatch));

  let chromiumEnv: string | null = null;
  // Imported only when used: puppeteer and Vite's dev server are not in the portable bundle.
  const { benchInChromium, CHROMIUM } = flags['no-browser'] ? { benchInChromium: null, CHROMIUM: '' } : await import('./browser.ts');
  if (!benchInChromium) {
    log('\n== Chromium: skipped (--no-browser)');
  } else if (!existsSync(CHROMIUM)) {
    fail('all', 'Chromium', new Error(`${CHROMIUM} not found: apt-get install -y chromium (see shared/WEBGPU.md), or pass --no-browser`));
  } else {
    log(`\n== training step in headless Chromium (SwiftShader): batch ${browserBatch}`);
    const frameworks = flags['no-peers']
      ? (['unmix', 'unmix-hand-picked'] as const)
      : (['unmix', 'unmix-hand-picked', 'tfjs', 'jaxjs', 'unmix-after'] as const);
    const browserRuns: BrowserRun[] = frameworks.map((fw) => ({
      fw,
      batch: browserBatch,
      warmup,
      steps,
    }));
    const onOutcome = (r: BrowserOutcome) => {
      if ('error' in r) fail(r.fw, 'Chromium', new Error(r.error));
      else {
        chromiumEnv = r.environment;
        record(r);
      }
    };
    await benchInChromium(browserRuns, RUN_TIMEOUT_MS, onOutcome, log);
  }

  const node = compare(runs, env, trainBatch);
  const adapter = node?.adapter ?? 'unknown';
  const file: TrainFile = {
    ...(node ?? {
      adapter,
      environment: env,
      batch: trainBatch,
      unmix_samples_per_s: null,
      tfjs_samples_per_s: null,
      ratio_vs_tfjs: null,
      jaxjs_samples_per_s: null,
      ratio_vs_jaxjs: null,
    }),
    date: new Date().toISOString(),
    command,
    chromium: chromiumEnv ? compare(runs, chromiumEnv, browserBatch) : null,
    node_paced_peers: compare(runs, env, trainBatch, true),
    runs,
    failures,
  };
  writeJson('train-step.json', file);
  log(`\n${trainTable(runs)}`);
  const profile = profileTable(runs);
  if (profile) log(`\nunmix step by kernel (GPU timestamps per dispatch):\n${profile}`);
  for (const line of comparisonLines(file)) log(line);
  const choices = kernelChoiceTable(runs);
  if (choices) log(`\nconv kernels of each unmix run (tuned vs hand-picked):\n${choices}`);
}

// ---------------------------------------------------------------- main

if (sections.has('peak') || sections.has('kernels')) {
  const gpu = await createNodeGpu();
  try {
    const peak = await peakSection(gpu);
    if (sections.has('kernels')) await kernelSection(gpu, peak);
  } finally {
    releaseNodeGpu(gpu);
  }
}
if (sections.has('train')) await trainSection();
writeMarkdown();
log(`\nwrote bench/results/*.json and bench/RESULTS.md in ${elapsed()}`);
process.exit(0);
