// Node entry to the runtime: Dawn (npm `webgpu`) on whatever Vulkan driver is installed; on a
// machine without a GPU that is Mesa's lavapipe. Shaders are read from shaders/ on disk.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { userCacheDir } from '../util/cache-dir.ts';
import { UserError } from '../util/user-error.ts';
import { type Gpu, openDevice } from './gpu.ts';
import type { TunedChoice, TuningStore } from './tuner.ts';

const SHADER_DIR = fileURLToPath(new URL('../../shaders/', import.meta.url));
const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';
// Where a discrete GPU's driver registers itself; Mesa's own ICDs (intel, radeon, virtio) are ignored.
const VENDOR_ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];

const INSTALL_HINT =
  "run `npm run setup` to install a Vulkan driver (Mesa >= 24's lavapipe on a machine without a GPU, from bookworm-backports " +
  "on Debian 12), or install your GPU vendor's driver";

export function loadShaderSources(dir = SHADER_DIR): Record<string, string> {
  const sources: Record<string, string> = {};
  for (const f of readdirSync(dir)) {
    if (f.endsWith('.wgsl')) sources[f.slice(0, -5)] = readFileSync(join(dir, f), 'utf8');
  }
  return sources;
}

/** Points the Vulkan loader at lavapipe when no vendor driver is installed (Dawn then finds only
 * the CPU driver and never trips over half-installed ones), and gives Dawn the runtime dir it needs. */
function prepareEnvironment(): void {
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `unmix-runtime-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  if (process.env.VK_ICD_FILENAMES || process.env.VK_DRIVER_FILES) return;
  const vendor = VENDOR_ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => /nvidia/i.test(f)));
  if (!vendor && existsSync(LAVAPIPE_ICD)) process.env.VK_ICD_FILENAMES = LAVAPIPE_ICD;
}

/** How often Dawn may poll for finished GPU work while a promise is pending, in milliseconds. */
const DAWN_POLL_MS = 1;
const nodeSetImmediate = globalThis.setImmediate;

/** dawn.node settles GPU promises (mapAsync, onSubmittedWorkDone) by polling its instance from a
 * setImmediate loop, which keeps one CPU core busy for as long as any such promise is pending. Where
 * the "GPU" is lavapipe that core is half the device, and a training step took 1.8× as long. Dawn's
 * polling callbacks are native functions, so 'paced' (what createNodeGpu sets) puts those alone on a
 * 1 ms timer; JavaScript callbacks keep the real setImmediate. 'busy' restores Dawn's own loop (the
 * benchmarks run the peers both ways). */
export function setDawnPolling(mode: 'paced' | 'busy'): void {
  if (mode === 'busy') {
    globalThis.setImmediate = nodeSetImmediate;
    return;
  }
  const paced = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    Function.prototype.toString.call(callback).includes('[native code]')
      ? setTimeout(callback, DAWN_POLL_MS, ...args)
      : nodeSetImmediate(callback, ...args);
  globalThis.setImmediate = Object.assign(paced, { __promisify__: nodeSetImmediate.__promisify__ }) as unknown as typeof setImmediate;
}

let dawn: GPU | null = null;

export async function createNodeGpu(): Promise<Gpu> {
  prepareEnvironment();
  setDawnPolling('paced');
  let webgpu: typeof import('webgpu');
  try {
    webgpu = await import('webgpu');
  } catch (e) {
    throw new UserError(`WebGPU for Node (the npm package \`webgpu\`, Dawn) is not installed`, 'run `npm run setup`', { cause: e });
  }
  Object.assign(globalThis, webgpu.globals);
  dawn ??= webgpu.create([]) as GPU;
  const adapter = await dawn.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new UserError('Dawn found no WebGPU adapter: this machine has no usable Vulkan driver', INSTALL_HINT);
  return openDevice(adapter, loadShaderSources());
}

/** Lets Node exit: Dawn keeps the event loop alive while its instance is referenced. */
export function releaseNodeGpu(gpu: Gpu): void {
  gpu.destroy();
  dawn = null;
}

/** Tuned kernel choices in a JSON file, { adapter: { shape class: choice } }: by default
 * tuning.json in the user cache ($XDG_CACHE_HOME/unmix or ~/.cache/unmix). Saving merges into what
 * the file holds then (another process may have tuned other shapes), written whole and renamed into
 * place; a file that does not parse is treated as empty and rewritten. */
export function nodeTuningStore(file = userCacheDir('tuning.json')): TuningStore & { file: string } {
  const readAll = (): Record<string, Record<string, TunedChoice>> => {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8'));
      return parsed && typeof parsed === 'object' ? parsed : {};
    } catch {
      return {};
    }
  };
  return {
    file,
    load: async (adapter) => readAll()[adapter] ?? {},
    save: async (adapter, choices) => {
      const all = readAll();
      all[adapter] = { ...all[adapter], ...choices };
      mkdirSync(dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(all, null, 1)}\n`);
      renameSync(temporary, file);
    },
  };
}
