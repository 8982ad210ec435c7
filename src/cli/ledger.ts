// The run ledger: every `npm run train` appends one JSON line to it (runs/ledger.jsonl by default),
// so that choices of configuration can be re-checked from what was actually run.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PROTOCOL } from '../train/evaluate.ts';
import { type EvalResult, type TrainConfig, withoutRetiredOptions } from '../train/trainer.ts';

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
  outcome: 'complete' | 'budget' | 'stopped' | 'diverged';
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

export function appendLedger(file: string, record: LedgerRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

/** Every record of a ledger, in the order the runs ended; a line that is not a record names its place. */
export function readLedger(file: string): LedgerRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, i): [string, number] => [line, i])
    .filter(([line]) => line.trim())
    .map(([line, i]) => {
      try {
        return JSON.parse(line) as LedgerRecord;
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not a JSON ledger record (${(e as Error).message})`);
      }
    });
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
