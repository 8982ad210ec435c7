// The command-line interface other tools rely on: train writes .safetensors checkpoints into --out,
// eval --json prints one JSON object; a diverging run stops and keeps its last good checkpoint.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/data/safetensors.ts';
import { PRESETS } from '../../src/train/presets.ts';

function run(script: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tinyRun = ['--batch', '4', '--width', '2', '--depth', '2', '--warmup', '1', '--log-every', '2', '--checkpoint-every', '2'];

describe('command line', () => {
  const out = mkdtempSync(join(tmpdir(), 'unmix-cli-'));

  it('train measures the conv kernels after its first step, caches the choices and records them; a second run reads them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-tune-'));
    const env = { XDG_CACHE_HOME: join(dir, 'cache'), UNMIX_CONV: 'auto' };
    const args = [...tinyRun, '--steps', '2', '--eval-repeats', '0', '--ledger', join(dir, 'ledger.jsonl')];
    const cold = run('train', [...args, '--out', join(dir, 'cold')], env);
    expect(cold.code, cold.stderr).toBe(0);
    expect(cold.stderr).toMatch(/kernels: measured \d+ shape classes in \d+s \(not training time/);
    expect(cold.stderr).toMatch(/conv2d\.forward 1→2 3×3 s1 p1 @32×32 batch 4 +\S+ \(tuned: /);
    const tuning = JSON.parse(readFileSync(join(dir, 'cache', 'unmix', 'tuning.json'), 'utf8'));
    const [adapter] = Object.keys(tuning);
    expect(Object.keys(tuning[adapter])).toContain('conv2d.forward 1→2 3×3 s1 p1 @32×32 batch 4');

    const warm = run('train', [...args, '--out', join(dir, 'warm')], env);
    expect(warm.code, warm.stderr).toBe(0);
    expect(warm.stderr).not.toMatch(/kernels: measured/);
    expect(warm.stderr).toMatch(/conv2d\.forward 1→2 3×3 s1 p1 @32×32 batch 4 +\S+ \(cached: /);
    const records = readFileSync(join(dir, 'ledger.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const r of records) expect(r.kernel_variants['conv2d.weight 2→2 3×3 s1 p1 @32×32 batch 4']).toMatch(/^[a-z0-9-]+$/);

    const forced = run('train', [...args, '--out', join(dir, 'forced'), '--conv', 'packed-rows'], env);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(/conv2d\.forward 1→2 3×3 s1 p1 @32×32 batch 4 +packed-rows \(forced\)/);
  });

  it('train writes checkpoints into --out and evaluates at the end; eval --json prints the metrics', () => {
    const train = run('train', [
      ...tinyRun,
      '--steps',
      '4',
      '--out',
      out,
      '--eval-mixtures',
      '64',
      '--eval-repeats',
      '2',
      '--ledger',
      join(out, 'ledger.jsonl'),
    ]);
    expect(train.code, train.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'eval.json',
      'latest.safetensors',
      'ledger.jsonl',
      'samples.png',
      'step-000002.safetensors',
      'step-000004.safetensors',
    ]);
    expect(train.stdout).toMatch(/test MSE \d\.\d+e-\d+ ± /);
    expect(train.stderr).toMatch(/parameters/);

    const ev = run('eval', [
      '--weights',
      join(out, 'latest.safetensors'),
      '--json',
      '--mixtures',
      '64',
      '--repeats',
      '2',
      '--grid',
      'none',
    ]);
    expect(ev.code, ev.stderr).toBe(0);
    const result = JSON.parse(ev.stdout);
    for (const key of ['mse_mean', 'mse_std', 'mse_digit', 'mse_item']) expect(typeof result[key]).toBe('number');
    expect(result.step).toBe(4);

    // The ledger: one line for the run, with everything needed to re-check it.
    const lines = readFileSync(join(out, 'ledger.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]);
    expect(record.command).toContain('--steps');
    expect(record).toMatchObject({
      preset: 'default',
      seed: PRESETS.default.config.seed,
      budget_minutes: null,
      outcome: 'complete',
      steps_reached: 4,
      samples_seen: 16,
      checkpoint: join(out, 'step-000004.safetensors'),
    });
    expect(record.config).toEqual({
      ...PRESETS.default.config,
      model: { ...PRESETS.default.config.model, width: 2, depth: 2 },
      steps: 4,
      batch: 4,
      warmupSteps: 1,
    });
    expect(record.eval).toMatchObject({ mixtures: 64, repeats: 2 });
    for (const key of ['mse_mean', 'mse_std', 'mse_digit', 'mse_item']) expect(record.eval[key]).toBeGreaterThan(0);
    expect(record.train_seconds).toBeGreaterThan(0);
    expect(record.eval_seconds).toBeGreaterThan(0);
    expect(record.adapter).toMatch(/\S/);
    expect(Date.parse(record.date)).toBeGreaterThan(0);
  });

  it('--resume on a run already at its final step says it is complete and how to train further', () => {
    const r = run('train', ['--resume', join(out, 'step-000004.safetensors'), '--out', out, '--ledger', join(out, 'unused.jsonl')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/this run is complete: it reached its final step, 4 of 4/);
    expect(r.stderr).toMatch(/--steps 8/);
    expect(r.stderr).not.toMatch(/NaN/);
    expect(existsSync(join(out, 'unused.jsonl'))).toBe(false);
  });

  it('--minutes fixes and records the step count after warm-up; --steps with it replays the run bit for bit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-budget-'));
    const ledger = join(dir, 'ledger.jsonl');
    const common = [
      '--batch',
      '4',
      '--width',
      '2',
      '--depth',
      '2',
      '--warmup',
      '10',
      '--checkpoint-every',
      '100000',
      '--eval-repeats',
      '0',
      '--ledger',
      ledger,
    ];
    // T is fitted to the budget from the warm-up's speed, so the run reaches it unless the machine
    // slows down after warm-up (other test files share the 2 cores): then the budget ends it first,
    // by design, and it is tried again, up to three runs in all.
    let budget = { code: null as number | null, stdout: '', stderr: '' };
    let first: { budget_minutes: number; train_seconds: number; outcome: string; steps_reached: number; config: { steps: number } };
    for (let attempt = 0; ; attempt++) {
      budget = run('train', [...common, '--minutes', '0.1', '--out', join(dir, 'budget'), '--overwrite']);
      expect(budget.code, budget.stderr).toBe(0);
      first = JSON.parse(readFileSync(ledger, 'utf8').trim().split('\n')[attempt]);
      expect(first.budget_minutes).toBe(0.1);
      // Stopped at the budget: over it only by the steps in flight and the closing checkpoint (on a loaded machine).
      expect(first.train_seconds).toBeLessThan(0.1 * 60 + 3);
      if (first.outcome === 'budget') expect(first.steps_reached).toBeLessThan(first.config.steps);
      if (first.outcome === 'complete' || attempt === 2) break;
    }
    const steps: number = first.config.steps;
    expect(first.outcome, `reached step ${first.steps_reached} of ${steps}`).toBe('complete');
    expect(steps).toBeGreaterThan(10);
    expect(budget.stderr).toContain(`replay exactly with --steps ${steps}`);
    const saved = readSafetensors(new Uint8Array(readFileSync(join(dir, 'budget', 'latest.safetensors'))));
    expect(saved.metadata.budget_seconds).toBe('6');
    expect(JSON.parse(saved.metadata.config).steps).toBe(steps);

    const replay = run('train', [...common, '--steps', String(steps), '--out', join(dir, 'replay')]);
    expect(replay.code, replay.stderr).toBe(0);
    const replayed = readSafetensors(new Uint8Array(readFileSync(join(dir, 'replay', 'latest.safetensors'))));
    expect(replayed.metadata.step).toBe(saved.metadata.step);
    expect(Object.keys(replayed.tensors).sort()).toEqual(Object.keys(saved.tensors).sort());
    for (const [name, t] of Object.entries(saved.tensors))
      expect(Array.from(replayed.tensors[name].data), name).toEqual(Array.from(t.data));
  });

  it('--preset takes its values and flags beside it override them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-preset-'));
    const ledger = join(dir, 'ledger.jsonl');
    const r = run('train', [
      '--preset',
      'hour',
      '--steps',
      '2',
      '--width',
      '2',
      '--depth',
      '2',
      '--batch',
      '2',
      '--warmup',
      '1',
      '--eval-repeats',
      '0',
      '--out',
      dir,
      '--ledger',
      ledger,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const record = JSON.parse(readFileSync(ledger, 'utf8'));
    const hour = PRESETS.hour.config;
    expect(record.preset).toBe('hour');
    expect(record.budget_minutes).toBeNull(); // --steps replaces the preset's budget
    expect(record.config).toEqual({ ...hour, model: { ...hour.model, width: 2, depth: 2 }, steps: 2, batch: 2, warmupSteps: 1 });
    const bad = run('train', ['--preset', 'fastest']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--preset takes ${Object.keys(PRESETS).join(', ')}, not "fastest"`);
    const both = run('train', ['--minutes', '1', '--steps', '5']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--minutes or --steps, not both/);
  });

  it('--resume continues from a checkpoint to the new --steps', () => {
    const resumed = run('train', [
      '--resume',
      join(out, 'step-000002.safetensors'),
      '--steps',
      '6',
      '--out',
      out,
      '--eval-repeats',
      '0',
      '--log-every',
      '2',
      '--ledger',
      join(out, 'resumed.jsonl'),
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming ${join(out, 'step-000002.safetensors')} at step 2: 6 steps`);
    expect(existsSync(join(out, 'step-000006.safetensors'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'resumed.jsonl'), 'utf8')).preset).toBe('resumed');
    const withPreset = run('train', ['--resume', join(out, 'step-000002.safetensors'), '--preset', 'hour']);
    expect(withPreset.code).toBe(2);
    expect(withPreset.stderr).toContain('--preset with --resume; leave out --preset');
  });

  it('stops with a clear message when the loss is no longer finite, keeping the last good checkpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-nan-'));
    const r = run('train', [
      ...tinyRun,
      // the independent heads: a projected output's clamp can keep the loss finite while the weights blow up
      '--output',
      'independent',
      '--steps',
      '40',
      '--lr',
      '1e30',
      '--log-every',
      '1',
      '--checkpoint-every',
      '1',
      '--out',
      dir,
      '--ledger',
      join(dir, 'ledger.jsonl'),
    ]);
    expect(r.code).toBe(1);
    // The weights are checked before each checkpoint, so the first non-finite one may stop the run
    // before the loss shows it; no checkpoint written holds one.
    expect(r.stderr).toMatch(/(the loss became|tensor "[\w.]+" holds) (NaN|Infinity|-Infinity)( at index \d+)? at step \d+/);
    expect(r.stderr).toMatch(/last good checkpoint is .*step-\d+\.safetensors|no checkpoint was saved yet/);
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
      const { tensors } = readSafetensors(new Uint8Array(readFileSync(join(dir, f))));
      for (const [name, t] of Object.entries(tensors)) expect(t.data.every(Number.isFinite), `${f} ${name}`).toBe(true);
    }
  });

  it('rejects a bad flag with the usage', () => {
    const r = run('train', ['--steps', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--steps takes a positive integer/);
    const e = run('eval', []);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/--weights FILE is required/);
  });
});
