// The training worker: owns the GPU device, the datasets on it, the Mixer and the Trainer, so the
// page never waits on the GPU. It answers the page's messages (protocol.ts) and, while running,
// trains through a TrainingSession in chunks sized to take about a quarter of a second each, posting
// losses, a fresh grid every few seconds and a checkpoint to IndexedDB every half minute.
//
// It starts on the small test sample that travels with the page (src/data/test-sample.ts), so the
// model shown separates at once on any host; the full datasets, once served or picked, replace the
// sample under the same model.
import {
  DATA_DIR,
  DATA_MANIFEST,
  DATASET_FILES,
  type DataManifest,
  type Dataset,
  loadSourceImages,
  SOURCE_FILES,
  type SourceImages,
} from '../data/datasets.ts';
import { gunzip, isGzip, sha256Hex } from '../data/idx.ts';
import { Mixer } from '../data/mixer.ts';
import { readBody } from '../data/read-body.ts';
import { SAMPLE_DISPLAY_PAIRS, TEST_SAMPLE_FILE, type TestSample, testSampleImages } from '../data/test-sample.ts';
import { createBrowserGpu } from '../gpu/browser.ts';
import type { Gpu } from '../gpu/gpu.ts';
import { formatChoices, tunerOf } from '../gpu/tuner.ts';
import { formatSummary, modelSummary } from '../model/summary.ts';
import { CONV_KERNEL_NAMES, convTuneMode } from '../ops/conv2d/kernels.ts';
import { DISPLAY_PAIRS, evaluateProtocol, mixtureAsPrediction } from '../train/evaluate.ts';
import { TrainingSession } from '../train/session.ts';
import { type TrainConfig, Trainer } from '../train/trainer.ts';
import {
  type FromWorker,
  type LossHistory,
  type RunState,
  type Separated,
  SHIPPED_ORIGIN,
  SHIPPED_WEIGHTS,
  type ToWorker,
} from './protocol.ts';
import { clearRun, loadRun, saveRun, tuningStore } from './store.ts';

const CHUNK_SECONDS = 0.25;
/** Chunks never exceed this many steps, however fast the GPU, so pause answers quickly. */
const MAX_CHUNK_STEPS = 200;
const TEST_LOSS_EVERY_S = 5;
const GRID_EVERY_S = 3;
const SAVE_EVERY_S = 30;
const MONITOR_SHARE = 0.1;
/** Test images offered per class in "try it yourself". */
const PER_CLASS = 50;

let gpu: Gpu | null = null;
let images: SourceImages | null = null;
let mixer: Mixer | null = null;
/** Whether the mixer holds the full datasets (training and evaluation need them), not the sample. */
let fullData = false;
/** Where the display pairs sit in the mixer's test split (DISPLAY_PAIRS in the full test sets). */
let displayAt = SAMPLE_DISPLAY_PAIRS;
/** The protocol's score of the mixture itself, on the full test sets: every result's reference. */
let mixtureScore: number | null = null;
/** Aborts the evaluation in progress. */
let evaluation: AbortController | null = null;
/** The model and its training; its trainer is the model every message uses. */
let session: TrainingSession | null = null;
let history: LossHistory = { train: [], test: [] };
let state: RunState = 'none';

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, { transfer });
}

function setState(next: RunState): void {
  state = next;
  post({ type: 'state', state, step: session?.trainer.step ?? 0 });
}

function separatedTransfer(s: Separated): Transferable[] {
  return [s.mixture.buffer, s.digit.buffer, s.item.buffer, s.predDigit.buffer, s.predItem.buffer];
}

// Every use of the GPU goes through this queue, so a message that arrives mid-training (download,
// try it) runs between two chunks of steps rather than inside one.
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn);
  queue = run.catch(() => undefined);
  return run;
}

