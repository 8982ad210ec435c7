// The page once WebGPU is known to exist: controls, charts and images. All GPU work happens in the
// worker (worker.ts); this file turns clicks into messages and messages into pixels.
import { FASHION_CLASSES } from '../data/datasets.ts';
import { OPTIONS, valueIn, withOptions } from '../train/options.ts';
import { isPresetName, PRESETS, type PresetName, presetForAdapter } from '../train/presets.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { LossChart } from './chart.ts';
import { DrawPad } from './draw.ts';
import { drawSeparated } from './images.ts';
import { showWebgpuMissing } from './missing.ts';
import { type FromWorker, type LossHistory, type RunState, type Separated, SHIPPED_ORIGIN, type ToWorker } from './protocol.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the page knows, readable from the console and by the end-to-end tests (window.unmix). */
const app = {
  /** The full datasets are loaded: training and evaluation can run. */
  dataReady: false,
  /** Test images to show and try are loaded: the sample shipped with the page, or the full test sets. */
  samplesReady: false,
  state: 'none' as RunState,
  config: null as TrainConfig | null,
  step: 0,
  history: { train: [], test: [] } as LossHistory,
  samplesPerSecond: 0,
  secondsLeft: NaN,
  /** The live grid: test pairs (MNIST, Fashion-MNIST indices) and their separation at `step`. */
  grid: null as { step: number; digits: number[]; items: number[]; images: Separated } | null,
  /** Where the current model came from (the worker's words), e.g. SHIPPED_ORIGIN. */
  origin: '',
  /** The latest "try it yourself" separation. */
  tried: null as Separated | null,
  evaluating: false,
  /** The step of the model shown that is kept outside this page (downloaded, or loaded from a file);
   * null when none is: Start, Load and Restore ask before replacing it. */
  keptStep: null as number | null,
  digitsByClass: [] as number[][],
  itemsByClass: [] as number[][],
};
declare global {
  interface Window {
    unmix: typeof app;
  }
}
window.unmix = app;

const status = (text: string) => ($('status').textContent = text);

$('app').hidden = false;

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
const send = (message: ToWorker, transfer: Transferable[] = []) => worker.postMessage(message, transfer);
worker.onerror = (e) => status(`The training worker failed: ${e.message || 'could not start it'}. Reload the page.`);

// ---------------------------------------------------------------- data

const dataProgress = $<HTMLProgressElement>('data-progress');
const dataStatus = $('data-status');

function loadFiles(files: FileList | null): void {
  if (!files?.length) return;
  if (app.state === 'running') {
    status('Pause or stop training before loading other data.');
    return;
  }
  dataStatus.textContent = `Checking ${files.length} file(s)…`;
  send({ type: 'load-data', files: [...files] });
}

$<HTMLInputElement>('data-files').addEventListener('change', (e) => loadFiles((e.target as HTMLInputElement).files));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  loadFiles(e.dataTransfer?.files ?? null);
});

// ---------------------------------------------------------------- training controls

const form = $<HTMLFormElement>('config');
const field = (name: string) => form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;

/** The form's fields of the options the page shows, built from the options table: a number input in
 * the option's range, or a list where it takes a few values. */
const PAGE_OPTIONS = OPTIONS.filter((row) => row.page !== undefined);
for (const row of PAGE_OPTIONS) {
  const v = row.values;
  const few = v.type === 'choice' ? v.choices : v.type === 'integer' && v.max - v.min < 5 ? range(v.min, v.max) : null;
  let input: HTMLInputElement | HTMLSelectElement;
  if (few) {
    input = document.createElement('select');
    input.append(...few.map((value) => new Option(value, value)));
  } else {
    input = document.createElement('input');
    input.type = 'number';
    input.required = true;
    input.step = v.type === 'integer' ? '1' : 'any';
    if (v.type === 'integer' || v.type === 'number') {
      if (!(v.type === 'number' && v.minOpen)) input.min = String(v.min);
      if (v.max < Number.MAX_SAFE_INTEGER) input.max = String(v.max);
    }
  }
  input.name = row.field;
  const label = document.createElement('label');
  label.append(`${row.page} `, input);
  form.append(label);
}

function range(min: number, max: number): string[] {
  return Array.from({ length: max - min + 1 }, (_, i) => String(min + i));
}

function showConfig(c: TrainConfig): void {
  for (const row of PAGE_OPTIONS) field(row.field).value = String(valueIn(c, row));
}

/** The configurations the preset list offers: the presets, and the model loaded last, if any. */
const LOADED = 'loaded';
let loadedModel: TrainConfig | null = null;
const selectedConfig = (): TrainConfig =>
  field('preset').value === LOADED && loadedModel ? loadedModel : PRESETS[field('preset').value as PresetName].config;

