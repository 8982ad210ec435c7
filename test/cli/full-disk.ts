// Loaded with `node --import` into a CLI under test: the disk "fills up" after UNMIX_TEST_FREE_WRITES
// writes of large files (checkpoints through their temporary files, PNG grids) succeed, each later
// one failing with ENOSPC as a full disk does. Small appends (the ledger) still fit.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

let freeWrites = Number(process.env.UNMIX_TEST_FREE_WRITES ?? 0);
const temporaryFds = new Set<number>();
const { openSync, writeSync, writeFileSync } = fs;
const diskFull = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', errno: -28 });
fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
  const fd = (openSync as (...a: unknown[]) => number)(path, ...rest);
  if (String(path).endsWith('.tmp')) temporaryFds.add(fd);
  return fd;
}) as typeof fs.openSync;
fs.writeSync = ((fd: number, ...rest: unknown[]) => {
  if (temporaryFds.has(fd) && freeWrites-- <= 0) throw diskFull();
  return (writeSync as (...a: unknown[]) => number)(fd, ...rest);
}) as typeof fs.writeSync;
fs.writeFileSync = ((...args: Parameters<typeof fs.writeFileSync>) => {
  if (String(args[0]).endsWith('.png') && freeWrites-- <= 0) throw diskFull();
  writeFileSync(...args);
}) as typeof fs.writeFileSync;
syncBuiltinESMExports();
