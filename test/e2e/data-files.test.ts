// Where the server has no datasets (a static host), the page asks for the files, tells exactly
// what is wrong with a bad pick, and trains-ready once the right ones are picked. MNIST and
// Fashion-MNIST share file names, so the page sorts the files by content, whatever their names.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ElementHandle } from 'puppeteer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDataDirs } from '../../src/data/locate.ts';
import { openPage, type Session } from './browser.ts';

describe('picking the dataset files', () => {
  let session: Session;
  const dirs = findDataDirs();
  const gz = (dir: string) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.gz'))
      .map((f) => join(dir, f));

  beforeAll(async () => {
    session = await openPage('/', 'swiftshader', { serveDatasets: false });
  });
  afterAll(async () => {
    await session?.close();
  });

  const dataStatus = (pattern: RegExp) =>
    session.page.waitForFunction(
      (source) => new RegExp(source).test(document.getElementById('data-status')!.textContent!),
      { timeout: 60_000 },
      pattern.source,
    );

  it('says the datasets are not on this host and links to where to get them', async () => {
    await dataStatus(/not on this host/);
    expect(await session.page.$eval('#data-status', (e) => e.textContent)).toMatch(/pick the files/);
    const links = await session.page.$$eval('#data-sources a', (as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(links).toEqual(['https://yann.lecun.com/exdb/mnist/', 'https://github.com/zalandoresearch/fashion-mnist']);
    expect(await session.page.$eval('#start', (b) => (b as HTMLButtonElement).disabled)).toBe(true);
  });

  it('names the file that is not a dataset file and the ones still missing', async () => {
    const labels = [join(dirs.mnist, 't10k-labels-idx1-ubyte.gz'), join(dirs.fashion, 't10k-labels-idx1-ubyte.gz')];
    const input = (await session.page.$('#data-files')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(...labels, join(dirs.mnist, 'SHA256SUMS'));
    await dataStatus(/Still missing/);
    const text = (await session.page.$eval('#data-status', (e) => e.textContent))!;
    expect(text).toMatch(/SHA256SUMS: not an MNIST or Fashion-MNIST file/);
    expect(text).toMatch(
      /Still missing: mnist\/train-images-idx3-ubyte\.gz, mnist\/t10k-images-idx3-ubyte\.gz, fashion-mnist\/train-images/,
    );
    expect(text).not.toMatch(/t10k-labels/); // both label files were recognised, by content
  });

  it('loads the eight files picked at once', async () => {
    const input = (await session.page.$('#data-files')) as ElementHandle<HTMLInputElement>;
    await input.uploadFile(...gz(dirs.mnist), ...gz(dirs.fashion));
    await session.page.waitForFunction(() => window.unmix.dataReady, { timeout: 90_000 });
    expect(await session.page.$eval('#data-status', (e) => e.textContent)).toMatch(/loaded and verified/);
    expect(await session.page.$eval('#data-sources', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(await session.page.$eval('#start', (b) => (b as HTMLButtonElement).disabled)).toBe(false);
  });
});
