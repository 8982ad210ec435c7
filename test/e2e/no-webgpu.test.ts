// Without WebGPU the page explains what to do instead of staying blank: both when the browser has
// no navigator.gpu at all, and when it has one but no adapter (a blocklisted GPU, flags off).
import { afterEach, describe, expect, it } from 'vitest';
import { openPage, type Session, type WebGpuMode } from './browser.ts';

describe('the page without WebGPU', () => {
  let session: Session | null = null;
  afterEach(async () => {
    await session?.close();
    session = null;
  });

  async function explanation(mode: WebGpuMode): Promise<{ text: string; appHidden: boolean; adapter: string; status: string }> {
    session = await openPage('/', mode);
    const { page, log } = session;
    await page.waitForSelector('#webgpu-missing:not([hidden])', { timeout: 30_000 }).catch(() => {
      throw new Error(`no WebGPU message appeared; page log:\n${log.join('\n')}`);
    });
    return page.evaluate(() => ({
      text: document.getElementById('webgpu-missing-text')!.textContent ?? '',
      appHidden: document.getElementById('app')!.hidden === true,
      adapter: document.getElementById('adapter')!.textContent ?? '',
      status: document.getElementById('status')!.textContent ?? '',
    }));
  }

  it('says which browsers and flags to use when navigator.gpu is missing', async () => {
    const shown = await explanation('absent');
    expect(shown.text).toMatch(/This browser has no WebGPU/);
    expect(shown.text).toMatch(/Chrome or Edge 113/);
    expect(shown.text).toMatch(/--enable-unsafe-webgpu/);
    expect(shown.text).toMatch(/Safari/);
    expect(shown.text).toMatch(/Firefox/);
    expect(shown.appHidden).toBe(true);
    expect(shown.adapter).toBe('none');
    expect(shown.status).toMatch(/WebGPU is not available/);
  });

  it('says how to unblock the GPU when WebGPU exists but gives no adapter', async () => {
    const shown = await explanation('no-adapter');
    expect(shown.text).toMatch(/no adapter was found/);
    expect(shown.text).toMatch(/chrome:\/\/flags\/#enable-unsafe-webgpu/);
    expect(shown.appHidden).toBe(true);
    expect(shown.adapter).toBe('none');
  });
});
