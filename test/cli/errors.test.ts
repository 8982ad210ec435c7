// Every command line tool fails with one or two lines, `error: <what went wrong>; <what to do>`, and
// an exit status (2 for usage errors), without a stack trace unless --debug asks for one. Each bad
// input below names the cause and the fix its message must give. Most fail before the GPU starts.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SOURCE_FILES } from '../../src/data/datasets.ts';
import { writeSafetensors } from '../../src/data/safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'unmix-errors-'));
const file = (name: string, bytes: Uint8Array) => {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
};
const tensors = { w: { shape: [4], data: new Float32Array(4) } };
const checkpointLike = writeSafetensors(tensors, { format: 'unmix-checkpoint-v1', config: '{}' });
const truncated = file('truncated.safetensors', checkpointLike.subarray(0, checkpointLike.length - 8));
const absurd = checkpointLike.slice();
new DataView(absurd.buffer).setBigUint64(0, 1n << 62n, true);
const absurdFile = file('absurd.safetensors', absurd);
const foreign = file('foreign.safetensors', writeSafetensors(tensors));
// A data folder whose files start like gzip and then are garbage.
const corrupt = join(dir, 'corrupt-data');
for (const f of SOURCE_FILES) {
  mkdirSync(join(corrupt, f.dataset), { recursive: true });
  writeFileSync(join(corrupt, f.dataset, f.file), Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

const SCRIPTS = { train: 'src/cli/train.ts', eval: 'src/cli/eval.ts', 'fetch-data': 'data/fetch.ts', bench: 'bench/run.ts' };

interface Case {
  cli: keyof typeof SCRIPTS;
  args: string[];
  env?: Record<string, string>;
  status: number;
  cause: RegExp;
  fix: RegExp;
}

const help = (cli: string) => new RegExp(`\`npm run ${cli} -- --help\` lists the`);
const CASES: Case[] = [
  { cli: 'train', args: ['--steps', '-1'], status: 2, cause: /--steps takes a positive integer, not "-1"/, fix: help('train') },
  { cli: 'train', args: ['--steps=0'], status: 2, cause: /--steps takes a positive integer, not "0"/, fix: help('train') },
  { cli: 'train', args: ['--batch', 'sixteen'], status: 2, cause: /--batch takes a positive integer, not "sixteen"/, fix: help('train') },
  { cli: 'train', args: ['--width', '2.5'], status: 2, cause: /--width takes an integer from 1 to 512, not "2.5"/, fix: help('train') },
  { cli: 'train', args: ['--depth', '5'], status: 2, cause: /--depth takes 2, 3 or 4/, fix: help('train') },
  { cli: 'train', args: ['--lr', '-0.1'], status: 2, cause: /--lr takes a number > 0, not "-0.1"/, fix: help('train') },
  { cli: 'train', args: ['--lr', 'Infinity'], status: 2, cause: /--lr takes a number > 0, not "Infinity"/, fix: help('train') },
  { cli: 'train', args: ['--weight-decay', '-1'], status: 2, cause: /--weight-decay takes a number >= 0/, fix: help('train') },
  { cli: 'train', args: ['--seed', '-3'], status: 2, cause: /--seed takes an integer from 0 to 4294967295/, fix: help('train') },
  { cli: 'train', args: ['--eval-repeats', '-1'], status: 2, cause: /--eval-repeats takes an integer >= 0/, fix: help('train') },
  {
    cli: 'train',
    args: ['--output', 'both'],
    status: 2,
    cause: /--output takes independent, projected, share, not "both"/,
    fix: help('train'),
  },
  { cli: 'train', args: ['--ema', '1'], status: 2, cause: /--ema takes a decay in \[0, 1\), e\.g\. 0\.999, not "1"/, fix: help('train') },
  {
    cli: 'train',
    args: ['--resume', 'runs/x/latest.safetensors', '--width', '4'],
    status: 2,
    cause: /--width with --resume: the checkpoint fixes it/,
    fix: /leave out --width \(only --steps and --minutes may change a resumed run\)/,
  },
  { cli: 'train', args: ['--stepz', '10'], status: 2, cause: /unknown flag --stepz \(did you mean --steps\?\)/, fix: help('train') },
  { cli: 'train', args: ['--steps'], status: 2, cause: /--steps needs a value: a positive integer/, fix: help('train') },
  { cli: 'train', args: ['10'], status: 2, cause: /unexpected argument "10"/, fix: help('train') },
  {
    cli: 'train',
    args: ['--resume', join(dir, 'missing.safetensors')],
    status: 1,
    cause: /--resume .*missing\.safetensors: no such file or folder/,
    fix: /pass --resume a \.safetensors checkpoint written by `npm run train`/,
  },
  {
    cli: 'train',
    args: ['--resume', truncated],
    status: 1,
    cause: /truncated\.safetensors: .*the file is truncated/,
    fix: /use an intact copy/,
  },
  {
    cli: 'train',
    args: ['--resume', absurdFile],
    status: 1,
    cause: /header length of 4611686018427387904 bytes, more than the format's 100 MB limit/,
    fix: /use an intact copy/,
  },
  {
    cli: 'train',
    args: ['--resume', foreign],
    status: 1,
    cause: /foreign\.safetensors: checkpoint: not an unmix checkpoint/,
    fix: /pass --resume a \.safetensors checkpoint/,
  },
  {
    cli: 'train',
    args: ['--data', join(dir, 'nowhere')],
    status: 1,
    cause: /data folder .*nowhere \(from --data\) does not exist/,
    fix: /point it at a folder holding mnist\/ and fashion-mnist\//,
  },
  {
    cli: 'train',
    args: ['--data', corrupt],
    status: 1,
    cause: /mnist\/train-images-idx3-ubyte\.gz: corrupt or truncated gzip data .*\(MNIST read from .*corrupt-data/,
    fix: /npm run fetch-data/,
  },
  {
    cli: 'train',
    args: [],
    env: { VK_ICD_FILENAMES: join(dir, 'no-driver.json') },
    status: 1,
    cause: /Dawn found no WebGPU adapter/,
    fix: /run `npm run setup`/,
  },
  {
    cli: 'train',
    args: ['--out', '/proc/x'],
    status: 1,
    cause: /--out \/proc\/x: cannot create \/proc\/x \(no such file or folder\)/,
    fix: /choose a folder you can write to/,
  },
  {
    cli: 'train',
    args: ['--ledger', '/proc/x/l.jsonl'],
    status: 1,
    cause: /--ledger \/proc\/x\/l\.jsonl: cannot create \/proc\/x \(no such file or folder\)/,
    fix: /choose a folder you can write to/,
  },
  {
    cli: 'train',
    // Removed with the options that lost their ablations (docs/QUALITY.md): a usage error, not a crash.
    args: ['--heads', 'linear'],
    status: 2,
    cause: /unknown flag --heads/,
    fix: help('train'),
  },
  {
    cli: 'train',
    args: ['--patch', '3'],
    status: 2,
    cause: /unknown flag --patch/,
    fix: help('train'),
  },
  {
    cli: 'train',
    args: ['--minutes', '1e308'],
    status: 2,
    cause: /--minutes takes a number of minutes > 0, at most 525600/,
    fix: help('train'),
  },
  {
    cli: 'train',
    args: ['--resume', truncated, '--lr', '0.5'],
    status: 2,
    cause: /--lr with --resume: a resumed run continues its recorded schedule exactly/,
    fix: /leave out --lr \(only --steps and --minutes may change a resumed run\)/,
  },
  { cli: 'eval', args: [], status: 2, cause: /--weights FILE is required/, fix: /pass the \.safetensors checkpoint to evaluate/ },
  {
    cli: 'eval',
    args: ['--weights', join(dir, 'missing.safetensors')],
    status: 1,
    cause: /no such file or folder/,
    fix: /pass --weights a \.safetensors checkpoint/,
  },
  {
    cli: 'eval',
    args: ['--weights', truncated, '--mixtures', '0'],
    status: 2,
    cause: /--mixtures takes a positive integer, not "0"/,
    fix: help('eval'),
  },
  { cli: 'eval', args: ['--json=yes'], status: 2, cause: /--json takes no value/, fix: help('eval') },
  { cli: 'fetch-data', args: ['--dri', dir], status: 2, cause: /unknown flag --dri \(did you mean --dir\?\)/, fix: help('fetch-data') },
  { cli: 'fetch-data', args: ['--dir'], status: 2, cause: /--dir needs a value/, fix: help('fetch-data') },
  { cli: 'bench', args: ['--steps', '0'], status: 2, cause: /--steps takes positive integers, not "0"/, fix: help('bench') },
  { cli: 'bench', args: ['--only', 'kernel'], status: 2, cause: /unknown section "kernel" in --only/, fix: /use peak, kernels, train/ },
  { cli: 'bench', args: ['--fast'], status: 2, cause: /Unknown option '--fast'/, fix: /--help lists the flags/ },
];

function run(cli: keyof typeof SCRIPTS, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ status: number; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', SCRIPTS[cli], ...args], {
      env: { ...process.env, UNMIX_DEBUG: '', ...env },
      timeout: 60_000,
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: string) => (stderr += chunk));
    // 'close', not 'exit': a process can exit before its stderr has been read, and under load the
    // test then saw an empty message (CI, stop 16).
    child.on('close', (status, signal) => resolve({ status: status ?? -1, stderr: signal ? `${stderr}[killed by ${signal}]` : stderr }));
  });
}