function need<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} first`);
  return value;
}

// ---------------------------------------------------------------- datasets

/** Reads a dataset file that the dev server (src/app/data-plugin.ts) or a build serves, reporting
 * bytes as they come. Any type but a page will do: hosts label .gz files variously. */
async function fetchDataFile(dataset: Dataset, file: string, onFraction: (f: number) => void): Promise<Uint8Array> {
  const url = `${import.meta.env.BASE_URL}${DATA_DIR}${dataset}/${file}`;
  const response = await fetch(url);
  const type = response.headers.get('Content-Type') ?? '';
  if (!response.ok || type.startsWith('text/')) {
    const why = type.startsWith('text/plain') ? await response.text() : `HTTP ${response.status} ${type}, not a dataset file`;
    throw new Error(`${url}: ${why}`);
  }
  return readBody(response, (received, total) => {
    if (total) onFraction(received / total);
  });
}

/** Sorts files the user picked into dataset files by content: MNIST and Fashion-MNIST share file
 * names, so only the checksum of the decompressed bytes tells them apart. */
async function identifyFiles(files: File[]): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>();
  const problems: string[] = [];
  for (const [i, f] of files.entries()) {
    post({ type: 'data-progress', fraction: i / files.length / 2, file: `checking ${f.name}` });
    const bytes = new Uint8Array(await f.arrayBuffer());
    let raw: Uint8Array;
    try {
      raw = isGzip(bytes) ? await gunzip(bytes, f.name) : bytes;
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    const sum = await sha256Hex(raw);
    const match = DATASET_FILES.find((d) => d.sha256 === sum);
    if (match) found.set(`${match.dataset}/${match.file}`, raw);
    else problems.push(`${f.name}: not an MNIST or Fashion-MNIST file (its content matches none of the official checksums)`);
  }
  const missing = SOURCE_FILES.map((f) => `${f.dataset}/${f.file}`).filter((k) => !found.has(k));
  if (missing.length) {
    problems.push(`Still missing: ${missing.join(', ')}. Pick all eight .gz files of both datasets at once.`);
    throw new Error(problems.join('\n'));
  }
  return found;
}

async function loadData(files?: File[]): Promise<void> {
  const g = need(gpu, 'open the GPU');
  const total = SOURCE_FILES.length;
  let done = 0;
  let read: (dataset: Dataset, file: string) => Promise<Uint8Array>;
  if (files) {
    const picked = await identifyFiles(files);
    read = async (dataset, file) => picked.get(`${dataset}/${file}`)!;
  } else {
    await checkDataServed();
    read = (dataset, file) =>
      fetchDataFile(dataset, file, (f) => post({ type: 'data-progress', fraction: (done + f) / total, file: `${dataset}/${file}` }));
  }
  const loaded = await loadSourceImages(read, (d, _total, file) => {
    done = d;
    post({ type: 'data-progress', fraction: files ? 0.5 + d / total / 2 : d / total, file });
  });
  await useImages(g, loaded, true);
}

/** The served datasets, as the build or the dev server lists them (data/datasets.json): asked first,
 * so a host without them answers one small file rather than 404s. */
async function checkDataServed(): Promise<void> {
  const url = `${import.meta.env.BASE_URL}${DATA_DIR}${DATA_MANIFEST}`;
  const response = await fetch(url).catch(() => null);
  const listed =
    response?.ok && response.headers.get('Content-Type')?.includes('json') ? ((await response.json()) as DataManifest).files : [];
  const missing = SOURCE_FILES.map((f) => `${f.dataset}/${f.file}`).filter((name) => !listed.includes(name));
  if (missing.length) throw new DataNotServed(`${url} lists ${listed.length ? `not ${missing.join(', ')}` : 'no dataset files'}`);
}

/** The datasets are not on this host: the page then asks for the files. */
class DataNotServed extends Error {}

/** The small test sample that travels with the page: the model shown separates before the datasets come. */
async function loadSample(): Promise<void> {
  const url = `${import.meta.env.BASE_URL}${TEST_SAMPLE_FILE}`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}; the page's test sample is missing from this host`);
  await useImages(need(gpu, 'open the GPU'), testSampleImages((await response.json()) as TestSample), false);
}

