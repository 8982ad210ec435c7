// The autotuner: where an op has several kernels that compute the same thing (conv2d's variants),
// it times them on the adapter in use and keeps the fastest, per shape class. Ops ask synchronously
// while they encode (`pick`), so a shape met for the first time runs the default kernel and is
// queued; `tunePending()` (the training session calls it after its first step) measures the queue
// with GPU timestamps at the shape itself: a first run of each candidate compiles it, a second
// leaves out the hopeless ones, then the rest alternate round by round, the median per candidate,
// with a margin in the default's favour so that noise does not flip a choice. Choices are cached per adapter (and
// per version of the shader sources) in a store: a JSON file under the user cache in Node, IndexedDB
// in the page.
import type { Gpu } from './gpu.ts';

/** How the tuner chooses: measure (cached choices first), measure again ignoring the cache, take
 * every op's default kernel, or force one kernel by name wherever it applies. */
export type TuneMode = { kind: 'tune' } | { kind: 'retune' } | { kind: 'default' } | { kind: 'force'; kernel: string };

export interface TunedChoice {
  kernel: string;
  /** GPU milliseconds per run of each candidate: the median of the rounds, or the single timed run
   * of one left out of them. */
  ms: Record<string, number>;
}

/** Where choices persist between runs, for one adapter. */
export interface TuningStore {
  load(adapter: string): Promise<Record<string, TunedChoice>>;
  save(adapter: string, choices: Record<string, TunedChoice>): Promise<void>;
}

export interface TuneRequest {
  /** The op and shape class, e.g. "conv2d.forward 8→16 3×3 s1 p1 @32×32 batch 32". */
  key: string;
  /** Kernel names that apply here, the default first. */
  candidates: string[];
  /** Makes inputs of this shape class; `run` encodes one run of a candidate. */
  prepare: () => { run: (kernel: string) => void; dispose: () => void };
}

export type ChoiceSource = 'default' | 'forced' | 'cached' | 'tuned';

export interface TuneReport {
  /** Shape classes measured. */
  tuned: number;
  /** Wall-clock seconds, pipeline compiles included. */
  seconds: number;
}

/** A challenger must be this much faster than the default to replace it. */
export const TUNE_MARGIN = 0.1;
/** Measurement rounds: each runs every candidate once, in an order rotated by one per round. */
const TUNE_ROUNDS = 5;
/** Candidates whose timed first run is more than this many times the fastest's are left out of
 * the rounds (on lavapipe: the shared-memory and subgroup kernels, at 3-40× 'packed'). */
const TUNE_PRUNE = 2;
/** Runs per timed measurement are raised until the default's takes about this long. */
const TUNE_MIN_MS = 2;
const TUNE_MAX_REPEATS = 16;

/** What a training session asks of the tuner, and all it may: whether the shapes its first step
 * meets get measured, and measuring them (src/train/session.ts). */
export interface SessionTuning {
  /** Whether the shape classes met are measured (modes 'tune' and 'retune'). */
  readonly measures: boolean;
  readonly pendingCount: number;
  discardPending(): void;
  tunePending(onProgress?: (done: number, total: number, key: string) => void): Promise<TuneReport>;
}

export class Tuner implements SessionTuning {
  mode: TuneMode = { kind: 'default' };
  private cache: Record<string, TunedChoice> = {};
  private pending = new Map<string, TuneRequest>();
  private picked = new Map<string, { kernel: string; source: ChoiceSource }>();
  private store: TuningStore | null = null;
  /** Called with every choice made (the kernel benchmark labels its rows with them). */
  onPick: ((key: string, kernel: string) => void) | null = null;

  constructor(private gpu: Gpu) {}

  /** The adapter and shader-source version choices are cached under. */
  get adapterKey(): string {
    const i = this.gpu.info;
    return `${i.description} | ${i.architecture} | shaders ${this.gpu.shaderDigest}`;
  }

  /** Sets the mode and reads the cached choices from `store` (none: choices live as long as the process). */
  async configure(mode: TuneMode, store: TuningStore | null): Promise<void> {
    this.mode = mode;
    this.store = store;
    this.cache = store && mode.kind === 'tune' ? await store.load(this.adapterKey) : {};
    this.picked.clear();
    this.pending.clear();
    this.gpu.forgetRecordings();
  }

  /** The kernel to run for this request now. */
  pick(request: TuneRequest): string {
    const { key, candidates } = request;
    const [fallback] = candidates;
    const choose = (kernel: string, source: ChoiceSource) => {
      this.picked.set(key, { kernel, source });
      this.onPick?.(key, kernel);
      return kernel;
    };
    switch (this.mode.kind) {
      case 'default':
        return choose(fallback, 'default');
      case 'force':
        return candidates.includes(this.mode.kernel) ? choose(this.mode.kernel, 'forced') : choose(fallback, 'default');
    }
    const cached = this.cache[key];
    if (cached && candidates.includes(cached.kernel)) return choose(cached.kernel, this.picked.get(key)?.source ?? 'cached');
    if (candidates.length > 1) this.pending.set(key, request);
    return choose(fallback, 'default');
  }

  get measures(): boolean {
    return this.mode.kind === 'tune' || this.mode.kind === 'retune';
  }

