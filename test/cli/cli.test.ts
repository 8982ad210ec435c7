// The command-line interface other tools rely on: train writes .safetensors checkpoints into --out,
// eval --json prints one JSON object; a diverging run stops and keeps its last good checkpoint.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function run(script: string, args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const tinyRun = ['--batch', '4', '--width', '2', '--depth', '2', '--warmup', '1', '--log-every', '2', '--checkpoint-every', '2'];

describe('command line', () => {
  const out = mkdtempSync(join(tmpdir(), 'unmix-cli-'));

  it('train writes checkpoints into --out and evaluates at the end; eval --json prints the metrics', () => {
    const train = run('train', [...tinyRun, '--steps', '4', '--out', out, '--eval-mixtures', '64', '--eval-repeats', '2']);
    expect(train.code, train.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      'eval.json',
      'latest.safetensors',
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
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming at step 2/);
    expect(existsSync(join(out, 'step-000006.safetensors'))).toBe(true);
  });

  it('stops with a clear message when the loss is no longer finite, keeping the last good checkpoint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unmix-nan-'));
    const r = run('train', [...tinyRun, '--steps', '40', '--lr', '1e30', '--log-every', '1', '--checkpoint-every', '1', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the loss became (NaN|Infinity|-Infinity) at step \d+/);
    expect(r.stderr).toMatch(/last good checkpoint is .*step-\d+\.safetensors/);
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