/** Puts images on the GPU for the model shown (the full datasets, or the sample) and tells the page
 * which test images each class offers. The model stays what it was: it moves onto the new mixer. */
async function useImages(g: Gpu, loaded: SourceImages, full: boolean): Promise<void> {
  const previous = mixer;
  images = loaded;
  mixer = new Mixer(g, loaded);
  fullData = full;
  displayAt = full ? DISPLAY_PAIRS : SAMPLE_DISPLAY_PAIRS;
  mixtureScore = null;
  const byClass = (labels: Uint8Array) =>
    Array.from({ length: 10 }, (_, c) => {
      const out: number[] = [];
      for (let i = 0; i < labels.length && out.length < PER_CLASS; i++) if (labels[i] === c) out.push(i);
      return out;
    });
  // The model first: the page fills its form from it, and a visitor (or a test) who waits for the
  // data to be ready finds the form settled.
  if (session) await moveModelTo(mixer);
  else await restoreSavedRun();
  previous?.destroy();
  post({ type: 'data-ready', full, digitsByClass: byClass(loaded.mnistTestLabels), itemsByClass: byClass(loaded.fashionTestLabels) });
}

/** The model shown, with its optimizer state, step and curves, on another mixer. */
async function moveModelTo(next: Mixer): Promise<void> {
  const s = need(session, 'train or load a model');
  const bytes = await s.checkpoint();
  const wasStopped = state === 'stopped';
  await useTrainer(await Trainer.fromCheckpoint(need(gpu, 'open the GPU'), next, bytes, {}, 'the model shown'), history, origin);
  if (wasStopped) setState('stopped');
}

// ---------------------------------------------------------------- model and training

/** Where the model shown came from (the page's words), e.g. SHIPPED_ORIGIN. */
let origin = '';
/** How a model loaded from a file is named: LOADED_FROM + the file's name. */
const LOADED_FROM = 'loaded from ';

function announceModel(): void {
  const t = session!.trainer;
  post({
    type: 'model',
    config: t.config,
    step: t.step,
    parameterCount: t.parameterCount,
    summary: formatSummary(modelSummary(t.model)),
    history,
    origin,
    inFile: origin.startsWith(LOADED_FROM),
  });
}

/** The page's monitors while a session runs: the test loss, the grid (the session checkpoints). */
let monitors: { testLoss: Every; grid: Every } | null = null;

function openSession(trainer: Trainer, budgetSeconds?: number): TrainingSession {
  const next = new TrainingSession(trainer, {
    readBack: { mode: 'chunked', chunkSeconds: CHUNK_SECONDS, maxChunkSteps: MAX_CHUNK_STEPS },
    checkpointEverySeconds: SAVE_EVERY_S,
    budgetSeconds,
    exclusive,
  });
  next.on('progress', async (p) => {
    const last = history.train[history.train.length - 1];
    if (last?.[0] === p.lossStep) return; // the session's closing report of a point already sent
    history.train.push([p.lossStep, p.loss]);
    post({
      type: 'loss',
      train: [[p.lossStep, p.loss]],
      test: [],
      samplesPerSecond: p.samplesPerSecond,
      secondsLeft: p.secondsLeft,
      steps: p.steps,
    });
    await monitors?.testLoss.maybe(next.complete);
    await monitors?.grid.maybe();
  });
  next.on('checkpoint', ({ bytes }) => saveRun({ bytes, history, savedAt: Date.now() }));
  next.on('tuning', ({ done, total, key }) =>
    post({ type: 'kernels', lines: [], note: `shape class ${done + 1} of ${total}, ${key}`, measuring: true }),
  );
  next.on('tuned', ({ tuned, seconds }) => postKernels(`measured ${tuned} shape classes in ${seconds.toFixed(1)} s on this adapter`));
  next.on('done', () => postKernels(`mode ${tunerOf(next.trainer.gpu).mode.kind}`));
  next.on('error', ({ message }) =>
    post({ type: 'error', message: `Training stopped: ${message}: lower the learning rate and start again` }),
  );
  return next;
}