describe.concurrent('error messages of the command line', () => {
  for (const c of CASES) {
    it(`${c.cli} ${c.args.join(' ')}${c.env ? ` (${Object.keys(c.env).join(', ')} set)` : ''}`, async () => {
      const { status, stderr } = await run(c.cli, c.args, c.env);
      // Dawn may print its own warnings first; unmix's part starts at "error:".
      const ours = stderr.slice(stderr.indexOf('error: ')).trimEnd();
      expect(stderr, stderr).toContain('error: ');
      expect(status, stderr).toBe(c.status);
      const [cause, fix] = ours.slice('error: '.length).split(/; (?=[^;]*$)/);
      expect(cause, ours).toMatch(c.cause);
      expect(fix, ours).toMatch(c.fix);
      expect(ours.split('\n').length, ours).toBeLessThanOrEqual(2);
      expect(ours, 'no stack trace').not.toMatch(/^\s+at |node:internal|\.ts:\d+/m);
    });
  }

  it('--debug and UNMIX_DEBUG=1 add the stack trace', async () => {
    for (const { args, env } of [
      { args: ['--resume', truncated, '--debug'], env: {} },
      { args: ['--resume', truncated], env: { UNMIX_DEBUG: '1' } },
    ]) {
      const { status, stderr } = await run('train', args, env);
      expect(status).toBe(1);
      expect(stderr).toMatch(/^error: .*the file is truncated; use an intact copy/m);
      expect(stderr).toMatch(/^\s+at readSafetensors \(.*src\/data\/safetensors\.ts:\d+/m);
    }
  });
});
