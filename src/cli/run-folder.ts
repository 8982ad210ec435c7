// Where a training run writes: a folder of its own, checked and locked before any work, so that no
// two runs share a folder, a run already there is never overwritten unless asked, and a path that
// cannot be written fails at once instead of after training.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { UsageError, UserError } from '../util/user-error.ts';
import { systemReason } from './files.ts';

const LOCK = 'lock';

/** Creates `folder` and its missing parents one level at a time. (Node's recursive mkdir loops
 * forever on paths like /proc/x, where every level reports ENOENT.) */
export function makeFolder(folder: string, flag: string, given = folder): void {
  const missing: string[] = [];
  let at = resolve(folder);
  while (!existsSync(at)) {
    missing.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (existsSync(at) && !statSync(at).isDirectory())
    throw new UserError(`${flag} ${given}: ${at} is a file, not a folder`, 'choose another path');
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new UserError(`${flag} ${given}: cannot create ${dir} (${systemReason(e)})`, 'choose a folder you can write to', { cause: e });
    }
  }
}

/** Checks that `file` can be written (creating its folder) before any work, without changing it. */
export function checkWritableFile(file: string, flag: string): void {
  makeFolder(dirname(file), flag, file);
  if (existsSync(file) && statSync(file).isDirectory()) throw new UserError(`${flag} ${file}: is a folder, not a file`, 'give a file name');
  const existed = existsSync(file);
  try {
    closeSync(openSync(file, 'a'));
  } catch (e) {
    throw new UserError(`${flag} ${file}: cannot write it (${systemReason(e)})`, 'choose a path you can write to', { cause: e });
  }
  if (!existed) rmSync(file, { force: true });
}

/** `runs/<date-time>`, or `-2`, `-3`… after it when a run started in the same second: created
 * exclusively, so two runs never get the same folder. */
export function createDefaultRunFolder(root = 'runs', now = new Date()): string {
  makeFolder(root, '--out');
  const base = join(root, now.toISOString().slice(0, 19).replace(/[:T]/g, '-'));
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new UserError(`cannot create ${dir} (${systemReason(e)})`, 'pass --out DIR', { cause: e });
    }
  }
}

/** Whether a process with this id runs (one that belongs to another user counts). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the run folder for this process: refuses one another live run holds, and one holding
 * checkpoints unless `mayReuse` (resuming in it, or --overwrite). Removes temporary files a killed
 * run left there. Returns what releases the folder (a command called in process); the lock goes when
 * this process exits in any case. */
export function lockRunFolder(dir: string, mayReuse: boolean): () => void {
  makeFolder(dir, '--out');
  const lock = join(dir, LOCK);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw new UserError(`--out ${dir}: cannot write there (${systemReason(e)})`, 'choose a folder you can write to', { cause: e });
      const holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder))
        throw new UserError(`--out ${dir} is in use by another run (process ${holder})`, 'wait for it to end, or choose another --out');
      rmSync(lock, { force: true }); // left by a run that was killed
    }
  }
  const release = () => {
    process.removeListener('exit', release);
    rmSync(lock, { force: true });
    // A run that ended before writing anything leaves no empty folder behind.
    if (existsSync(dir) && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', release);
  const files = readdirSync(dir);
  for (const f of files.filter((f) => f.endsWith('.tmp'))) rmSync(join(dir, f), { force: true });
  if (!mayReuse && files.some((f) => f.endsWith('.safetensors'))) {
    rmSync(lock, { force: true });
    throw new UsageError(
      `--out ${dir} already holds a run's checkpoints`,
      'choose another --out, continue that run with --resume FILE, or pass --overwrite to replace them',
    );
  }
  return release;
}
