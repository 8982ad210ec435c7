// The run ledger: every `npm run train` appends one JSON line to it (runs/ledger.jsonl by default),
// so that choices of configuration can be re-checked from what was actually run.
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PROTOCOL } from '../train/evaluate.ts';
import { type EvalResult, type TrainConfig, withoutRetiredOptions } from '../train/trainer.ts';
import { makeFolder } from './run-folder.ts';

export const DEFAULT_LEDGER = 'runs/ledger.jsonl';

export interface LedgerRecord {
  date: string;
  /** The command's arguments, as typed after `npm run train --`. */
  command: string[];
  /** The preset the run started from; 'resumed' for a run resumed from a checkpoint, whose config it keeps. */
  preset: string;
  config: TrainConfig;
  seed: number;
  /** The time budget of a --minutes run, null for a run of a fixed step count. */
  budget_minutes: number | null;
  /** 'failed': a checkpoint could not be written (`error` says why; it also says why an evaluation that failed left `eval` null). */
  outcome: 'complete' | 'budget' | 'stopped' | 'diverged' | 'failed';
  error?: string;
  resumed_from: string | null;
  steps_reached: number;
  samples_seen: number;
  parameters: number;
  /** Training time of the whole run (across resumes), and evaluation time, apart. */
  train_seconds: number;
  eval_seconds: number | null;
  adapter: string;
  /** The kernel variant each shape class ran (src/gpu/tuner.ts), e.g. "conv2d.forward 8→16 3×3 s1 p1 @32×32": "packed". */
  kernel_variants: Record<string, string>;
  /** Test MSE of the end-of-run evaluation (mixtures × repeats inside), null when skipped. */
  eval: EvalResult | null;
  checkpoint: string | null;
}

/** Appends one line; after a line cut short (a crash mid-write), on a fresh line of its own. */
export function appendLedger(file: string, record: LedgerRecord): void {
  makeFolder(dirname(file), '--ledger', file);
  appendFileSync(file, `${endsMidLine(file) ? '\n' : ''}${JSON.stringify(record)}\n`);
}

function endsMidLine(file: string): boolean {
  if (!existsSync(file)) return false;
  const size = statSync(file).size;
  if (size === 0) return false;
  const last = new Uint8Array(1);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, last, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return last[0] !== 0x0a;
}

/** Every record of a ledger, in the order the runs ended. A line that is not a record (cut short by
 * a crash) is skipped, and `onBroken` told its place (a warning on stderr by default). */
export function readLedger(
  file: string,
  onBroken = (where: string, why: string) => console.error(`warning: ${where}: not a JSON ledger record, skipped (${why})`),
): LedgerRecord[] {
  const records: LedgerRecord[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      try {
        records.push(JSON.parse(line) as LedgerRecord);
      } catch (e) {
        onBroken(`${file}:${i + 1}`, (e as Error).message);
      }
    });
  return records;
}

/** The run that made a checkpoint of `config` at `step` and scored it on the full protocol's repeats:
 * how the shipped weights are traced to their command and score. */
export function fullProtocolRun(records: LedgerRecord[], config: TrainConfig, step: number): LedgerRecord | undefined {
  const recorded = (r: LedgerRecord) => {
    const current = withoutRetiredOptions(r.config.model);
    return 'model' in current && JSON.stringify({ ...r.config, model: current.model }) === JSON.stringify(config);
  };
  return records.find((r) => recorded(r) && r.steps_reached === step && r.eval?.repeats === PROTOCOL.repeats);
}
