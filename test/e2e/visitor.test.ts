// The page as a first-time visitor meets it on a 1366×900 screen (dev server, datasets served): the
// separation comes first and "try it yourself" is filled at once; the small things are right (which
// files are used, the whole preset list, a focus ring that stands out); a stopped run comes back
// stopped; the shipped model can be restored, after a question when the model shown is unsaved, and
// a reload then shows the shipped model again.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_ORIGIN } from '../../src/app/protocol.ts';
import { openPage, ROOT, type Session } from './browser.ts';

/** The first screen's picture lands here (README's docs/screenshot.png is a copy of it). */
const ARTIFACTS = join(ROOT, 'test-artifacts');

/** WCAG's contrast ratio of two sRGB colours given as [r, g, b] in 0..255. */
function contrast(a: number[], b: number[]): number {
  const luminance = (rgb: number[]) => {
    const [r, g, bl] = rgb.map((v) => {
      const c = v / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe('the page as a visitor meets it', () => {
  let session: Session;
  // ?conv=default: no kernel measuring, so a short run starts at once.
  beforeAll(async () => {
    session = await openPage('/?conv=default');
    await session.page.setViewport({ width: 1366, height: 900 });
    await session.page.reload({ waitUntil: 'load' });
  });
  afterAll(async () => {
    await session?.close();
  });

  const failWithLog = (what: string) => (e: Error) => {
    throw new Error(`${what}: ${e.message}\npage log:\n${session.log.join('\n')}`);
  };

  it('shows the separation first, and "try it yourself" filled, before the datasets are in', async () => {
    const { page } = session;
    await page
      .waitForFunction(() => Boolean(window.unmix?.grid && window.unmix.tried), { timeout: 90_000 })
      .catch(failWithLog('no separation'));
    const top = (selector: string) => page.$eval(selector, (e) => e.getBoundingClientRect().top);
    expect(await top('#grid')).toBeLessThan(450);
    expect(await top('#try-result')).toBeLessThan(900);
    expect(await top('#chart')).toBeGreaterThan(await top('#grid'));
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'first-screen.png') });
    // Still filled after the datasets replaced the sample, and after a reload.
    await page.waitForFunction(() => window.unmix.dataReady, { timeout: 120_000 }).catch(failWithLog('the datasets did not load'));
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => Boolean(window.unmix?.tried), { timeout: 90_000 }).catch(failWithLog('no "try it" after a reload'));
  }, 360_000); // the datasets load twice meanwhile: minutes when the machine is busy

  it('says six of the eight files are used, shows each preset whole and a focus ring of at least 3:1', async () => {
    const { page } = session;
    expect(await page.$eval('label[for="data-progress"]', (e) => e.textContent)).toMatch(/six of the eight files are used/);
    const preset = await page.$eval('#config select[name="preset"]', (e) => {
      const select = e as HTMLSelectElement;
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = getComputedStyle(select).font;
      return { widest: Math.max(...[...select.options].map((o) => ctx.measureText(o.text).width)), width: select.clientWidth };
    });
    expect(preset.widest + 40, `the widest preset is ${preset.widest}px, its list ${preset.width}px`).toBeLessThan(preset.width);
    await page.focus('#download');
    await page.keyboard.press('Tab'); // keyboard focus: the ring shows (:focus-visible)
    const ring = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement!);
      return { color: style.outlineColor, width: style.outlineWidth };
    });
    const rgb = ring.color.match(/\d+/g)!.slice(0, 3).map(Number);
    expect(ring.width).not.toBe('0px');
    for (const background of [
      [255, 255, 255],
      [243, 244, 246],
    ]) {
      expect(contrast(rgb, background), `focus ring ${ring.color} on rgb(${background})`).toBeGreaterThanOrEqual(3);
    }
  });

  it('shows a stopped run as stopped after a reload; restoring the shipped model asks first, and lasts', async () => {
    const { page } = session;
    await page.waitForFunction(() => window.unmix?.dataReady, { timeout: 60_000 });
    await page.select('#config select[name="preset"]', 'default');
    for (const [name, value] of [
      ['width', '4'],
      ['batch', '8'],
      ['steps', '100000'],
    ]) {
      await page.click(`#config input[name="${name}"]`, { count: 3 });
      await page.keyboard.type(value);
    }
    page.once('dialog', (d) => void d.accept()); // over the shipped model
    await page.click('#start');
    await page
      .waitForFunction(() => window.unmix.step > 0 && window.unmix.state === 'running', { timeout: 90_000 })
      .catch(async (e) => failWithLog(`no training (status: ${await page.$eval('#status', (s) => s.textContent)})`)(e));
    await page.click('#stop');
    await page.waitForFunction(() => window.unmix.state === 'stopped', { timeout: 60_000 }).catch(failWithLog('did not stop'));
    const stoppedAt = await page.evaluate(() => window.unmix.step);
    await page.reload({ waitUntil: 'load' });
    await page
      .waitForFunction((step) => window.unmix?.dataReady && window.unmix.step === step, { timeout: 60_000 }, stoppedAt)
      .catch(failWithLog('the stopped run did not come back'));
    expect(await page.evaluate(() => window.unmix.state)).toBe('stopped');
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/Stopped\./);
    expect(await page.$eval('#status', (e) => e.textContent)).not.toMatch(/Paused/);

    // The run is not saved anywhere else: restoring asks; dismissed, the run stays.
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await page.click('#restore-shipped');
    expect(asked[0]).toMatch(/not saved: download its weights first/);
    expect(await page.evaluate(() => window.unmix.step)).toBe(stoppedAt);
    page.once('dialog', (d) => void d.accept());
    await page.click('#restore-shipped');
    await page.waitForFunction((origin) => window.unmix.origin === origin, { timeout: 60_000 }, SHIPPED_ORIGIN);
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.unmix?.dataReady && window.unmix.grid !== null, { timeout: 60_000 });
    expect(await page.evaluate(() => window.unmix.origin)).toBe(SHIPPED_ORIGIN);
    expect(await page.$eval('#restore-shipped', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
  });
});
