// `npm run bench:ab -- --old DIR`: this checkout against an older commit's, on the same machine in
// one run, alternating (old, new, old, new, …) so that the machine's drift falls on both alike:
//   - the training step of each preset (bench/ab-step.ts): dispatches, encode ms, GPU ms, by kernel;
//   - training samples/s through the CLI a user runs, `npm run train -- --preset P --steps N`
//     (no evaluation, each pass's default conv kernel unless --conv auto), after one short run per
//     side (which, tuned, fills the kernel-tuning cache).
// DIR is a worktree of the older commit with node_modules beside it, e.g.
//   git worktree add /tmp/unmix-old c8291d8 && ln -s "$PWD/node_modules" /tmp/unmix-old/
// Results: bench/results/ab.json and a section of bench/RESULTS.md. On a shared machine, run it
// under `flock /tmp/unmix-timing.lock`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exitOnError, UsageError } from '../src/cli/common.ts';
import { type AbFile, type AbPreset, commitOf, writeJson, writeMarkdown } from './report.ts';

const USAGE = `usage: npm run bench:ab -- --old DIR [options]
  --old DIR        a checkout of the older commit, with node_modules (required)
  --presets LIST   presets to compare (default: default,hour)
  --steps LIST     training steps of each timed CLI run, one per preset (default: 400,120)
  --rounds N       (old, new) pairs of CLI runs per preset (default: 2)
  --data DIR       the datasets' folder, passed to both sides' CLI runs (default: what each finds)
  --conv MODE      the CLI runs' conv kernels (default: default, each pass's default kernel on both
                   sides: the tuner's picks vary from run to run on a loaded machine; auto: tuned)
  --help`;

exitOnError();
const HELP = '`npm run bench:ab -- --help` lists the options';
const { values: flags } = parseArgs({
  options: {
    old: { type: 'string' },
    presets: { type: 'string', default: 'default,hour' },
    steps: { type: 'string', default: '400,120' },
    rounds: { type: 'string', default: '2' },
    data: { type: 'string' },
    conv: { type: 'string', default: 'default' },
    help: { type: 'boolean', default: false },
    debug: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!flags.old) throw new UsageError('--old DIR is required', HELP);
const sides = { old: resolve(flags.old), new: resolve(new URL('..', import.meta.url).pathname) };
if (!existsSync(join(sides.old, 'src/cli/train.ts')) || !existsSync(join(sides.old, 'node_modules'))) {
  throw new UsageError(
    `${sides.old} is not an unmix checkout with node_modules`,
    'make one with git worktree add, and link node_modules into it',
  );
}
const presets = flags.presets.split(',');
const steps = flags.steps.split(',').map(Number);
const rounds = Number(flags.rounds);
if (steps.length !== presets.length || !steps.every((s) => Number.isInteger(s) && s > 0) || !(Number.isInteger(rounds) && rounds > 0)) {
  throw new UsageError('--steps takes one positive step count per preset, --rounds a positive integer', HELP);
}

const tsx = (cwd: string, args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0)
    throw new Error(`${args.join(' ')} in ${cwd} exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
};
const scratch = mkdtempSync(join(tmpdir(), 'unmix-ab-'));

/** Training samples/s of one CLI run: samples seen over training seconds, from its ledger line. */
function cliSamplesPerS(side: 'old' | 'new', preset: string, n: number): number {
  const out = join(scratch, `${side}-${preset}-${n}-${Date.now()}`);
  const ledger = join(out, 'ledger.jsonl');
  const data = flags.data ? ['--data', resolve(flags.data)] : [];
  tsx(sides[side], [
    'src/cli/train.ts',
    '--preset',
    preset,
    '--steps',
    String(n),
    '--eval-repeats',
    '0',
    '--out',
    out,
    '--ledger',
    ledger,
    ...data,
  ]);
  const record = JSON.parse(readFileSync(ledger, 'utf8').trim().split('\n').pop()!) as { samples_seen: number; train_seconds: number };
  return record.samples_seen / record.train_seconds;
}

const results: AbPreset[] = [];
try {
  for (const [i, preset] of presets.entries()) {
    console.log(`== ${preset}`);
    const step = { old: [] as AbPreset['step']['old'], new: [] as AbPreset['step']['new'] };
    for (let r = 0; r < 2; r++) {
      for (const side of ['old', 'new'] as const) {
        const line = tsx(sides.new, [join(sides.new, 'bench/ab-step.ts'), sides[side], preset])
          .trim()
          .split('\n')
          .pop()!;
        step[side].push(JSON.parse(line));
        const s = step[side][step[side].length - 1];
        console.log(`  step, ${side}: ${s.dispatches} dispatches, encode ${s.encodeMs.toFixed(2)} ms, GPU ${s.gpuMs.toFixed(1)} ms`);
      }
    }
    for (const side of ['old', 'new'] as const) cliSamplesPerS(side, preset, 5); // fills the tuning cache
    const cli = { old: [] as number[], new: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const side of ['old', 'new'] as const) {
        cli[side].push(cliSamplesPerS(side, preset, steps[i]));
        console.log(`  npm run train -- --preset ${preset} --steps ${steps[i]}, ${side}: ${cli[side].at(-1)!.toFixed(1)} samples/s`);
      }
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    results.push({ preset, steps: steps[i], step, cli, ratio: mean(cli.new) / mean(cli.old) });
    console.log(`  samples/s new/old: ${results.at(-1)!.ratio.toFixed(3)}×`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const file: AbFile = {
  date: new Date().toISOString(),
  command: `npm run bench:ab -- ${process.argv.slice(2).join(' ')}`,
  old: commitOf(sides.old),
  new: commitOf(sides.new),
  presets: results,
};
writeJson('ab.json', file);
writeMarkdown();
console.log('wrote bench/results/ab.json and bench/RESULTS.md');
process.exit(0);
