// `npm run bench:page -- --old DIR`: the page's own training in headless Chromium (SwiftShader), an
// older checkout's page against this one's (or --new DIR's), alternating (old, new, old, new) so that
// the machine's drift falls on both alike. Each run serves that checkout's app with Vite as the
// end-to-end tests do (test/e2e/browser.ts), in a fresh browser profile, picks a preset in the form,
// trains it for --steps steps with no time budget, and reads the page's step counter every 20 ms:
// samples/s = (last step - first step seen) × batch over the seconds between them, so that the first
// chunk (pipeline compiles; with --conv auto, the kernels' measuring) is left out. The page's own
// speed readout (window.unmix.samplesPerSecond, last value while running) is kept beside it. Each
// side runs once untimed before the timed rounds.
// DIR is a worktree of the older commit with node_modules beside it, e.g.
//   git worktree add /tmp/unmix-old c8291d8 && ln -s "$PWD/node_modules" /tmp/unmix-old/
// Results: bench/results/page.json and a section of bench/RESULTS.md. On a shared machine, run it
// under `flock /tmp/unmix-timing.lock`.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';
import { exitOnError, UsageError } from '../src/cli/common.ts';
import { openUrl } from '../test/e2e/browser.ts';
import { commitOf, type PageFile, type PageRun, writeJson, writeMarkdown } from './report.ts';

const USAGE = `usage: npm run bench:page -- --old DIR [options]
  --old DIR      a checkout of the older commit, with node_modules (required)
  --new DIR      the newer checkout (default: this one)
  --preset NAME  the preset picked in the page's form (default: default)
  --steps N      training steps of each run (default: 60)
  --rounds N     (old, new) pairs of runs (default: 2)
  --conv MODE    the page's ?conv= (default: default, each pass's default kernel, so that no run
                 spends minutes measuring kernels in its fresh profile; auto: as a visitor's page)
  --help`;

