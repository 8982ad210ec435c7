// The browser half of the training-step comparison: one framework per page load, the result left
// in window.benchResult for bench/browser.ts (puppeteer) to collect.

import { tuningStore } from '../../src/app/store.ts';
import { createBrowserGpu } from '../../src/gpu/browser.ts';
import { BASE_TRAIN_CONFIG } from '../../src/train/trainer.ts';
import { type TrainStepResult, UNMIX_AFTER, UNMIX_HAND_PICKED } from '../peers/bench-net.ts';
import { benchNetTrainConfig, benchUnmix, describeAdapter, handPickedKernels } from '../train-unmix.ts';

type Outcome = { ok: true; result: TrainStepResult } | { ok: false; error: string };
declare global {
  interface Window {
    benchResult?: Outcome;
  }
}

const q = new URLSearchParams(location.search);
const number = (name: string) => {
  const v = Number(q.get(name));
  if (!Number.isInteger(v) || v <= 0) throw new Error(`bench page: ?${name}= must be a positive integer, got ${q.get(name)}`);
  return v;
};

async function run(): Promise<TrainStepResult> {
  const fw = q.get('fw');
  const batch = number('batch');
  const warmup = number('warmup');
  const steps = number('steps');
  const environment = q.get('env') ?? navigator.userAgent;
  const gpu = await createBrowserGpu();
  if (fw === 'unmix' || fw === 'unmix-after' || fw === 'unmix-hand-picked' || fw === 'unmix-default') {
    const config = fw === 'unmix-default' ? BASE_TRAIN_CONFIG : benchNetTrainConfig(batch);
    const label = {
      unmix: 'unmix',
      'unmix-after': UNMIX_AFTER,
      'unmix-hand-picked': UNMIX_HAND_PICKED,
      'unmix-default': 'unmix (default model)',
    }[fw];
    // Each page is a fresh profile: the tuned runs measure their kernels after the first step.
    const kernels = fw === 'unmix-hand-picked' ? handPickedKernels(gpu.info) : { kind: 'tune' as const };
    return benchUnmix(gpu, { config, warmup, steps, environment, label, kernels, store: tuningStore });
  }
  // Peers: unmix's device only names the adapter, then makes way.
  const adapter = describeAdapter(gpu.info);
  gpu.destroy();
  if (fw === 'tfjs') {
    const { loadTfjs, benchTfjs } = await import('../peers/tfjs.ts');
    return benchTfjs(await loadTfjs(), { batch, warmup, steps, environment, adapter });
  }
  if (fw === 'jaxjs') {
    const { loadJax, benchJax } = await import('../peers/jaxjs.ts');
    return benchJax(await loadJax(), { batch, warmup, steps, environment, adapter });
  }
  throw new Error(`bench page: ?fw= must be unmix, unmix-after, unmix-hand-picked, unmix-default, tfjs or jaxjs, got ${fw}`);
}

const out = document.getElementById('out')!;
run().then(
  (result) => {
    out.textContent = JSON.stringify(result, null, 2);
    window.benchResult = { ok: true, result };
  },
  (e: Error) => {
    out.textContent = `error: ${e.stack ?? e.message}`;
    window.benchResult = { ok: false, error: e.stack ?? String(e) };
  },
);
