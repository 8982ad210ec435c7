// Pieces the command-line tools share: flag parsing that checks every value, errors printed as
// `error: <what went wrong>; <what to do>` without a stack trace, reading checkpoints, the GPU + data
// setup, and a progress line for long work.
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { loadSourceImagesNode } from '../data/locate.ts';
import { Mixer } from '../data/mixer.ts';
import { readSafetensors } from '../data/safetensors.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { createNodeGpu, nodeTuningStore } from '../gpu/node.ts';
import { tunerOf } from '../gpu/tuner.ts';
import { CONV_KERNEL_NAMES, convTuneMode } from '../ops/conv2d/kernels.ts';
import { accepts, fromText, OPTIONS, type OptionRow } from '../train/options.ts';
import { isPresetName, PRESET_NAMES } from '../train/presets.ts';
import { checkpointConfig, type TrainConfig } from '../train/trainer.ts';
import { closestName } from '../util/closest.ts';
import { UsageError, UserError } from '../util/user-error.ts';
import { isSystemError, systemReason } from './files.ts';

export { UsageError, UserError };

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Stack traces are for developers: `--debug` or UNMIX_DEBUG=1 prints them with the error. */
export const debugRequested = (argv = process.argv): boolean => argv.includes('--debug') || process.env.UNMIX_DEBUG === '1';

/** The lines a failure prints: a UserError's own message; a file the system could not open, named
 * with what to check; anything else (a bug) with the way to its stack trace. */
export function formatError(e: unknown, debug: boolean): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const sys = err as NodeJS.ErrnoException;
  let line: string;
  if (err instanceof UserError) line = err.message;
  else if (sys.code?.startsWith('ERR_PARSE_ARGS_')) line = `${err.message.split('. ')[0]}; --help lists the flags`;
  else if (sys.code && sys.path) line = `${sys.syscall ?? 'cannot open'} ${sys.path}: ${systemReason(sys)}; check the path`;
  else if (isSystemError(sys))
    line = `${sys.syscall ?? 'a system call'} failed: ${systemReason(sys)}; free the disk or fix the permission, then run again`;
  else line = `${err.message}; this is unexpected: rerun with --debug (or UNMIX_DEBUG=1) to see where it happened, and report it`;
  if (!debug) return `error: ${line}`;
  const causes: string[] = [];
  for (let c = err.cause; c instanceof Error; c = c.cause) causes.push(`caused by: ${c.stack}`);
  return [`error: ${line}`, err.stack ?? '', ...causes].join('\n');
}

/** Makes any error that ends the command print as `error: …` (the stack only with --debug) and
 * exit with its status (2 for usage errors, 1 otherwise). Call first thing in a CLI's script. */