/** The selected configuration with the form's values: what Start trains. */
function readConfig(): TrainConfig {
  return withOptions(
    selectedConfig(),
    Object.fromEntries(
      PAGE_OPTIONS.map((row) => [row.flag, row.values.type === 'choice' ? field(row.field).value : Number(field(row.field).value)]),
    ),
  );
}

/** Minutes of training time, or undefined to train for the steps given. */
function readMinutes(): number | undefined {
  const text = field('minutes').value.trim();
  return text === '' ? undefined : Number(text);
}

/** Fills the form from a preset: its config and its time budget (empty: train for its steps). */
function choosePreset(name: PresetName): void {
  field('preset').value = name;
  const preset: { config: TrainConfig; minutes?: number } = PRESETS[name];
  showConfig(preset.config);
  field('minutes').value = preset.minutes === undefined ? '' : String(preset.minutes);
}

field('preset').append(...Object.entries(PRESETS).map(([name, p]) => new Option(`${name}: ${p.description}`, name)));
field('preset').addEventListener('change', () => {
  const name = field('preset').value;
  if (isPresetName(name)) choosePreset(name);
  else if (name === LOADED && loadedModel) showLoadedModel(loadedModel);
});

/** Offers a loaded model's configuration as a "loaded model" entry of the preset list, selected, and
 * shows it in the form with no time budget (its steps are the ones it recorded). */
function showLoadedModel(config: TrainConfig): void {
  loadedModel = config;
  if (![...(field('preset') as HTMLSelectElement).options].some((o) => o.value === LOADED))
    field('preset').append(new Option('loaded model: the configuration of the model loaded last', LOADED));
  field('preset').value = LOADED;
  showConfig(config);
  field('minutes').value = '';
}
choosePreset('default');

const buttons = {
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  resume: $<HTMLButtonElement>('resume'),
  stop: $<HTMLButtonElement>('stop'),
  evaluate: $<HTMLButtonElement>('evaluate'),
  download: $<HTMLButtonElement>('download'),
  another: $<HTMLButtonElement>('another'),
  cancelEval: $<HTMLButtonElement>('cancel-eval'),
  restoreShipped: $<HTMLButtonElement>('restore-shipped'),
};

/** Asks before the model shown is replaced, unless it is kept elsewhere (a file); true: go ahead. */
function mayReplaceModel(action: string): boolean {
  if (!app.config) return true;
  if (app.origin === SHIPPED_ORIGIN)
    return confirm(`${action} replaces the model shipped with the page. (Restore the shipped model brings it back at any time.)`);
  if (app.keptStep === app.step) return true;
  return confirm(
    `${action} replaces the current model, at step ${app.step.toLocaleString()}, which is not saved: download its weights first to keep them. Replace it?`,
  );
}

buttons.start.addEventListener('click', () => {
  if (!form.reportValidity()) return;
  if (!mayReplaceModel('Starting a new model')) return;
  app.evaluating = false;
  $('eval-result').textContent = '';
  // ?conv=default|retune|<variant> chooses the conv kernels (measured and cached by default).
  send({
    type: 'start',
    config: readConfig(),
    minutes: readMinutes(),
    conv: new URLSearchParams(location.search).get('conv') ?? undefined,
  });
  status('Starting…');
});
buttons.pause.addEventListener('click', () => send({ type: 'pause' }));
buttons.resume.addEventListener('click', () => send({ type: 'resume' }));
buttons.stop.addEventListener('click', () => send({ type: 'stop' }));

function updateControls(): void {
  const hasModel = app.config !== null;
  const running = app.state === 'running';
  buttons.start.disabled = !app.dataReady || running || app.evaluating;
  buttons.pause.disabled = !running;
  buttons.resume.disabled = app.state !== 'paused' || app.evaluating;
  buttons.stop.disabled = !(running || app.state === 'paused');
  buttons.evaluate.disabled = !hasModel || !app.dataReady || running || app.evaluating;
  buttons.cancelEval.hidden = !app.evaluating;
  buttons.download.disabled = !hasModel;
  buttons.another.disabled = !hasModel || !app.samplesReady;
  buttons.restoreShipped.disabled = !app.samplesReady || running || app.evaluating || app.origin === SHIPPED_ORIGIN;
  $<HTMLInputElement>('weights-file').disabled = !app.samplesReady || running || app.evaluating;
  $('weights-label').classList.toggle('disabled', !app.samplesReady || running || app.evaluating);
  $<HTMLInputElement>('data-files').disabled = running;
  $('data-label').classList.toggle('disabled', running);
  for (const el of form.elements) (el as HTMLInputElement).disabled = running;
}

// ---------------------------------------------------------------- stats and chart

const chart = new LossChart($('chart'), true);
$<HTMLInputElement>('log-scale').addEventListener('change', (e) => chart.setLog((e.target as HTMLInputElement).checked));

