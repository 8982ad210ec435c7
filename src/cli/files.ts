// Files that must survive a power loss, a full disk and a second process: written to a temporary
// name of this process's own, flushed to disk, renamed into place, and the rename flushed with the
// folder. A write that fails removes its temporary file; one cut short by a signal is removed on exit.
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** What a system error code means, in words a user acts on. */
const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EROFS: 'a read-only file system',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EFBIG: 'the file is over the size limit',
  EEXIST: 'a file of that name exists',
};

/** A system error's reason ("the disk is full"), or its code, or its message. */
export function systemReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return SYSTEM_REASONS[code] ?? (code || (e as Error).message);
}

/** Whether an error is the machine's state (a full disk, a permission), not a bug. */
export const isSystemError = (e: unknown) =>
  (e as NodeJS.ErrnoException).code !== undefined && (e as NodeJS.ErrnoException).code! in SYSTEM_REASONS;

/** Temporary files being written now, removed if the process exits before they are renamed. */
const unfinished = new Set<string>();
process.on('exit', () => {
  for (const tmp of unfinished) rmSync(tmp, { force: true });
});

/** `<file>.<pid>.tmp`: two processes writing the same file never share a temporary file. */
export const temporaryName = (file: string) => `${file}.${process.pid}.tmp`;

/** Writes `bytes` into `file` whole or not at all (the old file stays if the write fails). */
export function writeFileDurably(file: string, bytes: Uint8Array): void {
  replaceWith(file, (tmp) => {
    const fd = openSync(tmp, 'w');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
}

/** Makes `file` a second name of `existing` (written durably before), replacing it at once. A hard
 * link takes no disk space, so `latest` can follow the newest step file even on a full disk; where
 * the system has no hard links, the bytes are written again. */
export function linkDurably(existing: string, file: string, bytes: Uint8Array): void {
  try {
    replaceWith(file, (tmp) => linkSync(existing, tmp));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
    writeFileDurably(file, bytes);
  }
}

function replaceWith(file: string, make: (tmp: string) => void): void {
  const tmp = temporaryName(file);
  unfinished.add(tmp);
  try {
    rmSync(tmp, { force: true });
    make(tmp);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    unfinished.delete(tmp);
  }
  syncFolder(dirname(file));
}

/** Flushes a folder's entries (a rename into it); a no-op where the system cannot open folders. */
function syncFolder(folder: string): void {
  let fd: number;
  try {
    fd = openSync(folder, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some systems (Windows) refuse fsync on a folder; the file itself is flushed.
  } finally {
    closeSync(fd);
  }
}