async function useTrainer(next: Trainer, nextHistory: LossHistory, nextOrigin: string, budgetSeconds?: number): Promise<void> {
  session?.trainer.destroy();
  session = openSession(next, budgetSeconds);
  history = nextHistory;
  origin = nextOrigin;
  announceModel();
  setState(session.complete ? 'done' : next.step > 0 ? 'paused' : 'none');
  await refreshGrid();
}

/** The model shown at the end of the last visit, kept in this browser; on a first visit, or after
 * the shipped model was restored, the shipped one. */
async function restoreSavedRun(): Promise<void> {
  const saved = await loadRun().catch(() => null);
  if (!saved) return loadShippedModel();
  try {
    const restored = await Trainer.fromCheckpoint(gpu!, mixer!, saved.bytes, {}, 'saved checkpoint');
    await useTrainer(restored, saved.history, `restored from this browser's storage (saved ${new Date(saved.savedAt).toLocaleString()})`);
    if (saved.stopped) setState('stopped');
  } catch (e) {
    // Said, not silent: the status names the failure, and the shipped model is shown instead.
    await loadShippedModel();
    post({
      type: 'error',
      message: `The model saved in this browser could not be restored (${(e as Error).message}); showing the shipped model`,
    });
  }
}

/** Weights that `npm run train -- --preset hour` produced, served from public/: a first visit
 * sees the separation and the drawing pad work before, or instead of, training a model of its own. */
