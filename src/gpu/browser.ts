// Browser entry to the runtime: navigator.gpu, with the shaders bundled by Vite.
import { type Gpu, openDevice } from './gpu.ts';

const files = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

export const shaderSources: Record<string, string> = Object.fromEntries(
  Object.entries(files).map(([path, src]) => [path.slice(path.lastIndexOf('/') + 1, -5), src]),
);

/** Why WebGPU is unavailable here, phrased as what to do; null when it is available. */
export function webgpuMissingReason(): string | null {
  if (typeof navigator === 'undefined' || !('gpu' in navigator)) {
    if (typeof isSecureContext !== 'undefined' && !isSecureContext) {
      return 'WebGPU needs a secure context: open this page over https:// or from localhost.';
    }
    return (
      'This browser has no WebGPU. Use Chrome or Edge 113 or newer (on Linux, start Chrome with ' +
      '--enable-unsafe-webgpu --enable-features=Vulkan, or enable chrome://flags/#enable-unsafe-webgpu), ' +
      'Safari 26 or newer, or Firefox 141 or newer on Windows (elsewhere set dom.webgpu.enabled in about:config).'
    );
  }
  return null;
}

export async function createBrowserGpu(): Promise<Gpu> {
  const missing = webgpuMissingReason();
  if (missing) throw new Error(missing);
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error(
      'WebGPU is present but no adapter was found: the GPU may be blocklisted. Update the graphics driver, ' +
        'or enable chrome://flags/#enable-unsafe-webgpu (and on Linux chrome://flags/#enable-vulkan).',
    );
  }
  return openDevice(adapter, shaderSources);
}