const last = (points: [number, number][]) => (points.length ? points[points.length - 1][1] : null);

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function updateStats(): void {
  const c = app.config;
  $('stat-step').textContent = c ? `${app.step.toLocaleString()} / ${c.steps.toLocaleString()}` : '–';
  $('stat-train').textContent = last(app.history.train)?.toFixed(5) ?? '–';
  $('stat-test').textContent = last(app.history.test)?.toFixed(5) ?? '–';
  const running = app.state === 'running' && app.samplesPerSecond > 0;
  $('stat-speed').textContent = running ? Math.round(app.samplesPerSecond).toLocaleString() : '–';
  $('stat-left').textContent = running ? formatDuration(app.secondsLeft) : '–';
}

// ---------------------------------------------------------------- evaluation and weights

buttons.evaluate.addEventListener('click', () => {
  app.evaluating = true;
  updateControls();
  const progress = $<HTMLProgressElement>('eval-progress');
  progress.value = 0;
  progress.hidden = false;
  $('eval-result').textContent = 'Evaluating…';
  send({ type: 'evaluate' });
});
buttons.cancelEval.addEventListener('click', () => send({ type: 'cancel-evaluation' }));

buttons.download.addEventListener('click', () => send({ type: 'download' }));
buttons.restoreShipped.addEventListener('click', () => {
  if (!mayReplaceModel('Restoring the shipped model')) return;
  status('Restoring the shipped model…');
  send({ type: 'restore-shipped' });
});

