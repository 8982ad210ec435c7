// The whole page in Chromium: it loads the datasets from the dev server, trains a tiny network in
// its worker (with a pause) until the loss has gone down, draws the grid, separates a hand-drawn
// digit, hands out weights that Node (Dawn) loads to the same predictions, comes back from IndexedDB
// on reload, and loads its own weights file back.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dialog, ElementHandle } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_WEIGHTS } from '../../src/app/protocol.ts';
import { loadSourceImagesNode } from '../../src/data/locate.ts';
import { Mixer } from '../../src/data/mixer.ts';
import { readSafetensors } from '../../src/data/safetensors.ts';
import { createNodeGpu, releaseNodeGpu } from '../../src/gpu/node.ts';
import { DISPLAY_PAIRS } from '../../src/train/evaluate.ts';
import { PRESETS } from '../../src/train/presets.ts';
import { checkpointConfig, Trainer } from '../../src/train/trainer.ts';
import { expectClose } from '../helpers/check.ts';
import { openPage, ROOT, type Session } from './browser.ts';

const STEPS = 30;
const ARTIFACTS = join(ROOT, 'test-artifacts');

/** The page's state with its Float32Arrays as plain arrays (what page.evaluate can return). */
interface PageGrid {
  step: number;
  digits: number[];
  items: number[];
  predDigit: number[];
  predItem: number[];
  mixture: number[];
}