async function loadShippedModel(): Promise<void> {
  const url = `${import.meta.env.BASE_URL}${SHIPPED_WEIGHTS}`;
  const response = await fetch(url).catch(() => null);
  if (!response?.ok || response.headers.get('Content-Type')?.startsWith('text/html')) {
    post({ type: 'error', message: `The model shipped with the page (${url}) could not be fetched: train one, or load weights.` });
    return;
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  await useTrainer(await Trainer.fromCheckpoint(gpu!, mixer!, bytes, {}, url), { train: [], test: [] }, SHIPPED_ORIGIN);
}

/** Keeps the model shown in this browser, so that a reload shows it again (stopped, if it was). */
async function saveCheckpoint(): Promise<void> {
  if (!session) return;
  await saveRun({ bytes: await session.checkpoint(), history, savedAt: Date.now(), stopped: state === 'stopped' });
}

async function refreshGrid(): Promise<void> {
  if (!session) return;
  const images = await session.trainer.predictPairs(displayAt.digits, displayAt.items);
  post({ type: 'grid', step: session.trainer.step, ...DISPLAY_PAIRS, images }, separatedTransfer(images));
}

/** Runs `fn` every `seconds`, or less often where it is slow: at most MONITOR_SHARE of the time
 * goes to each of the test loss and the grid, so slow GPUs spend it on training. */
class Every {
  private last: number;
  private cost = 0;
  constructor(
    private readonly seconds: number,
    private readonly fn: () => Promise<void>,
    startNow: boolean,
  ) {
    this.last = startNow ? -Infinity : performance.now();
  }
  async maybe(force = false): Promise<void> {
    const now = performance.now();
    if (!force && now - this.last < Math.max(this.seconds * 1000, this.cost / MONITOR_SHARE)) return;
    await exclusive(this.fn);
    this.last = performance.now();
    this.cost = this.last - now;
  }
}

async function trainLoop(s: TrainingSession): Promise<void> {
  const t = s.trainer;
  monitors = {
    testLoss: new Every(
      TEST_LOSS_EVERY_S,
      async () => {
        const loss = await t.testLoss();
        history.test.push([t.step, loss]);
        post({ type: 'loss', train: [], test: [[t.step, loss]], samplesPerSecond: 0, secondsLeft: NaN, steps: t.config.steps });
      },
      true,
    ),
    grid: new Every(GRID_EVERY_S, refreshGrid, false),
  };
  const done = await s.run().catch((e: Error) => {
    post({ type: 'error', message: `Training stopped: ${e.message}` });
    return null;
  });
  monitors = null;
  if (session !== s) return; // replaced by a new run or a loaded file meanwhile
  await exclusive(refreshGrid);
  setState(done?.reason === 'complete' || done?.reason === 'budget' ? 'done' : done?.reason === 'stopped' ? 'stopped' : 'paused');
  if (state === 'stopped') await exclusive(saveCheckpoint); // a reload shows it stopped, not paused
}

/** Chooses the conv kernels as the page's ?conv= asks: measured and cached in IndexedDB by default. */
async function configureKernels(conv = 'auto'): Promise<void> {
  const mode = convTuneMode(conv);
  if (!mode) throw new Error(`?conv=${conv}: use auto, retune, default or a kernel variant (${CONV_KERNEL_NAMES.join(', ')})`);
  const g = need(gpu, 'open the GPU');
  const tuner = tunerOf(g);
  if (kernelsConfigured && JSON.stringify(tuner.mode) === JSON.stringify(mode)) return;
  kernelsConfigured = true;
  try {
    await tuner.configure(mode, tuningStore);
  } catch {
    await tuner.configure(mode, null); // no IndexedDB (a private window): choices last as long as the page
  }
}
let kernelsConfigured = false;

function postKernels(note: string): void {
  post({ type: 'kernels', lines: formatChoices(tunerOf(need(gpu, 'open the GPU')).choices()), note, measuring: false });
}

async function start(config: TrainConfig, minutes?: number, conv?: string): Promise<void> {
  if (!fullData) throw new Error('Training needs the datasets: see Data');
  await configureKernels(conv);
  const fresh = await Trainer.create(need(gpu, 'open the GPU'), need(mixer, 'load the datasets'), config);
  await useTrainer(fresh, { train: [], test: [] }, 'new', minutes === undefined ? undefined : minutes * 60);
  resume();
}

/** The running training loop, awaited before its session is replaced. */
let loop: Promise<void> = Promise.resolve();

function resume(): void {
  const s = need(session, 'start training');
  if (s.isRunning || s.complete) return;
  setState('running');
  loop = trainLoop(s);
}

/** Ends the training loop, if one runs, with its checkpoint saved. */
async function stopLoop(): Promise<void> {
  session?.stop();
  await loop;
}

/** The protocol on the mixture itself (once per datasets: the reference every score is read
 * against), then on the model shown; progress counts mixtures the GPU has finished, and
 * 'cancel-evaluation' ends it within a few batches. */
async function evaluate(): Promise<void> {
  need(session, 'train or load a model');
  if (!fullData) throw new Error('Evaluation needs the test set: load the datasets (see Data)');
  if (state === 'running') throw new Error('pause training before evaluating');
  const abort = new AbortController();
  evaluation = abort;
  // 800 small messages over the whole protocol: cheap enough to post every one.
  const onProgress = (what: 'model' | 'mixture') => (done: number, total: number) => post({ type: 'eval-progress', what, done, total });
  try {
    mixtureScore ??= (
      await exclusive(() =>
        evaluateProtocol(need(gpu, 'open the GPU'), need(mixer, 'load the datasets'), mixtureAsPrediction, {
          onProgress: onProgress('mixture'),
          signal: abort.signal,
        }),
      )
    ).mse_mean;
    post({ type: 'eval-reference', mixtureScore });
    const { result, step } = await exclusive(async () => {
      const t = need(session, 'train or load a model').trainer;
      return { result: await t.evaluate({ onProgress: onProgress('model'), signal: abort.signal }), step: t.step };
    });
    post({ type: 'eval-result', result, step });
  } catch (e) {
    if (!abort.signal.aborted) throw e;
    post({ type: 'eval-cancelled' });
  } finally {
    if (evaluation === abort) evaluation = null;
  }
}

// ---------------------------------------------------------------- trying the model

/** A test image as the Mixer pads it: 28×28 in the middle of 32×32, scaled to [0, 1]. */
function padded(pixels: Uint8Array, index: number): Float32Array {
  const out = new Float32Array(32 * 32);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) out[(y + 2) * 32 + x + 2] = pixels[index * 784 + y * 28 + x] / 255;
  }
  return out;
}

