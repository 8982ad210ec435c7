// The user cache unmix writes to in Node: $XDG_CACHE_HOME/unmix, else ~/.cache/unmix. It holds the
// downloaded datasets (data/), the tuned kernel choices (tuning.json) and the benchmark bundle's
// runtime (bundle/).
import { homedir } from 'node:os';
import { join } from 'node:path';

export function userCacheDir(...parts: string[]): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'unmix', ...parts);
}
