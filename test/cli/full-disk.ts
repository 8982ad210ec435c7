// Loaded with `node --import` into a CLI under test: the disk "fills up" after UNMIX_TEST_FREE_WRITES
// writes into temporary files succeed, each later one failing with ENOSPC as a full disk does.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

let freeWrites = Number(process.env.UNMIX_TEST_FREE_WRITES ?? 0);
const temporaryFds = new Set<number>();
const { openSync, writeSync } = fs;
fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
  const fd = (openSync as (...a: unknown[]) => number)(path, ...rest);
  if (String(path).endsWith('.tmp')) temporaryFds.add(fd);
  return fd;
}) as typeof fs.openSync;
fs.writeSync = ((fd: number, ...rest: unknown[]) => {
  if (temporaryFds.has(fd) && freeWrites-- <= 0)
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 });
  return (writeSync as (...a: unknown[]) => number)(fd, ...rest);
}) as typeof fs.writeSync;
syncBuiltinESMExports();