async function tryDrawn(digit: Float32Array, itemIndex: number): Promise<Separated> {
  const t = need(session, 'train or load a model').trainer;
  const item = padded(need(images, 'load the datasets').fashionTest.pixels, itemIndex);
  const mixture = digit.map((d, i) => (d + item[i]) / 2);
  const { predDigit, predItem } = await t.predictMixture(mixture, 1);
  return { mixture, digit, item, predDigit, predItem };
}

// ---------------------------------------------------------------- messages

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'load-data':
      try {
        await exclusive(() => loadData(message.files));
      } catch (e) {
        post({ type: 'data-error', message: (e as Error).message, notServed: e instanceof DataNotServed });
      }
      return;
    case 'start':
      await stopLoop(); // before the new model replaces it
      return exclusive(() => start(message.config, message.minutes, message.conv));
    case 'pause':
      session?.pause(); // the loop saves and reports when it sees this
      return;
    case 'resume':
      return resume();
    case 'stop':
      if (session?.isRunning) session.stop();
      else if (state === 'paused') {
        setState('stopped');
        await exclusive(saveCheckpoint);
      }
      return;
    case 'evaluate':
      return evaluate();
    case 'cancel-evaluation':
      evaluation?.abort();
      return;
    case 'restore-shipped':
      await stopLoop();
      await exclusive(async () => {
        await clearRun(); // storage keeps the model shown: after a reload, the shipped one again
        await loadShippedModel();
      });
      return;
    case 'download': {
      // The session is looked up once the GPU is free: the model shown may have moved meanwhile.
      const { bytes, name } = await exclusive(async () => {
        const s = need(session, 'train or load a model');
        const { width, depth } = s.trainer.config.model;
        return { bytes: await s.checkpoint(), name: `unmix-w${width}-d${depth}-step${s.trainer.step}.safetensors` };
      });
      post({ type: 'weights', bytes, name }, [bytes.buffer]);
      return;
    }
    case 'load-weights': {
      await stopLoop();
      await exclusive(async () => {
        const loaded = await Trainer.fromCheckpoint(
          need(gpu, 'open the GPU'),
          need(mixer, 'load the datasets'),
          message.bytes,
          {},
          message.name,
        );
        await useTrainer(loaded, { train: [], test: [] }, `${LOADED_FROM}${message.name}`);
        await saveCheckpoint();
      });
      return;
    }
    case 'try-pair': {
      const images = await exclusive(() => need(session, 'train or load a model').trainer.predictPairs([message.digit], [message.item]));
      post({ type: 'try-result', images }, separatedTransfer(images));
      return;
    }
    case 'try-drawn': {
      const images = await exclusive(() => tryDrawn(message.digit, message.item));
      post({ type: 'try-result', images }, separatedTransfer(images));
      return;
    }
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((e: Error) => post({ type: 'error', message: e.message }));
};

try {
  gpu = await createBrowserGpu();
  await configureKernels();
  const { description, architecture } = gpu.info;
  // Browsers often keep the description empty (privacy); the architecture may still say something.
  post({ type: 'gpu', adapter: architecture && !description.includes(architecture) ? `${description}, ${architecture}` : description });
} catch (e) {
  post({ type: 'fatal', message: (e as Error).message });
}
// The sample before the datasets: the page shows the separation while they load, or without them.
if (gpu) await exclusive(loadSample).catch((e: Error) => post({ type: 'error', message: e.message }));
