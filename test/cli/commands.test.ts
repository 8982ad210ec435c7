// train() and evaluateCheckpoint(), the bodies of `npm run train` and `npm run eval`, called in
// process: they return the exit status and throw what the CLI prints, without ending the process.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/common.ts';
import { evaluateCheckpoint } from '../../src/cli/eval-command.ts';
import { train } from '../../src/cli/train-command.ts';
import { readSafetensors } from '../../src/data/safetensors.ts';
import { Trainer } from '../../src/train/trainer.ts';

describe('train and eval in process', () => {
  it('train writes its checkpoint and ledger line and returns 0; eval scores the checkpoint and returns 0', async () => {
    const out = mkdtempSync(join(tmpdir(), 'unmix-commands-'));
    const args = ['--batch', '4', '--width', '2', '--depth', '2', '--warmup', '1', '--steps', '3', '--conv', 'default'];
    const status = await train([...args, '--eval-repeats', '0', '--out', out, '--ledger', join(out, 'ledger.jsonl')]);
    expect(status).toBe(0);
    const checkpoint = join(out, 'latest.safetensors');
    const { metadata } = readSafetensors(new Uint8Array(readFileSync(checkpoint)), checkpoint);
    expect([metadata.step, JSON.parse(metadata.config).model]).toEqual(['3', { width: 2, depth: 2, output: 'share' }]);
    expect(JSON.parse(readFileSync(join(out, 'ledger.jsonl'), 'utf8')).steps_reached).toBe(3);
    const grid = join(out, 'grid.png');
    const scored = await evaluateCheckpoint([
      '--weights',
      checkpoint,
      '--mixtures',
      '32',
      '--repeats',
      '1',
      '--grid',
      grid,
      '--conv',
      'default',
    ]);
    expect(scored).toBe(0);
    expect(existsSync(grid)).toBe(true);
  });

  it('throws a bad command line as a UsageError for the CLI to print', async () => {
    await expect(train(['--steps', '0'])).rejects.toThrow(UsageError);
    await expect(train(['--steps', '0'])).rejects.toThrow(/--steps takes a positive integer, not "0"/);
    await expect(evaluateCheckpoint([])).rejects.toThrow(/--weights FILE is required/);
  });

  it('a failed end-of-run evaluation keeps the run: its ledger line (eval null, the error), its checkpoint named, status 1', async () => {
    const out = mkdtempSync(join(tmpdir(), 'unmix-commands-'));
    const failing = vi.spyOn(Trainer.prototype, 'evaluate').mockRejectedValue(new Error('the device said no'));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const args = ['--batch', '4', '--width', '2', '--depth', '2', '--warmup', '1', '--steps', '3', '--conv', 'default'];
      const status = await train([
        ...args,
        '--eval-repeats',
        '1',
        '--eval-mixtures',
        '8',
        '--out',
        out,
        '--ledger',
        join(out, 'ledger.jsonl'),
      ]);
      expect(status).toBe(1);
      const record = JSON.parse(readFileSync(join(out, 'ledger.jsonl'), 'utf8'));
      expect([record.outcome, record.steps_reached, record.eval, record.error]).toEqual([
        'complete',
        3,
        null,
        'evaluation: the device said no',
      ]);
      const printed = errors.mock.calls.map((c) => String(c[0])).join('\n');
      expect(printed).toMatch(/error: the device said no/);
      expect(printed).toContain(`npm run eval -- --weights ${join(out, 'step-000003.safetensors')}`);
    } finally {
      failing.mockRestore();
      errors.mockRestore();
    }
  });
});