describe('training in the browser', () => {
  let session: Session;
  let downloads: string;

  beforeAll(async () => {
    session = await openPage('/');
    downloads = mkdtempSync(join(tmpdir(), 'unmix-downloads-'));
    const cdp = await session.browser.target().createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  });
  afterAll(async () => {
    await session?.close();
    rmSync(downloads, { recursive: true, force: true });
  });

  const failWithLog = (what: string) => (e: Error) => {
    throw new Error(`${what}: ${e.message}\npage log:\n${session.log.join('\n')}`);
  };

  it('loads and verifies the datasets from the dev server', async () => {
    const { page } = session;
    await page.waitForFunction(() => window.unmix?.dataReady, { timeout: 60_000 }).catch(failWithLog('data never became ready'));
    expect(await page.$eval('#data-status', (e) => e.textContent)).toMatch(/loaded and verified/);
    expect(await page.$eval('#adapter', (e) => e.textContent)).not.toMatch(/checking/);
    // A first visit shows the model the page ships, separating at once.
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/^Model shipped with the page .*Training finished/);
    const shipped = readSafetensors(new Uint8Array(readFileSync(join(ROOT, 'public', SHIPPED_WEIGHTS))), SHIPPED_WEIGHTS).metadata;
    expect(await page.evaluate(() => window.unmix.step)).toBe(Number(shipped.step));
    // The presets are offered, and the loaded model beside them, selected: the form shows its
    // configuration, with no time budget.
    const presets = await page.$$eval('#config select[name="preset"] option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(presets).toEqual([...Object.keys(PRESETS), 'loaded']);
    expect(await page.$eval('#config select[name="preset"]', (e) => (e as HTMLSelectElement).value)).toBe('loaded');
    expect(await page.$eval('#config input[name="minutes"]', (e) => (e as HTMLInputElement).value)).toBe('');
    const width = await page.$eval('#config input[name="width"]', (e) => (e as HTMLInputElement).value);
    expect(width).toBe(String(checkpointConfig(shipped).model.width));
    await page.waitForFunction(() => window.unmix.grid !== null, { timeout: 30_000 });
  });

  it("Start with the shipped model loaded trains what the form and the preset list show: the shipped model's configuration, with the form's changes", async () => {
    const { page } = session;
    const shipped = readSafetensors(new Uint8Array(readFileSync(join(ROOT, 'public', SHIPPED_WEIGHTS))), SHIPPED_WEIGHTS).metadata;
    // Two steps of batch 2, so that the run (and its kernel tuning on SwiftShader) ends soon.
    for (const [name, value] of [
      ['batch', '2'],
      ['steps', '2'],
    ]) {
      await page.click(`#config input[name="${name}"]`, { count: 3 });
      await page.keyboard.type(value);
    }
    // Every status line shown, to find the kernel measuring's progress among them.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      const status = document.getElementById('status')!;
      new MutationObserver(() => seen.push(status.textContent!)).observe(status, { childList: true, characterData: true, subtree: true });
    });
    // Start over the shipped model asks first; dismissed, nothing happens; accepted, it trains.
    const asked: string[] = [];
    const answer = (accept: boolean) =>
      page.once('dialog', (d) => {
        asked.push(d.message());
        void (accept ? d.accept() : d.dismiss());
      });
    answer(false);
    await page.click('#start');
    await new Promise((r) => setTimeout(r, 500));
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(/replaces the model shipped with the page.*Restore the shipped model/);
    expect(await page.evaluate(() => window.unmix.state)).toBe('done');
    answer(true);
    await page.click('#start');
    await page
      .waitForFunction(() => window.unmix.origin === 'new' && window.unmix.state === 'done', { timeout: 180_000, polling: 100 })
      .catch(failWithLog('the run did not finish'));
    // window.unmix.config is the config the worker's new trainer announced it was built with.
    expect(await page.evaluate(() => window.unmix.config)).toEqual({ ...checkpointConfig(shipped), batch: 2, steps: 2 });
  });

  it('trains a tiny network, paused and resumed on the way: the train and test losses go down', async () => {
    const { page } = session;
    // The short default preset brings its time budget back into the form.
    await page.select('#config select[name="preset"]', 'default');
    expect(await page.$eval('#config input[name="minutes"]', (e) => (e as HTMLInputElement).value)).toBe(String(PRESETS.default.minutes));
    // Through the form, as a user would: width 4, depth 2, batch 8.
    for (const [name, value] of [
      ['width', '4'],
      ['batch', '8'],
      ['steps', String(STEPS)],
      ['warmupSteps', '5'],
      ['lr', '0.01'],
      ['seed', '3'],
    ]) {
      await page.click(`#config input[name="${name}"]`, { count: 3 });
      await page.keyboard.type(value);
    }
    await page.select('#config select[name="depth"]', '2');
    // No time budget: train for the steps given.
    await page.click('#config input[name="minutes"]', { count: 3 });
    await page.keyboard.press('Backspace');
    // The model stopped above is replaced: accept the page's question.
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#start');
    // Pause as soon as it runs: the worker finishes the chunk in flight (however fast the GPU), then stops.
    await page
      .waitForFunction(() => window.unmix.state === 'running', { timeout: 60_000, polling: 50 })
      .catch(failWithLog('training did not start'));
    await page.click('#pause');
    await page.waitForFunction(() => window.unmix.state === 'paused', { timeout: 30_000 });
    const pausedAt = await page.evaluate(() => window.unmix.step);
    await new Promise((r) => setTimeout(r, 1500));
    expect(pausedAt).toBeGreaterThan(0);
    expect(pausedAt).toBeLessThan(STEPS);
    expect(await page.evaluate(() => window.unmix.step)).toBe(pausedAt);
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/^Paused/);
    expect(await page.$$eval('#pause, #resume, #stop', (bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([
      true,
      false,
      false,
    ]);
    await page.click('#resume');
    await page
      .waitForFunction(() => window.unmix.state === 'done', { timeout: 150_000, polling: 500 })
      .catch(failWithLog('training did not finish'));
    const { train, test } = await page.evaluate(() => window.unmix.history);
    // The worker reads the loss once per chunk of steps (a chunk takes about a quarter second), so
    // the curve has a point per chunk: steps strictly increasing, the first chunk one step long,
    // the last ending at STEPS.
    const steps = train.map(([s]) => s);
    expect(steps[0]).toBe(1);
    expect(steps[steps.length - 1]).toBe(STEPS);
    expect(
      steps.every((s, i) => i === 0 || s > steps[i - 1]),
      `train loss steps ${steps}`,
    ).toBe(true);
    expect(train.length).toBeGreaterThanOrEqual(6);
    const lastThree = train.slice(-3).reduce((a, [, l]) => a + l, 0) / 3;
    expect(lastThree, `train loss: ${train[0][1]} at step 1, ${lastThree} over the last three points`).toBeLessThan(0.8 * train[0][1]);
    expect(test.length).toBeGreaterThanOrEqual(2);
    expect(test[test.length - 1][1]).toBeLessThan(test[0][1]);
    expect(await page.$eval('#stat-step', (e) => e.textContent)).toBe(`${STEPS} / ${STEPS}`);
    expect(await page.$eval('#status', (e) => e.textContent)).toBe('Training finished.');
    // A fresh profile measures its conv kernels before step 1, and the status says how far it is.
    const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    expect(statuses.some((t) => /^Measuring the conv kernels for this GPU .*: shape class \d+ of \d+, conv2d/.test(t))).toBe(true);
  });

  it('draws the grid of eight test mixtures from the final weights', async () => {
    const { page } = session;
    await page.waitForFunction((steps) => window.unmix.grid?.step === steps, { timeout: 30_000 }, STEPS);
    // the same fixed test pairs as the command line's PNG
    const pairs = await page.evaluate(() => ({ digits: window.unmix.grid!.digits, items: window.unmix.grid!.items }));
    expect(pairs).toEqual(DISPLAY_PAIRS);
    // the model summary of the model being trained (width 4, depth 2)
    const summary = await page.$eval('#model-summary', (e) => e.textContent ?? '');
    expect(summary).toMatch(/enc1\.conv1 \(Conv2d 3×3\)\s+\[N, 4, 32, 32\]/);
    expect(summary).toMatch(/Total params: [\d,]+/);
    // the conv kernels it trained with: measured on SwiftShader after the first step (a fresh
    // profile has no cached choices), one line per shape class
    const kernels = await page.$eval('#kernels', (e) => e.textContent ?? '');
    expect(kernels).toMatch(/^conv2d\.forward 1→4 3×3 s1 p1 @32×32 batch 8 +\S+ \((tuned|cached): /m);
    expect(kernels).toMatch(/^conv2d\.weight 4→4 3×3 s1 p1 @32×32 batch 8 +\S+ \(/m);
    // 5 columns × 8 rows of 32×32 images with 2-pixel gaps, with content in every column: sharp
    // sources and mixtures, and (after only 30 steps) blurry but not blank predictions.
    const canvas = await page.$eval('#grid', (c) => {
      const el = c as HTMLCanvasElement;
      const data = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
      const columnSpread = [0, 1, 2, 3, 4].map((col) => {
        let lo = 255;
        let hi = 0;
        for (let y = 0; y < 32; y++) {
          for (let x = col * 34; x < col * 34 + 32; x++) {
            const v = data[4 * (y * el.width + x)];
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
          }
        }
        return hi - lo;
      });
      return { width: el.width, height: el.height, columnSpread };
    });
    expect(canvas.width).toBe(5 * 34 - 2);
    expect(canvas.height).toBe(8 * 34 - 2);
    const least = [100, 5, 200, 5, 100]; // mixture, predicted digit, digit, predicted item, item
    canvas.columnSpread.forEach((spread, i) => {
      expect(spread, `grey levels in column ${i} of the first row`).toBeGreaterThan(least[i]);
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.setViewport({ width: 1280, height: 900 });
    await page.screenshot({ path: join(ARTIFACTS, 'train.png'), fullPage: true });
  });

  it('separates a digit drawn on the pad', async () => {
    const { page } = session;
    await page.click('input[name="digit-source"][value="draw"]');
    const box = (await (await page.$('#pad'))!.boundingBox())!;
    // A "1": one vertical stroke down the middle.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.8, { steps: 10 });
    await page.mouse.up();
    // The separation shown is of the drawn "1", scaled to 20 pixels tall and centred like MNIST's
    // digits: ink down the middle columns, none at the sides (unlike the test digit shown before).
    await page.waitForFunction(
      () => {
        const d = window.unmix.tried?.digit;
        if (!d) return false;
        let middle = 0;
        let sides = 0;
        for (let y = 0; y < 32; y++) {
          if (Math.max(d[y * 32 + 15], d[y * 32 + 16], d[y * 32 + 17]) > 0.5) middle++;
          for (let x = 0; x < 32; x++) if ((x < 12 || x > 20) && d[y * 32 + x] > 0.1) sides++;
        }
        return middle >= 16 && sides === 0;
      },
      { timeout: 30_000 },
    );
    const tried = await page.evaluate(() => {
      const t = window.unmix.tried!;
      return { mixture: Array.from(t.mixture), digit: Array.from(t.digit), item: Array.from(t.item), predDigit: Array.from(t.predDigit) };
    });
    expectClose(
      tried.mixture,
      tried.digit.map((d, i) => (d + tried.item[i]) / 2),
      { atol: 1e-6, rtol: 0 },
      'drawn mixture',
    );
    expect(tried.digit.slice(0, 64).every((v) => v === 0)).toBe(true); // padding rows stay empty
    expect(tried.predDigit.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('downloads weights that Node loads to the same predictions', async () => {
    const { page } = session;
    await page.click('#download');
    const file = `unmix-w4-d2-step${STEPS}.safetensors`;
    const deadline = Date.now() + 20_000;
    while (!readdirSync(downloads).includes(file) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(downloads)).toContain(file);
    const bytes = new Uint8Array(readFileSync(join(downloads, file)));

    const browser = (await page.evaluate(() => {
      const g = window.unmix.grid!;
      const list = (a: Float32Array) => Array.from(a);
      return {
        step: g.step,
        digits: g.digits,
        items: g.items,
        predDigit: list(g.images.predDigit),
        predItem: list(g.images.predItem),
        mixture: list(g.images.mixture),
      };
    })) as PageGrid;

    const config = checkpointConfig(readSafetensors(bytes, file).metadata);
    expect(config.model).toEqual({ ...PRESETS.default.config.model, width: 4, depth: 2 });
    expect(config.batch).toBe(8);
    const gpu = await createNodeGpu();
    try {
      const mixer = new Mixer(gpu, await loadSourceImagesNode());
      const trainer = await Trainer.fromCheckpoint(gpu, mixer, bytes, {}, file);
      expect(trainer.step).toBe(STEPS);
      const node = await trainer.predictPairs(browser.digits, browser.items);
      expectClose(node.mixture, browser.mixture, { atol: 1e-6, rtol: 0 }, 'mixtures, Node vs browser');
      // The same WGSL on two drivers (lavapipe, SwiftShader): f32 rounding may differ slightly.
      expectClose(node.predDigit, browser.predDigit, { atol: 1e-4, rtol: 1e-3 }, 'predicted digits, Node vs browser');
      expectClose(node.predItem, browser.predItem, { atol: 1e-4, rtol: 1e-3 }, 'predicted items, Node vs browser');
    } finally {
      releaseNodeGpu(gpu);
    }
  });

  it('comes back from IndexedDB after a reload, at the same step with the same curve', async () => {
    const { page } = session;
    const before = await page.evaluate(() => window.unmix.history);
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction((steps) => window.unmix?.grid?.step === steps, { timeout: 60_000 }, STEPS).catch(failWithLog('no restore'));
    const after = await page.evaluate(() => ({ state: window.unmix.state, history: window.unmix.history, config: window.unmix.config }));
    expect(after.state).toBe('done');
    expect(after.history).toEqual(before);
    expect(after.config?.model).toEqual({ ...PRESETS.default.config.model, width: 4, depth: 2 });
    expect(await page.$eval('#status', (e) => e.textContent)).toMatch(/Training finished|restored/);
  });

  it('loads the downloaded weights back, and names a file that is not a checkpoint', async () => {
    const { page } = session;
    // The model restored from storage is not the file downloaded before: loading asks, every time.
    const asked: string[] = [];
    const accept = (d: Dialog) => {
      asked.push(d.message());
      void d.accept();
    };
    page.on('dialog', accept);
    const before = await page.evaluate(() => Array.from(window.unmix.grid!.images.predItem));
    const input = (await page.$('#weights-file')) as ElementHandle<HTMLInputElement>;
    const broken = join(downloads, 'broken.safetensors');
    writeFileSync(broken, 'not a checkpoint');
    await input.uploadFile(broken);
    await page.waitForFunction(
      () => /broken\.safetensors: not a valid safetensors file/.test(document.getElementById('status')!.textContent!),
      { timeout: 30_000 },
    );
    await input.uploadFile(join(downloads, `unmix-w4-d2-step${STEPS}.safetensors`));
    await page.waitForFunction(
      (steps) =>
        window.unmix.grid?.step === steps &&
        /^Model loaded from unmix-w4-d2-step30\.safetensors, at step 30\. Training finished\./.test(
          document.getElementById('status')!.textContent!,
        ),
      { timeout: 30_000 },
      STEPS,
    );
    expect(await page.evaluate(() => Array.from(window.unmix.grid!.images.predItem))).toEqual(before);
    page.off('dialog', accept);
    expect(asked).toHaveLength(2);
    expect(asked[0]).toMatch(/^Loading broken\.safetensors replaces the current model, at step 30, which is not saved/);
  });

  it("evaluates with the mixture's own score first, counts finished mixtures, and cancels (the whole protocol is too long on SwiftShader)", async () => {
    const { page } = session;
    await page.click('#evaluate');
    // The reference, computed on the same protocol: 0.0363 (test/train/trainer.test.ts).
    await page
      .waitForFunction(() => /scores 0\.036\d on the same mixtures/.test(document.getElementById('eval-reference')!.textContent!), {
        timeout: 150_000,
      })
      .catch(failWithLog('no reference score'));
    await page.waitForFunction(
      () => /^Evaluating… [1-9][\d,]* \/ 200,000 mixtures finished$/.test(document.getElementById('eval-result')!.textContent!),
      { timeout: 60_000 },
    );
    expect(await page.$eval('#eval-progress', (p) => !(p as HTMLProgressElement).hidden && (p as HTMLProgressElement).value > 0)).toBe(
      true,
    );
    // Nothing else may use the model meanwhile.
    expect(await page.$$eval('#evaluate, #start', (bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([true, true]);
    await page.click('#cancel-eval');
    await page.waitForFunction(() => document.getElementById('eval-result')!.textContent === 'Evaluation cancelled.', { timeout: 30_000 });
    expect(await page.$$eval('#evaluate, #start', (bs) => bs.map((b) => (b as HTMLButtonElement).disabled))).toEqual([false, false]);
    expect(await page.$eval('#cancel-eval', (b) => (b as HTMLElement).hidden)).toBe(true);
  });
});