exitOnError();
const HELP = '`npm run bench:page -- --help` lists the options';
const { values: flags } = parseArgs({
  options: {
    old: { type: 'string' },
    new: { type: 'string' },
    preset: { type: 'string', default: 'default' },
    steps: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '2' },
    conv: { type: 'string', default: 'default' },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!flags.old) throw new UsageError('--old DIR is required', HELP);
const sides = { old: resolve(flags.old), new: resolve(flags.new ?? new URL('..', import.meta.url).pathname) };
for (const dir of Object.values(sides)) {
  if (!existsSync(join(dir, 'src/app/app.ts')) || !existsSync(join(dir, 'node_modules'))) {
    throw new UsageError(
      `${dir} is not an unmix checkout with node_modules`,
      'make one with git worktree add, and link node_modules into it',
    );
  }
}
const steps = Number(flags.steps);
const rounds = Number(flags.rounds);
if (!(Number.isInteger(steps) && steps > 1) || !(Number.isInteger(rounds) && rounds > 0)) {
  throw new UsageError('--steps takes an integer above 1, --rounds a positive integer', HELP);
}

let environment = '';

/** Minutes a run may take before it counts as failed (data loading, compiles, the steps). */
const RUN_TIMEOUT_MS = 15 * 60_000;

/** One training run of `dir`'s page: samples/s over the steps after its first chunk. */
async function pageRun(side: 'old' | 'new'): Promise<PageRun> {
  const dir = sides[side];
  const server = await createServer({
    root: dir,
    configFile: join(dir, 'vite.config.ts'),
    server: { host: 'localhost', port: 0, strictPort: false, hmr: false },
    worker: { format: 'es' },
    logLevel: 'error',
  });
  await server.listen();
  const session = await openUrl(server.resolvedUrls!.local[0], `/?conv=${flags.conv}`, 'swiftshader', () => server.close());
  const { page } = session;
  environment = `Chromium ${(await session.browser.version()).replace(/^[^/]*\//, '')} (headless, SwiftShader)`;
  try {
    page.setDefaultTimeout(RUN_TIMEOUT_MS);
    // The page asks before replacing the model it shows (the shipped one): yes.
    page.on('dialog', (dialog) => void dialog.accept());
    await page.waitForFunction(() => window.unmix?.dataReady, { timeout: 120_000 });
    await page.select('#config select[name="preset"]', flags.preset);
    await page.click('#config input[name="steps"]', { count: 3 });
    await page.keyboard.type(String(steps));
    await page.click('#config input[name="minutes"]', { count: 3 });
    await page.keyboard.press('Backspace');
    const batch = Number(await page.$eval('#config input[name="batch"]', (e) => (e as HTMLInputElement).value));
    // Every change of the step counter, with its time, recorded in the page.
    await page.evaluate(() => {
      const seen: [number, number][] = [];
      (window as unknown as { stepTimes: typeof seen }).stepTimes = seen;
      let speed = 0;
      // The shipped model shows as a finished run: counting starts once this one runs.
      let started = false;
      setInterval(() => {
        const { step, state, samplesPerSecond } = window.unmix;
        started ||= state === 'running';
        if (!started) return;
        if (state === 'running' && samplesPerSecond > 0) speed = samplesPerSecond;
        (window as unknown as { pageSpeed: number }).pageSpeed = speed;
        if (!seen.length || seen[seen.length - 1][1] !== step) seen.push([performance.now(), step]);
      }, 20);
    });
    await page.click('#start');
    await page.waitForFunction((n) => window.unmix.state === 'done' && window.unmix.step === n, { polling: 100 }, steps);
    const { stepTimes, pageSpeed } = await page.evaluate(() => {
      const w = window as unknown as { stepTimes: [number, number][]; pageSpeed: number };
      return { stepTimes: w.stepTimes, pageSpeed: w.pageSpeed };
    });
    const first = stepTimes.find(([, step]) => step > 0)!;
    const [t1, last] = stepTimes[stepTimes.length - 1];
    if (last === first[1]) throw new Error(`${side}: the page reported only step ${last}; raise --steps`);
    return {
      side,
      batch,
      stepsTimed: last - first[1],
      seconds: (t1 - first[0]) / 1000,
      samplesPerS: ((last - first[1]) * batch) / ((t1 - first[0]) / 1000),
      pageSamplesPerS: pageSpeed,
    };
  } catch (e) {
    throw new Error(`${side} (${dir}): ${(e as Error).message}\npage log:\n${session.log.slice(-20).join('\n')}`);
  } finally {
    await session.close();
  }
}

// Each side once untimed first: the first page a checkout serves pays for Vite's dependency
// pre-bundling and cold caches (on 2026-12-05 the first c8291d8 run trained at 27.5 samples/s, the
// next at 57.2).
for (const side of ['old', 'new'] as const) {
  const warm = await pageRun(side);
  console.log(`${side} (${commitOf(sides[side])}): warm-up run, ${warm.samplesPerS.toFixed(1)} samples/s, not counted`);
}
const runs: PageRun[] = [];
for (let r = 0; r < rounds; r++) {
  for (const side of ['old', 'new'] as const) {
    const run = await pageRun(side);
    runs.push(run);
    console.log(
      `${side} (${commitOf(sides[side])}): ${run.stepsTimed} steps of batch ${run.batch} in ${run.seconds.toFixed(1)} s, ${run.samplesPerS.toFixed(1)} samples/s (the page said ${run.pageSamplesPerS.toFixed(1)})`,
    );
  }
}
const mean = (side: 'old' | 'new') => {
  const of = runs.filter((r) => r.side === side);
  return of.reduce((a, r) => a + r.samplesPerS, 0) / of.length;
};
const file: PageFile = {
  date: new Date().toISOString(),
  command: `npm run bench:page -- ${process.argv.slice(2).join(' ')}`,
  environment,
  preset: flags.preset,
  conv: flags.conv,
  steps,
  old: commitOf(sides.old),
  new: commitOf(sides.new),
  runs,
  ratio: mean('new') / mean('old'),
};
console.log(`samples/s new/old: ${file.ratio.toFixed(3)}× (${mean('old').toFixed(1)} -> ${mean('new').toFixed(1)})`);
writeJson('page.json', file);
writeMarkdown();
console.log('wrote bench/results/page.json and bench/RESULTS.md');
process.exit(0);