  /** Shape classes met but not measured yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Forgets the queued shape classes, unmeasured (met again, they queue again). */
  discardPending(): void {
    this.pending.clear();
  }

  /** Measures every queued shape class, keeps the choices and saves them to the store. */
  async tunePending(onProgress?: (done: number, total: number, key: string) => void): Promise<TuneReport> {
    const started = performance.now();
    const queue = [...this.pending.values()];
    this.pending.clear();
    for (const [i, request] of queue.entries()) {
      onProgress?.(i, queue.length, request.key);
      const choice = await this.measure(request);
      this.cache[request.key] = choice;
      this.picked.set(request.key, { kernel: choice.kernel, source: 'tuned' });
    }
    if (queue.length) {
      this.gpu.forgetRecordings();
      if (this.store) await this.store.save(this.adapterKey, this.cache);
      // The candidates' runs left the pool holding buffers that the chosen kernels never ask for
      // (other kernels' sizes, a timed run's repeats): the next step allocates what it uses again.
      this.gpu.trim();
    }
    return { tuned: queue.length, seconds: (performance.now() - started) / 1000 };
  }

  /** Every shape class picked so far: its kernel and where the choice came from. */
  choices(): Record<string, { kernel: string; source: ChoiceSource; ms?: Record<string, number> }> {
    const out: Record<string, { kernel: string; source: ChoiceSource; ms?: Record<string, number> }> = {};
    for (const [key, p] of [...this.picked].sort(([a], [b]) => a.localeCompare(b))) {
      const ms = p.source === 'cached' || p.source === 'tuned' ? this.cache[key]?.ms : undefined;
      out[key] = ms ? { ...p, ms } : { ...p };
    }
    return out;
  }

  /** The kernel each shape class picked so far runs, by shape class (what run records keep). */
  variants(): Record<string, string> {
    return Object.fromEntries([...this.picked].map(([key, p]) => [key, p.kernel]));
  }

  private async measure(request: TuneRequest): Promise<TunedChoice> {
    const { candidates } = request;
    const { run, dispose } = request.prepare();
    try {
      const time = async (kernel: string, repeats: number) => {
        const start = performance.now();
        const gpuMs = await this.gpu.timeGpu(() => {
          for (let r = 0; r < repeats; r++) run(kernel);
        });
        this.gpu.endStep();
        return (gpuMs ?? performance.now() - start) / repeats;
      };
      // A first run of each compiles its pipelines. A second, timed, sets the repeats from the
      // default's time and leaves out candidates far slower than the fastest (the default stays).
      for (const kernel of candidates) await time(kernel, 1);
      const probe = new Map<string, number>();
      for (const kernel of candidates) probe.set(kernel, await time(kernel, 1));
      const fastest = Math.min(...probe.values());
      const contenders = candidates.filter((kernel, i) => i === 0 || probe.get(kernel)! <= TUNE_PRUNE * fastest);
      const first = probe.get(candidates[0])!;
      const repeats = Math.max(1, Math.min(TUNE_MAX_REPEATS, Math.ceil(TUNE_MIN_MS / Math.max(first, 1e-3))));
      const samples = new Map(contenders.map((kernel) => [kernel, [] as number[]]));
      for (let round = 0; round < TUNE_ROUNDS; round++) {
        for (let j = 0; j < contenders.length; j++) {
          const kernel = contenders[(round + j) % contenders.length];
          samples.get(kernel)!.push(await time(kernel, repeats));
        }
      }
      const ms = Object.fromEntries(
        candidates.map((kernel) => [kernel, samples.has(kernel) ? median(samples.get(kernel)!) : probe.get(kernel)!]),
      );
      return { kernel: fastestBeyondMargin(candidates[0], contenders, ms), ms };
    } finally {
      dispose();
      this.gpu.endStep();
    }
  }
}

/** The fastest contender by its median time, where it beats the default by more than the margin;
 * otherwise the default (noise between equal kernels must not flip a choice). */
export function fastestBeyondMargin(fallback: string, contenders: string[], ms: Record<string, number>): string {
  const best = contenders.reduce((a, b) => (ms[b] < ms[a] ? b : a));
  return ms[best] < ms[fallback] * (1 - TUNE_MARGIN) ? best : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const tuners = new WeakMap<Gpu, Tuner>();

/** The tuner of a device (one per Gpu, made on first use, in 'default' mode until configured). */
export function tunerOf(gpu: Gpu): Tuner {
  let tuner = tuners.get(gpu);
  if (!tuner) tuners.set(gpu, (tuner = new Tuner(gpu)));
  return tuner;
}

/** One line per shape class: the kernel, where the choice came from, and the measured times. */
export function formatChoices(choices: ReturnType<Tuner['choices']>): string[] {
  const keys = Object.keys(choices);
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((key) => {
    const { kernel, source, ms } = choices[key];
    const times = ms
      ? `: ${Object.entries(ms)
          .sort(([, a], [, b]) => a - b)
          .map(([name, t]) => `${name} ${t.toPrecision(3)} ms`)
          .join(', ')}`
      : '';
    return `${key.padEnd(width)}  ${kernel} (${source}${times})`;
  });
}
