// npm run quality-report: writes docs/QUALITY.md (every run of the quality ledger, grouped by
// configuration) and docs/quality-vs-time.svg (test MSE against training time, the presets marked)
// from docs/quality/ledger.jsonl, the ledger that `npm run train -- --ledger …` appends to.
// Nothing in those two files is typed by hand: rerun this script after adding runs.
import { readFileSync, writeFileSync } from 'node:fs';
import { SHIPPED_WEIGHTS } from '../src/app/protocol.ts';
import { fullProtocolRun, type LedgerRecord, readLedger } from '../src/cli/ledger.ts';
import { readSafetensors } from '../src/data/safetensors.ts';
import { checkpointConfig } from '../src/train/trainer.ts';

const LEDGER = 'docs/quality/ledger.jsonl';
const REPORT = 'docs/QUALITY.md';
const PLOT = 'docs/quality-vs-time.svg';

const records = readLedger(LEDGER).filter((r) => r.eval);

/** The run behind the weights the page ships, found by the checkpoint's config and step. */
const shippedFile = `public/${SHIPPED_WEIGHTS}`;
const shippedMetadata = readSafetensors(new Uint8Array(readFileSync(shippedFile)), shippedFile).metadata;
const shipped = fullProtocolRun(records, checkpointConfig(shippedMetadata), Number(shippedMetadata.step));
if (!shipped) throw new Error(`${shippedFile}: no full-protocol run of its config at step ${shippedMetadata.step} in ${LEDGER}`);

/** The configuration a row stands for: everything but the seed, the paths and the preset it started from. */
function variantKey(r: LedgerRecord): string {
  const { seed: _seed, model: m, ema, ...rest } = r.config;
  // Options a run left out take their defaults, so older records group with newer ones.
  const model = {
    ...m,
    output: m.output ?? 'independent',
    heads: m.heads ?? 'sigmoid',
    residual: !!m.residual,
    attention: !!m.attention,
    patch: m.patch ?? 1,
  };
  const sorted = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort()));
  return `${sorted(model)} ${sorted(rest)} ema ${ema ?? 0} budget ${r.budget_minutes}`;
}

/** Only what differs from today's default model, so a row reads as its change. */
function describe(r: LedgerRecord): string {
  const m = r.config.model;
  const parts = [`w${m.width} d${m.depth}`, `b${r.config.batch}`, `lr ${r.config.lr}`, `${r.steps_reached} steps`];
  if (m.upsample !== 'nearest') parts.push(m.upsample);
  if (m.output === 'projected' || m.output === 'share') parts.push(m.output === 'share' ? 'share output' : 'projected');
  if (m.heads === 'linear') parts.push('linear heads');
  if (m.residual) parts.push('residual');
  if (m.attention) parts.push('attention');
  if ((m.patch ?? 1) > 1) parts.push(`${m.patch}×${m.patch} patches`);
  if (r.config.ema) parts.push(`EMA ${r.config.ema}`);
  if (r.budget_minutes) parts.push(`${r.budget_minutes} min budget`);
  return parts.join(', ');
}

/** A run of a preset as it is, beside flags that change no value of its recipe (kernel choices
 * change the rounding, not the recipe). */
const NEUTRAL_FLAGS = new Set([
  '--preset',
  '--out',
  '--ledger',
  '--data',
  '--eval-repeats',
  '--eval-mixtures',
  '--log-every',
  '--checkpoint-every',
  '--conv',
  '--retune',
]);
function isPresetRun(r: LedgerRecord): boolean {
  return r.preset !== 'baseline' && r.command.filter((a) => a.startsWith('--')).every((flag) => NEUTRAL_FLAGS.has(flag));
}

const sci = (x: number, digits = 2) => x.toExponential(digits);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

const groups = new Map<string, LedgerRecord[]>();
for (const r of records) {
  const key = variantKey(r);
  groups.set(key, [...(groups.get(key) ?? []), r]);
}

const header =
  '| preset | configuration | parameters | seeds | adapter | train time | samples/s | test MSE (mean ± std over repeats) | repeats × mixtures | digit | item | across seeds |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|';
