// Pieces both command-line tools use: flag parsing with clear errors, the GPU + data setup, and a
// progress line for long work.
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { loadSourceImagesNode } from '../data/locate.ts';
import { Mixer } from '../data/mixer.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { createNodeGpu } from '../gpu/node.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses flags; on a bad flag prints the usage and exits with status 2. */
export function parseFlags(argv: string[], options: Options, usage: string): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      console.log(usage);
      process.exit(0);
    }
    return values as Record<string, string | boolean | undefined>;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}

export function numberFlag(values: Record<string, unknown>, name: string, fallback: number, integer = false): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    console.error(`--${name} must be ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return v;
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