$<HTMLInputElement>('weights-file').addEventListener('change', async (e) => {
  const input = e.target as HTMLInputElement;
  const file = input.files?.[0];
  if (!file) return;
  if (!mayReplaceModel(`Loading ${file.name}`)) {
    input.value = '';
    return;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  input.value = '';
  status(`Loading ${file.name}…`);
  send({ type: 'load-weights', bytes, name: file.name }, [bytes.buffer]);
});

function saveFile(bytes: Uint8Array, name: string): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------- try it yourself

const digitClass = $<HTMLSelectElement>('digit-class');
const itemClass = $<HTMLSelectElement>('item-class');
digitClass.append(...Array.from({ length: 10 }, (_, d) => new Option(String(d), String(d))));
itemClass.append(...FASHION_CLASSES.map((name, c) => new Option(name, String(c))));
itemClass.value = '0';
digitClass.value = '3';
/** Which example of the chosen classes is shown; "Another example" moves it on. */
let example = 0;

const pad = new DrawPad($<HTMLCanvasElement>('pad'), () => tryIt());
const drawMode = () => (document.querySelector('input[name="digit-source"]:checked') as HTMLInputElement).value === 'draw';

function tryIt(): void {
  if (!app.config || !app.samplesReady) return;
  const items = app.itemsByClass[Number(itemClass.value)];
  const item = items[example % items.length];
  if (drawMode()) {
    const digit = pad.digit();
    if (digit) send({ type: 'try-drawn', digit, item }, [digit.buffer]);
  } else {
    const digits = app.digitsByClass[Number(digitClass.value)];
    send({ type: 'try-pair', digit: digits[example % digits.length], item });
  }
}

for (const radio of document.querySelectorAll('input[name="digit-source"]')) {
  radio.addEventListener('change', () => {
    $('draw-area').hidden = !drawMode();
    $('digit-class-label').hidden = drawMode();
    tryIt();
  });
}
digitClass.addEventListener('change', tryIt);
itemClass.addEventListener('change', tryIt);
buttons.another.addEventListener('click', () => {
  example++;
  tryIt();
});
$('clear-pad').addEventListener('click', () => pad.clear());

// ---------------------------------------------------------------- messages from the worker

const STATE_TEXT: Record<RunState, string> = {
  none: 'Ready to train.',
  running: 'Training…',
  paused: 'Paused. Resume to continue from this step.',
  stopped: 'Stopped. Evaluate, try it, or download the weights.',
  done: 'Training finished.',
};

/** Where the current model came from, said once along with its state. */
let modelNote = '';

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  switch (m.type) {
    case 'gpu':
      $('adapter').textContent = m.adapter;
      choosePreset(presetForAdapter(m.adapter));
      dataStatus.textContent = 'Looking for the datasets on this server…';
      send({ type: 'load-data' });
      break;
    case 'fatal':
      $('app').hidden = true;
      showWebgpuMissing(m.message);
      break;
    case 'data-progress':
      dataProgress.value = m.fraction;
      dataStatus.textContent = `Loading ${m.file}…`;
      break;
    case 'data-ready':
      app.samplesReady = true;
      app.digitsByClass = m.digitsByClass;
      app.itemsByClass = m.itemsByClass;
      if (m.full) {
        app.dataReady = true;
        dataProgress.value = 1;
        dataStatus.textContent = 'MNIST and Fashion-MNIST loaded and verified (SHA-256).';
        $('data-sources').hidden = true;
        // The worker announces a restored or shipped model first; its status stands.
        if (!app.config) status('Data ready. Set the network up and press Start.');
      }
      break;
    case 'data-error':
      dataProgress.value = 0;
      dataStatus.textContent = m.notServed
        ? `The datasets are not on this host (${m.message}). The model shown works on a sample of the test sets; to train or evaluate, pick the files.`
        : m.message + (app.dataReady ? '\nThe datasets loaded before are still in use.' : '');
      $('data-sources').hidden = app.dataReady;
      if (!app.dataReady && !app.config) status('The datasets are needed: see Data.');
      break;
    case 'kernels':
      $('kernels-note').textContent = m.note;
      if (m.lines.length) $('kernels').textContent = m.lines.join('\n');
      $('kernels-box').hidden = false;
      // Measuring comes before the first step, for a minute or more on a CPU adapter: say so where
      // the training status is.
      if (m.measuring) status(`Measuring the conv kernels for this GPU (once per adapter), before step 1: ${m.note}`);
      else if (app.state === 'running') status(STATE_TEXT.running);
      break;
    case 'model':
      app.keptStep = m.inFile ? m.step : null;
      app.origin = m.origin;
      app.config = m.config;
      app.step = m.step;
      app.history = m.history;
      app.grid = null;
      if (m.origin === 'new') showConfig(m.config);
      else showLoadedModel(m.config);
      chart.set(m.history);
      $('stat-params').textContent = m.parameterCount.toLocaleString();
      $('model-summary').textContent = m.summary;
      $('summary-box').hidden = false;
      modelNote = m.origin === 'new' ? '' : `Model ${m.origin}, at step ${m.step.toLocaleString()}. `;
      break;
    case 'state':
      app.state = m.state;
      app.step = m.step;
      if (m.state !== 'running') app.samplesPerSecond = 0;
      status(modelNote + STATE_TEXT[m.state]);
      modelNote = '';
      break;
    case 'loss':
      app.history.train.push(...m.train);
      app.history.test.push(...m.test);
      if (m.train.length) {
        app.step = m.train[m.train.length - 1][0];
        app.samplesPerSecond = m.samplesPerSecond;
        app.secondsLeft = m.secondsLeft;
      }
      if (app.config && app.config.steps !== m.steps) {
        app.config = { ...app.config, steps: m.steps };
        field('steps').value = String(m.steps);
      }
      chart.add(m.train, m.test);
      break;
    case 'grid':
      app.grid = { step: m.step, digits: m.digits, items: m.items, images: m.images };
      drawSeparated($<HTMLCanvasElement>('grid'), m.images);
      $('grid-step').textContent = `At step ${m.step.toLocaleString()}.`;
      break;
    case 'eval-progress':
      $<HTMLProgressElement>('eval-progress').value = m.done / m.total;
      $('eval-result').textContent =
        m.what === 'model'
          ? `Evaluating… ${m.done.toLocaleString()} / ${m.total.toLocaleString()} mixtures finished`
          : `Scoring the mixture itself first, for reference… ${m.done.toLocaleString()} / ${m.total.toLocaleString()} mixtures finished`;
      break;
    case 'eval-result': {
      const r = m.result;
      app.evaluating = false;
      $('eval-progress').hidden = true;
      $('eval-result').textContent =
        `MSE ${r.mse_mean.toFixed(5)} ± ${r.mse_std.toFixed(5)} (digit ${r.mse_digit.toFixed(5)}, item ${r.mse_item.toFixed(5)}) ` +
        `over ${r.repeats} × ${r.mixtures.toLocaleString()} test mixtures, at step ${m.step.toLocaleString()}.`;
      break;
    }
    case 'eval-reference':
      $('eval-reference').textContent =
        `For reference, the mixture itself as the prediction of both sources scores ${m.mixtureScore.toFixed(4)} on the same mixtures.`;
      break;
    case 'eval-cancelled':
      app.evaluating = false;
      $('eval-progress').hidden = true;
      $('eval-result').textContent = 'Evaluation cancelled.';
      break;
    case 'weights':
      saveFile(m.bytes, m.name);
      app.keptStep = app.step;
      status(`Saved ${m.name}.`);
      break;
    case 'try-result':
      app.tried = m.images;
      drawSeparated($<HTMLCanvasElement>('try-result'), m.images);
      break;
    case 'error':
      if (app.evaluating) {
        app.evaluating = false;
        $('eval-progress').hidden = true;
        $('eval-result').textContent = '';
      }
      status(m.message);
      break;
  }
  updateStats();
  updateControls();
  // New weights, or the test images they are tried on: separate the chosen pair again.
  if (m.type === 'grid' || m.type === 'data-ready') tryIt();
};
