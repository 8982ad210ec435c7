// Writes ledger records for runs made before `npm run train` kept a ledger, from what the run left:
// the checkpoint's metadata (config, step), eval.json, and the log's final training line.
//   tsx scripts/ledger-backfill.ts LEDGER RUN_DIR LOG -- ARGS…   (ARGS: the run's flags, as typed)
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { appendLedger, type LedgerRecord } from '../src/cli/ledger.ts';
import { readSafetensors } from '../src/data/safetensors.ts';
import { checkpointConfig } from '../src/train/trainer.ts';

const [ledger, runDir, log, dashes, ...command] = process.argv.slice(2);
if (!ledger || !runDir || !log || dashes !== '--') {
  console.error('usage: tsx scripts/ledger-backfill.ts LEDGER RUN_DIR LOG -- ARGS…');
  process.exit(2);
}
const { metadata } = readSafetensors(new Uint8Array(readFileSync(join(runDir, 'latest.safetensors'))), runDir);
const config = checkpointConfig(metadata);
const evalResult = JSON.parse(readFileSync(join(runDir, 'eval.json'), 'utf8'));
const text = readFileSync(log, 'utf8').replace(/\r/g, '\n');
// e.g. "step 2000: loss 1.904e-3; 6m46s for 2000 steps (157.7 samples/s)"
const final = text.match(/^step (\d+): loss \S+; (?:(\d+)m)?(\d+)s for (\d+) steps/m);
const evalLine = text.match(/test mixtures, ([\d.]+) s/);
const adapter = text.match(/^adapter: (.*)$/m);
if (!final || !adapter) throw new Error(`${log}: no final training line or adapter line`);
const steps = Number(final[1]);
const record: LedgerRecord = {
  date: statSync(join(runDir, 'latest.safetensors')).mtime.toISOString(),
  command,
  preset: command.includes('--preset') ? command[command.indexOf('--preset') + 1] : 'default',
  config,
  seed: config.seed,
  budget_minutes: null,
  outcome: 'complete',
  resumed_from: null,
  steps_reached: steps,
  samples_seen: steps * config.batch,
  parameters: Number(metadata.parameter_count),
  train_seconds: Number(final[2] ?? 0) * 60 + Number(final[3]),
  eval_seconds: evalLine ? Number(evalLine[1]) : null,
  adapter: adapter[1],
  kernel_variants: {},
  eval: evalResult,
  checkpoint: join(runDir, 'latest.safetensors'),
};
appendLedger(ledger, record);
console.log(`${ledger}: ${command.join(' ')} → ${evalResult.mse_mean.toExponential(3)}`);
