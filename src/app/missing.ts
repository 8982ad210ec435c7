// What the page shows instead of the app when WebGPU is missing or no device can be opened.
export function showWebgpuMissing(reason: string): void {
  document.getElementById('webgpu-missing-text')!.textContent = reason;
  document.getElementById('webgpu-missing')!.hidden = false;
  document.getElementById('adapter')!.textContent = 'none';
  document.getElementById('status')!.textContent = 'WebGPU is not available here: see below for what to do.';
}
