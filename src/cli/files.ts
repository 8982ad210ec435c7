// Files that must survive a power loss: written to a temporary name, flushed to disk, renamed into
// place, and the rename flushed with the folder.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeFileDurably(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
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
