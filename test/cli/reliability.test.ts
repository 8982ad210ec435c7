// Nothing lost, whatever happens (issue 23): runs never share a folder, a folder in use or holding a
// run is refused, non-finite weights are never loaded, signals save and record the run and leave no
// process behind, a full disk leaves `latest` whole, and broken ledger lines are skipped by name.
// Each case runs the real command line with a tiny network.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/cli/ledger.ts';
import { readSafetensors, writeSafetensors } from '../../src/data/safetensors.ts';

const REPO = resolve(import.meta.dirname, '../..');
const TSX = join(REPO, 'node_modules/tsx/dist/loader.mjs');
const TINY = ['--batch', '2', '--width', '2', '--depth', '2', '--warmup', '1', '--log-every', '2', '--conv', 'default'];

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a CLI (`npm run <cli> --` with `npm: true`, else node itself) in its own process group. */
function start(
  cli: 'train' | 'eval',
  args: string[],
  opts: { cwd?: string; npm?: boolean; preload?: string; env?: Record<string, string> } = {},
) {
  const command = opts.npm
    ? ['npm', ['run', '--silent', cli, '--', ...args]]
    : [process.execPath, ['--import', TSX, ...(opts.preload ? ['--import', opts.preload] : []), join(REPO, `src/cli/${cli}.ts`), ...args]];
  const child = spawn(command[0] as string, command[1] as string[], {
    cwd: opts.cwd ?? REPO,
    detached: true,
    env: { ...process.env, UNMIX_DEBUG: '', ...opts.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c) => (stdout += c));
  child.stderr!.on('data', (c) => (stderr += c));
  const done = new Promise<Result>((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
  const waitFor = async (pattern: RegExp, timeoutMs = 120_000) => {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(stderr) && !pattern.test(stdout)) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`never printed ${pattern}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, done, waitFor, stderr: () => stderr };
}

const run = (cli: 'train' | 'eval', args: string[], opts?: Parameters<typeof start>[2]) => start(cli, args, opts).done;

/** Whether any process of the child's process group still runs. */
function groupAlive(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return true;
  } catch {
    return false;
  }
}

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `unmix-${name}-`));
const ledgerLines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

describe('nothing lost', () => {
  /** A finished tiny run whose checkpoint the loading cases alter. */
  const base = tmp('base');
  let checkpoint: Uint8Array;
  beforeAll(async () => {
    const r = await run('train', [
      ...TINY,
      '--steps',
      '2',
      '--eval-repeats',
      '0',
      '--out',
      join(base, 'run'),
      '--ledger',
      join(base, 'l.jsonl'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    checkpoint = new Uint8Array(readFileSync(join(base, 'run', 'latest.safetensors')));
  }, 120_000);

  /** The base checkpoint with one tensor's first value replaced. */
  function altered(name: string, value: number, tensor: string): string {
    const { tensors, metadata } = readSafetensors(checkpoint);
    tensors[tensor].data[0] = value;
    const file = join(base, name);
    writeFileSync(file, writeSafetensors(tensors, metadata));
    return file;
  }

  it('two runs started in the same second without --out get folders of their own, and ledger lines naming their own files', async () => {
    const cwd = tmp('same-second');
    // An earlier run's folder for each of the next 120 seconds: both runs meet a folder of their
    // second that is taken, as the second of two runs started together does.
    const now = Date.now();
    const earlier = Array.from({ length: 120 }, (_, s) => new Date(now + s * 1000).toISOString().slice(0, 19).replace(/[:T]/g, '-'));
    for (const name of earlier) {
      mkdirSync(join(cwd, 'runs', name), { recursive: true });
      writeFileSync(join(cwd, 'runs', name, 'latest.safetensors'), 'an earlier run');
    }
    const args = [...TINY, '--steps', '2', '--eval-repeats', '0'];
    const [a, b] = await Promise.all([run('train', args, { cwd }), run('train', args, { cwd })]);
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    for (const name of earlier) expect(readdirSync(join(cwd, 'runs', name))).toEqual(['latest.safetensors']);
    const folders = readdirSync(join(cwd, 'runs')).filter((f) => f !== 'ledger.jsonl' && !earlier.includes(f));
    expect(folders).toHaveLength(2);
    for (const f of folders) expect(f).toMatch(/^\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d-\d+$/);
    const checkpoints = ledgerLines(join(cwd, 'runs', 'ledger.jsonl')).map((l) => JSON.parse(l).checkpoint);
    expect(new Set(checkpoints).size).toBe(2);
    for (const f of folders) expect(readdirSync(join(cwd, 'runs', f)).sort()).toEqual(['latest.safetensors', 'step-000002.safetensors']);
  }, 120_000);

  it('a folder another live run holds is refused; a lock left by a dead process and its .tmp files are cleared', async () => {
    const out = tmp('locked');
    writeFileSync(join(out, 'lock'), `${process.pid}\n`);
    const busy = await run('train', [...TINY, '--steps', '2', '--out', out]);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(
      new RegExp(`error: --out ${out} is in use by another run \\(process ${process.pid}\\); wait for it to end`),
    );

    writeFileSync(join(out, 'lock'), '999999999\n');
    writeFileSync(join(out, 'latest.safetensors.4242.tmp'), 'cut short');
    const r = await run('train', [...TINY, '--steps', '2', '--eval-repeats', '0', '--out', out, '--ledger', join(out, 'l.jsonl')]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['l.jsonl', 'latest.safetensors', 'step-000002.safetensors']);
  }, 120_000);

  it('a folder holding a run is never overwritten unless asked (--overwrite, or --resume in it)', async () => {
    const out = join(base, 'run');
    const before = statSync(join(out, 'latest.safetensors')).mtimeMs;
    const refused = await run('train', [...TINY, '--steps', '2', '--out', out]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/error: --out .* already holds a run's checkpoints; .*--resume FILE, or pass --overwrite/);
    expect(statSync(join(out, 'latest.safetensors')).mtimeMs).toBe(before);
    const resumed = await run('train', [
      '--resume',
      join(out, 'latest.safetensors'),
      '--steps',
      '4',
      '--eval-repeats',
      '0',
      '--out',
      out,
      '--ledger',
      join(base, 'l.jsonl'),
    ]);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(readdirSync(out)).toContain('step-000004.safetensors');
  }, 120_000);

  it('loading refuses non-finite tensors, naming them: eval and --resume', async () => {
    const nan = altered('nan-weight.safetensors', NaN, 'enc1.conv1.weight');
    const inf = altered('inf-weight.safetensors', Infinity, 'dec1.conv2.weight');
    const adam = altered('nan-adam.safetensors', NaN, 'optimizer.v.enc1.conv1.weight');
    for (const [cli, file, tensor, value] of [
      ['eval', nan, 'enc1.conv1.weight', 'NaN'],
      ['eval', inf, 'dec1.conv2.weight', 'Infinity'],
      ['train', adam, 'optimizer.v.enc1.conv1.weight', 'NaN'],
    ] as const) {
      const args = cli === 'eval' ? ['--weights', file, '--grid', 'none'] : ['--resume', file, '--steps', '8', '--out', tmp('nan')];
      const r = await run(cli, args);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toContain(
        `error: ${file}: tensor "${tensor}" holds ${value} at index 0; the weights are broken; use an intact checkpoint`,
      );
    }
  }, 180_000);

  it("a checkpoint whose metadata step is not a number, or that lacks a tensor, is the file's fault, not a crash", async () => {
    const { tensors, metadata } = readSafetensors(checkpoint);
    const abc = join(base, 'step-abc.safetensors');
    writeFileSync(abc, writeSafetensors(tensors, { ...metadata, step: 'abc' }));
    delete tensors['enc1.conv1.bias'];
    const missing = join(base, 'missing-tensor.safetensors');
    writeFileSync(missing, writeSafetensors(tensors, metadata));
    const notJson = join(base, 'config-not-json.safetensors');
    writeFileSync(notJson, writeSafetensors({}, { ...metadata, config: '{width' }));
    const empty = join(base, 'config-empty.safetensors');
    writeFileSync(empty, writeSafetensors({}, { ...metadata, config: '{}' }));
    for (const [file, cause] of [
      [abc, /step-abc\.safetensors: its metadata step is "abc", not a step count; use an intact checkpoint/],
      [missing, /missing-tensor\.safetensors: tensor "enc1\.conv1\.bias" is missing; the file was written for another model/],
      [notJson, /config-not-json\.safetensors: checkpoint: its config metadata is not JSON/],
      [empty, /config-empty\.safetensors: checkpoint: its config metadata \{\} has no model/],
    ] as const) {
      const r = await run('eval', ['--weights', file, '--grid', 'none']);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(cause);
      expect(r.stderr).not.toMatch(/unexpected/);
    }
  }, 180_000);

  for (const [how, signal, npm, group] of [
    ['SIGTERM to the process group of npm run train', 'SIGTERM', true, true],
    ['SIGTERM to npm alone', 'SIGTERM', true, false],
    ['SIGHUP to npm alone', 'SIGHUP', true, false],
    ['SIGHUP to the trainer', 'SIGHUP', false, false],
  ] as const) {
    it(`${how} saves a checkpoint, records the run and leaves no process or .tmp behind`, async () => {
      const out = tmp('signal');
      const ledger = join(out, 'l.jsonl');
      const p = start(
        'train',
        [...TINY, '--steps', '100000', '--checkpoint-every', '100000', '--out', join(out, 'run'), '--ledger', ledger],
        { npm },
      );
      await p.waitFor(/training preset default/);
      await new Promise((r) => setTimeout(r, 1500));
      process.kill(group ? -p.child.pid! : p.child.pid!, signal);
      const r = await p.done;
      const end = Date.now() + 20_000;
      while (groupAlive(p.child) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(groupAlive(p.child), 'a process of the command outlived it').toBe(false);
      expect(r.stderr).toMatch(/(SIGTERM|SIGHUP|the parent process ended): saving a checkpoint before exiting/);
      const [record] = ledgerLines(ledger).map((l) => JSON.parse(l));
      expect(record).toMatchObject({ outcome: 'stopped' });
      expect(record.checkpoint).toMatch(/step-\d{6}\.safetensors$/);
      expect(existsSync(record.checkpoint)).toBe(true);
      expect(readdirSync(join(out, 'run')).filter((f) => f.endsWith('.tmp') || f === 'lock')).toEqual([]);
    }, 120_000);
  }

  it('--eval-repeats 1000000 says how long it will take; stopped during the evaluation, the run is still recorded', async () => {
    const out = tmp('eval-stop');
    const ledger = join(out, 'l.jsonl');
    const p = start('train', [...TINY, '--steps', '2', '--eval-repeats', '1000000', '--out', join(out, 'run'), '--ledger', ledger]);
    await p.waitFor(/evaluating 1000000 × 20,000 test mixtures: about \S+ at this run's speed \(Ctrl-C stops it and keeps the run/);
    process.kill(p.child.pid!, 'SIGTERM');
    const r = await p.done;
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/SIGTERM: stopping the evaluation; the run is recorded without it/);
    const [record] = ledgerLines(ledger).map((l) => JSON.parse(l));
    expect(record).toMatchObject({ outcome: 'complete', steps_reached: 2, eval: null });
  }, 120_000);

  it('a full disk during a checkpoint: a clear message, a ledger line, latest on the newest whole step file, no .tmp', async () => {
    const out = tmp('full-disk');
    const ledger = join(out, 'l.jsonl');
    const r = await run(
      'train',
      [...TINY, '--steps', '6', '--checkpoint-every', '2', '--eval-repeats', '0', '--out', join(out, 'run'), '--ledger', ledger],
      {
        preload: join(REPO, 'test/cli/full-disk.ts'),
        env: { UNMIX_TEST_FREE_WRITES: '1' },
      },
    );
    expect(r.status).toBe(1);
    const step2 = join(out, 'run', 'step-000002.safetensors');
    expect(r.stderr).toMatch(/error: a checkpoint could not be written: .*step-000004\.safetensors: the disk is full; training stopped/);
    expect(r.stderr).toContain(`--resume ${step2}`);
    expect(readdirSync(join(out, 'run')).sort()).toEqual(['latest.safetensors', 'step-000002.safetensors']);
    expect(readFileSync(join(out, 'run', 'latest.safetensors'))).toEqual(readFileSync(step2));
    const [record] = ledgerLines(ledger).map((l) => JSON.parse(l));
    expect(record).toMatchObject({ outcome: 'failed', checkpoint: step2 });
    expect(record.error).toMatch(/the disk is full/);
  }, 120_000);

  it('a ledger whose last line was cut short gets the next record on a fresh line; readers skip the broken line by name', async () => {
    const out = tmp('ledger');
    const ledger = join(out, 'l.jsonl');
    writeFileSync(ledger, `${ledgerLines(join(base, 'l.jsonl'))[0]}\n{"date":"2026-`);
    const r = await run('train', [...TINY, '--steps', '2', '--eval-repeats', '0', '--out', join(out, 'run'), '--ledger', ledger]);
    expect(r.status, r.stderr).toBe(0);
    expect(ledgerLines(ledger)).toHaveLength(3);
    const broken: string[] = [];
    const records = readLedger(ledger, (where) => broken.push(where));
    expect(records.map((x) => x.steps_reached)).toEqual([2, 2]);
    expect(broken).toEqual([`${ledger}:2`]);
  }, 120_000);

  it('--checkpoint-every 3 with read-backs every 2 checkpoints at steps 3 and 6', async () => {
    const out = tmp('every');
    const r = await run('train', [
      ...TINY,
      '--steps',
      '6',
      '--checkpoint-every',
      '3',
      '--eval-repeats',
      '0',
      '--out',
      join(out, 'run'),
      '--ledger',
      join(out, 'l.jsonl'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(out, 'run')).sort()).toEqual(['latest.safetensors', 'step-000003.safetensors', 'step-000006.safetensors']);
  }, 120_000);

  it('eval checks --grid before evaluating', async () => {
    const started = Date.now();
    const r = await run('eval', ['--weights', join(base, 'run', 'step-000002.safetensors'), '--grid', '/proc/x/grid.png']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: --grid \/proc\/x\/grid\.png: cannot create \/proc\/x \(no such file or folder\); choose a folder/m);
    expect(r.stderr).not.toMatch(/adapter:|evaluating/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it('eval prints its result even when the grid cannot be written after it (a full disk)', async () => {
    const r = await run(
      'eval',
      [
        '--weights',
        join(base, 'run', 'step-000002.safetensors'),
        '--mixtures',
        '50',
        '--repeats',
        '1',
        '--grid',
        join(tmp('grid'), 'g.png'),
      ],
      {
        preload: join(REPO, 'test/cli/full-disk.ts'),
        env: { UNMIX_TEST_FREE_WRITES: '0' },
      },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/test MSE \d\.\d+e-\d+/);
    expect(r.stderr).toMatch(/error: --grid .*g\.png: the disk is full; the result is printed all the same/);
  }, 60_000);

  it('a device limit the config cannot meet is one line before any training', async () => {
    for (const [args, cause] of [
      [
        ['--width', '512', '--depth', '4'],
        /error: --width 512 --depth 4 needs a 576 MiB weight, over this device's \d+ MiB buffer limit; lower --width or --depth/,
      ],
      [
        ['--batch', '1000000'],
        /error: --batch 1000000 at --width 8 needs a \d+ MiB activation, over this device's \d+ MiB buffer limit; lower --batch \(to \d+ or less\)/,
      ],
    ] as const) {
      const out = tmp('limits');
      const r = await run('train', [...args, '--steps', '2', '--out', join(out, 'run'), '--ledger', join(out, 'l.jsonl')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(cause);
      const ours = r.stderr.slice(r.stderr.indexOf('error: '));
      expect(ours.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/Model:|step 1/);
      expect(existsSync(join(out, 'run')), 'no empty run folder left').toBe(false);
    }
  }, 120_000);

  it('--data that is empty, a file, or holds only mnist/ is refused, never replaced by another folder', async () => {
    const empty = tmp('data-empty');
    const onlyMnist = tmp('data-mnist');
    mkdirSync(join(onlyMnist, 'mnist'));
    for (const f of readdirSync(join(REPO, '../shared/data/mnist')))
      writeFileSync(join(onlyMnist, 'mnist', f), readFileSync(join(REPO, '../shared/data/mnist', f)));
    const file = join(onlyMnist, 'mnist', readdirSync(join(onlyMnist, 'mnist'))[0]);
    for (const [data, cause] of [
      [empty, /error: MNIST and Fashion-MNIST not found\. Looked in: /],
      [onlyMnist, /error: Fashion-MNIST not found\. Looked in: [^;]*data-mnist[^;]*; pass --data DIR/],
      [file, /error: data path .* \(from --data\) is a file, not a folder/],
    ] as const) {
      const r = await run('train', [...TINY, '--steps', '2', '--data', data, '--out', join(tmp('data-out'), 'run')]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(cause);
    }
  }, 120_000);
});