export function exitOnError(): void {
  const fail = (e: unknown) => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K'); // clear a progress line
    console.error(formatError(e, debugRequested()));
    const parseArgsError = String((e as NodeJS.ErrnoException)?.code).startsWith('ERR_PARSE_ARGS_');
    process.exit(e instanceof UserError ? e.exitCode : parseArgsError ? 2 : 1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

/** What a numeric or word flag accepts. */
interface FlagRule {
  /** How the message names it: "a positive integer". */
  says: string;
  ok: (v: string) => boolean;
}

const isNumber = (v: string) => v.trim() !== '' && Number.isFinite(Number(v));
const integerIn = (min: number, max: number) => (v: string) =>
  isNumber(v) && Number.isInteger(Number(v)) && Number(v) >= min && Number(v) <= max;
const POSITIVE_INTEGER: FlagRule = { says: 'a positive integer', ok: integerIn(1, Number.MAX_SAFE_INTEGER) };

/** The valued flags of a training configuration: the options table's rows, as flags. */
const CONFIG_FLAG_RULES: Record<string, FlagRule> = Object.fromEntries(
  OPTIONS.filter((row) => row.values.type !== 'boolean').map((row) => [
    row.flag,
    { says: row.says, ok: (v: string) => accepts(row, fromText(row, v)) },
  ]),
);

/** Every valued flag of train and eval, checked as soon as the command line is read: the training
 * configuration's from the options table, the run's own here. */
const FLAG_RULES: Record<string, FlagRule> = {
  ...CONFIG_FLAG_RULES,
  preset: { says: PRESET_NAMES.join(', '), ok: isPresetName },
  minutes: { says: 'a number of minutes > 0, at most 525600 (a year)', ok: (v) => isNumber(v) && Number(v) > 0 && Number(v) <= 525_600 },
  'checkpoint-every': POSITIVE_INTEGER,
  'log-every': POSITIVE_INTEGER,
  'eval-mixtures': POSITIVE_INTEGER,
  'eval-repeats': { says: 'an integer >= 0 (0 skips the evaluation)', ok: integerIn(0, Number.MAX_SAFE_INTEGER) },
  mixtures: POSITIVE_INTEGER,
  repeats: POSITIVE_INTEGER,
  conv: {
    says: `auto, default or a kernel variant (${CONV_KERNEL_NAMES.join(', ')})`,
    ok: (v) => v === 'auto' || v === 'default' || CONV_KERNEL_NAMES.includes(v),
  },
};

/** A usage line of an option of the table: the flag and what it takes in a column, its help wrapped
 * beside it, and its default. */
export function usageLine(row: OptionRow, fallback: unknown): string {
  const takes = { integer: ' N', number: ' X', choice: ' MODE', boolean: '' }[row.values.type];
  const text = `${row.help}${row.values.type === 'boolean' ? '' : ` (default ${fallback})`}`;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > USAGE_TEXT_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  const indent = ' '.repeat(USAGE_COLUMN);
  return `  --${row.flag}${takes}`.padEnd(USAGE_COLUMN) + lines.join(`\n${indent}`);
}
const USAGE_COLUMN = 24;
const USAGE_TEXT_WIDTH = 86;

/** The flags that choose kernels, for train, eval and bench; --conv defaults to $UNMIX_CONV, else auto. */
export const KERNEL_FLAGS: Options = { conv: { type: 'string' }, retune: { type: 'boolean' } };
export const KERNEL_USAGE = `  --conv MODE           conv2d kernels: auto (measured on this adapter, the choices cached in ~/.cache/unmix/tuning.json),
                        default (each pass's default, not measured), or a variant forced wherever it applies:
                        ${CONV_KERNEL_NAMES.join(', ')} (default: $UNMIX_CONV, else auto)
  --retune              measure the kernels again, ignoring the cached choices`;

/** Sets the device's tuner from --conv and --retune, with the Node cache file. */
export async function configureKernels(gpu: Gpu, flags: Record<string, unknown>): Promise<void> {
  const conv = String(flags.conv ?? process.env.UNMIX_CONV ?? 'auto');
  if (!FLAG_RULES.conv.ok(conv)) throw new UsageError(`UNMIX_CONV takes ${FLAG_RULES.conv.says}, not "${conv}"`, 'unset it or fix it');
  if (flags.retune && conv !== 'auto') throw new UsageError(`--retune measures kernels, but --conv ${conv} chooses them`, 'drop one');
  await tunerOf(gpu).configure(convTuneMode(flags.retune ? 'retune' : conv)!, nodeTuningStore());
}

/** Node's parseArgs reads the "-1" of "--steps -1" as a flag of its own ("argument is ambiguous"):
 * a value that looks like a negative number is joined to its flag first ("--steps=-1"). */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (name && options[name]?.type === 'string' && /^-(\d|\.\d|Infinity)/.test(argv[i + 1] ?? '')) out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** Parses flags and checks every value against FLAG_RULES; a bad command line throws a UsageError
 * naming the flag and what it takes. `usage` starts "usage: <command> -- …"; --help prints it. */
export function parseFlags(argv: string[], options: Options, usage: string): Record<string, string | boolean | undefined> {
  const command = /^usage: (.+?) --/.exec(usage)?.[1] ?? 'the command';
  const help = `\`${command} -- --help\` lists the flags`;
  const all: Options = { ...options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: joinNegativeValues(argv, all), options: all, strict: true }).values as typeof values;
  } catch (e) {
    const { code, message } = e as { code?: string; message: string };
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const near = closestName(flag.replace(/^-+/, ''), Object.keys(all));
      throw new UsageError(`unknown flag ${flag}${near ? ` (did you mean --${near}?)` : ''}`, help);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = flag.replace(/^-+/, '');
      const takes =
        all[name]?.type === 'boolean' ? 'takes no value' : `needs a value${FLAG_RULES[name] ? `: ${FLAG_RULES[name].says}` : ''}`;
      throw new UsageError(`${flag} ${takes}`, help);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
      throw new UsageError(`unexpected argument "${arg}": every input is given as a flag`, help);
    }
    throw new UsageError(message, help);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  for (const [name, value] of Object.entries(values)) {
    const rule = FLAG_RULES[name];
    if (rule && typeof value === 'string' && !rule.ok(value)) throw new UsageError(`--${name} takes ${rule.says}, not "${value}"`, help);
  }
  return values;
}

/** A numeric flag's value (parseFlags has checked it), or the fallback when it is not given. */
export function numberFlag(values: Record<string, unknown>, name: string, fallback: number): number {
  return values[name] === undefined ? fallback : Number(values[name]);
}

/** A checkpoint's bytes and training config, with errors that name the file and what to pass instead. */
export function readCheckpoint(file: string, flag: string): { bytes: Uint8Array; config: TrainConfig } {
  const fix = `pass ${flag} a .safetensors checkpoint written by \`npm run train\` (runs/<date-time>/latest.safetensors) or the page`;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new UserError(`${flag} ${file}: ${systemReason(e)}`, fix, { cause: e });
  }
  try {
    return { bytes, config: checkpointConfig(readSafetensors(bytes, file).metadata) };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${file}: ${(e as Error).message}`, fix, { cause: e });
  }
}

/** GPU device and the datasets on it, with progress on stderr. */
export async function setup(dataDir: string | undefined, quiet = false): Promise<{ gpu: Gpu; mixer: Mixer }> {
  const gpu = await createNodeGpu();
  if (!quiet) console.error(`adapter: ${gpu.info.description}`);
  const images = await loadSourceImagesNode(dataDir, (done, total, file) => {
    if (!quiet) progressLine(`loading data ${done}/${total} ${file}`);
  });
  if (!quiet) progressLine('', true);
  return { gpu, mixer: new Mixer(gpu, images) };
}

/** Rewrites one status line on stderr when it is a terminal; prints a line now and then otherwise. */
let lastPlain = 0;
export function progressLine(text: string, done = false): void {
  if (process.stderr.isTTY) {
    process.stderr.write(`\r\x1b[2K${text}${done ? '\n' : ''}`);
  } else if (done || Date.now() - lastPlain > 5000) {
    lastPlain = Date.now();
    if (text) process.stderr.write(`${text}\n`);
  }
}

export function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}