const rows: string[] = [];
const commands: string[] = [];
for (const runs of groups.values()) {
  const first = runs[0];
  const perSeed = runs.map((r) => r.eval!.mse_mean);
  const seconds = mean(runs.map((r) => r.train_seconds));
  for (const r of runs) {
    const e = r.eval!;
    rows.push(
      [
        r.preset,
        describe(r),
        r.parameters.toLocaleString('en'),
        String(r.seed),
        r.adapter.split(' (')[0].replace(/\|/g, '/'),
        `${(r.train_seconds / 60).toFixed(1)} min`,
        (r.samples_seen / r.train_seconds).toFixed(0),
        e.repeats > 1 ? `${sci(e.mse_mean)} ± ${sci(e.mse_std, 1)}` : sci(e.mse_mean),
        `${e.repeats} × ${e.mixtures.toLocaleString('en')}`,
        sci(e.mse_digit),
        sci(e.mse_item),
        runs.length > 1 && r === first
          ? `${sci(mean(perSeed))} ± ${sci(std(perSeed), 1)} (${runs.length} seeds, ${(seconds / 60).toFixed(1)} min)`
          : '',
      ].join(' | '),
    );
    commands.push(`- \`npm run train -- ${r.command.join(' ')}\``);
  }
}

writeFileSync(
  REPORT,
  `# Separation quality

Generated by \`npm run quality-report\` from [quality/ledger.jsonl](quality/ledger.jsonl) — every run of
\`npm run train\` that went into a choice, one ledger line each; do not edit by hand. Test MSE is the
task's protocol (MSE over random test mixtures, both outputs, 32×32), with the repeats and mixtures each
run used: screening runs use 1 × 20,000, finalists the full 10 × 20,000. Rows of one configuration with
different seeds sit together; "across seeds" is their mean ± std. Train time and samples/s are the wall
clock of that run on its machine, which other work may have shared: compare quality at equal samples,
and speed only from runs on a quiet machine. Runs made before the CLI kept a ledger were entered from
their run folders (checkpoint metadata, eval.json and the log) by \`scripts/ledger-backfill.ts\`.

${header}
${rows.map((r) => `| ${r} |`).join('\n')}

![test MSE against training time](quality-vs-time.svg)

## The weights the page ships

[\`${shippedFile}\`](../${shippedFile}): the \`${shipped.preset}\` preset, ${describe(shipped)}, ${shipped.parameters.toLocaleString('en')}
parameters, test MSE ${sci(shipped.eval!.mse_mean)} ± ${sci(shipped.eval!.mse_std, 1)} on ${shipped.eval!.repeats} × ${shipped.eval!.mixtures.toLocaleString('en')}
(digit ${sci(shipped.eval!.mse_digit)}, item ${sci(shipped.eval!.mse_item)}). Made by \`npm run train -- ${shipped.command.join(' ')}\`;
\`--steps ${shipped.steps_reached}\` with the same other flags replays it.

## The commands
${commands.join('\n')}
`,
);

// The plot: log-scale test MSE against training minutes, one dot per run, presets labelled.
const W = 640;
const H = 360;
const M = { left: 70, right: 20, top: 20, bottom: 45 };
const xs = records.map((r) => r.train_seconds / 60);
const ys = records.map((r) => Math.log10(r.eval!.mse_mean));
const xMax = Math.max(...xs) * 1.1;
const [yLo, yHi] = [Math.floor(Math.min(...ys) * 4) / 4, Math.ceil(Math.max(...ys) * 4) / 4 || Math.min(...ys) + 1];
const px = (x: number) => M.left + (x / xMax) * (W - M.left - M.right);
const py = (y: number) => H - M.bottom - ((y - yLo) / (yHi - yLo || 1)) * (H - M.top - M.bottom);
const yTicks = Array.from({ length: Math.round((yHi - yLo) * 4) + 1 }, (_, i) => yLo + i / 4);
const xTicks = Array.from({ length: 6 }, (_, i) => (i * xMax) / 5);
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<title>unmix: test MSE against training time</title>
<rect width="${W}" height="${H}" fill="white"/>
${yTicks.map((y) => `<line x1="${M.left}" x2="${W - M.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/><text x="${M.left - 6}" y="${py(y) + 4}" text-anchor="end">${sci(10 ** y, 1)}</text>`).join('\n')}
${xTicks.map((x) => `<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${x.toFixed(0)}</text>`).join('\n')}
<text x="${(W + M.left) / 2}" y="${H - 8}" text-anchor="middle">training time (minutes)</text>
<text transform="translate(14 ${H / 2}) rotate(-90)" text-anchor="middle">test MSE (log scale)</text>
${records
  .map((r, i) => {
    const preset = isPresetRun(r);
    const dot = `<circle cx="${px(xs[i])}" cy="${py(ys[i])}" r="${preset ? 5 : 3}" fill="${preset ? '#d62728' : '#1f77b4'}" opacity="0.8"/>`;
    return preset ? `${dot}<text x="${px(xs[i]) + 7}" y="${py(ys[i]) - 6}">${r.preset}</text>` : dot;
  })
  .join('\n')}
</svg>
`;
writeFileSync(PLOT, svg);
console.log(`${REPORT}: ${records.length} runs in ${groups.size} configurations; ${PLOT}`);
