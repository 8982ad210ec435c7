// bench/conv2d-variants.ts in headless Chromium on its bundled SwiftShader (bench/browser.ts's
// setup): the conv2d kernel variants alternating within each round, GFLOP/s per shape, pass and
// variant (the wall clock around each round where the adapter has no timestamps).
//   npx tsx bench/conv2d-variants-browser.ts [batch=8] [variant substrings, comma-separated]
//     [--k 3] [--min-channels 16] [--pass forward|input|weight] [--json FILE]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openChromium } from './browser.ts';
import { type VariantRow, variantLine } from './conv2d-variant-timing.ts';

const TIMEOUT_MS = 60 * 60_000;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { k: { type: 'string' }, 'min-channels': { type: 'string' }, pass: { type: 'string' }, json: { type: 'string' } },
});
const [batch = '8', variant] = positionals;
const query = new URLSearchParams({ batch });
if (variant) query.set('variant', variant);
if (values.k) query.set('k', values.k);
if (values['min-channels']) query.set('minChannels', values['min-channels']);
if (values.pass) query.set('pass', values.pass);

const { base, browser, environment, close } = await openChromium(TIMEOUT_MS);
try {
  const page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[chromium] ${m.text()}`);
  });
  await page.goto(`${base}bench/browser/variants.html?${query}`);
  await page.waitForFunction('window.variantsResult !== undefined', { timeout: TIMEOUT_MS, polling: 1000 });
  const result = (await page.evaluate('window.variantsResult')) as
    | { ok: true; adapter: string; rows: VariantRow[] }
    | { ok: false; error: string };
  if (!result.ok) throw new Error(`the variants page failed: ${result.error}`);
  console.log(`${environment}, ${result.adapter}, batch ${batch}; GFLOP/s, best of 5 alternating rounds`);
  console.log(['shape', 'pass', 'variant', 'GFLOP/s', 'tuner'].join('\t'));
  for (const row of result.rows) console.log(variantLine(row));
  if (values.json) {
    const record = { environment, adapter: result.adapter, batch: Number(batch), date: new Date().toISOString(), rows: result.rows };
    writeFileSync(values.json, `${JSON.stringify(record, null, 2)}\n`);
  }
} finally {
  await close();
}
process.exit(0);
