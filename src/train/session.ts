// A training session: the loop around Trainer that the command line and the page's worker share. It
// trains in chunks of steps, reads the loss back (lagged, or awaited after each chunk), stops on a
// non-finite loss, measures samples/s and the time left, checkpoints by step count or elapsed time,
// pauses, resumes and stops, and can train for a wall-clock budget.
//
// A budget run stays exactly replayable: no learning rate before the decay starts depends on the
// step count (trainer.ts, decayStart), so the session times the steps, estimates the total T that
// fits the budget (config.steps = T, recorded in every checkpoint) and refines it at every read-back
// until the decay starts, where it fixes T; `--steps T` replays the same run. With the default cosine
// the decay starts right after warm-up, so T is fixed there; with a shorter cooldown T follows the
// machine's speed for most of the run. Should the machine slow down after T is fixed, the budget
// ends the run first and the checkpoint records the step reached.
//
// Kernel tuning: the first step runs the default kernel wherever the tuner has not measured a shape
// class yet (src/gpu/tuner.ts); right after it, the session has the tuner measure them, outside the
// training time (as the page compiles its pipelines before training starts), and the steps after
// run the chosen kernels. On a warm cache there is nothing to measure.
import { type SessionTuning, type TuneReport, tunerOf } from '../gpu/tuner.ts';
import { decayStart, NonFiniteStateError, type Trainer } from './trainer.ts';

export type ReadBack =
  /** The read of a chunk's last loss starts with it and is awaited after the next chunk, so the GPU
   * always has work queued while the CPU waits (the command line). */
  | { mode: 'lagged'; everySteps: number }
  /** Steps for about `chunkSeconds`, then the loss is awaited, so no more than one chunk is ever
   * queued and the thread stays responsive (the page's worker). */
  | { mode: 'chunked'; chunkSeconds: number; maxChunkSteps: number };

export interface SessionOptions {
  readBack: ReadBack;
  checkpointEverySteps?: number;
  checkpointEverySeconds?: number;
  /** Training-time budget, across resumes. Absent: the budget the trainer's checkpoint records, if
   * any; null: none (train for config.steps). */
  budgetSeconds?: number | null;
  /** Every piece of GPU work the session does runs through this (the page queues its other GPU work
   * between the session's chunks). */
  exclusive?: <T>(work: () => Promise<T>) => Promise<T>;
}

export interface Progress {
  step: number;
  /** The step count the schedule decays over (for a budget run, an estimate until the decay starts). */
  steps: number;
  /** The latest loss read back, and the step it belongs to (behind `step` when lagged). */
  loss: number;
  lossStep: number;
  samplesPerSecond: number;
  /** Training time of the run so far, across resumes. */
  trainedSeconds: number;
  secondsLeft: number;
}

export type StopReason = 'complete' | 'budget' | 'paused' | 'stopped' | 'diverged';

export interface Done {
  reason: StopReason;
  step: number;
  /** Steps and seconds of this call of run() (not of earlier sessions). */
  stepsRun: number;
  seconds: number;
  trainedSeconds: number;
}

export interface SessionEvents {
  progress: (p: Progress) => void | Promise<void>;
  checkpoint: (c: { step: number; bytes: Uint8Array }) => void | Promise<void>;
  error: (e: { step: number; loss: number; message: string }) => void | Promise<void>;
  done: (d: Done) => void | Promise<void>;
  /** Kernel tuning: each shape class as it starts, then the report. */
  tuning: (t: { done: number; total: number; key: string }) => void | Promise<void>;
  tuned: (report: TuneReport) => void | Promise<void>;
}

/** Checkpoint metadata a session adds: its budget, its training time, whether T is fixed yet. */
const META = { budget: 'budget_seconds', trained: 'trained_seconds', fixed: 'steps_fixed' } as const;

/** The share of the budget left that the estimated step count fills: read-backs and checkpoints
 * take the rest, so a machine as fast as so far reaches T within the budget. */
export const BUDGET_FILL = 0.95;

/** Budget runs need a measured warm-up: its first step (pipeline compilation) is left out of the timing. */
export const MIN_BUDGET_WARMUP = 2;

export class TrainingSession {
  readonly budgetSeconds: number | undefined;
  /** Training time before this run() and, while it runs, up to its last chunk. */
  trainedSeconds: number;
  /** Whether config.steps is final: always without a budget, from the decay's start with one. */
  stepsFixed: boolean;
  private request: 'run' | 'pause' | 'stop' = 'run';
  private running = false;
  private readonly listeners: { [K in keyof SessionEvents]: SessionEvents[K][] } = {
    progress: [],
    checkpoint: [],
    error: [],
    done: [],
    tuning: [],
    tuned: [],
  };

  constructor(
    readonly trainer: Trainer,
    private readonly options: SessionOptions,
  ) {
    const m = trainer.metadata;
    const recorded = m[META.budget] !== undefined ? Number(m[META.budget]) : undefined;
    this.budgetSeconds = (options.budgetSeconds === undefined ? recorded : options.budgetSeconds) ?? undefined;
    this.trainedSeconds = Number(m[META.trained] ?? 0);
    this.stepsFixed = this.budgetSeconds === undefined || m[META.fixed] === 'true';
    if (this.budgetSeconds !== undefined) {
      if (!(this.budgetSeconds > 0)) throw new Error(`training session: the budget must be a positive time, got ${this.budgetSeconds} s`);
      if (trainer.config.warmupSteps < MIN_BUDGET_WARMUP)
        throw new Error(
          `training session: a time budget needs at least ${MIN_BUDGET_WARMUP} warm-up steps (it times them to fix the step count), got ${trainer.config.warmupSteps}`,
        );
    }
  }

  on<K extends keyof SessionEvents>(event: K, listener: SessionEvents[K]): this {
    this.listeners[event].push(listener);
    return this;
  }

  /** Nothing left to train: the final step reached, or the budget spent. */
  get complete(): boolean {
    const t = this.trainer;
    return (this.stepsFixed && t.step >= t.config.steps) || (this.budgetSeconds !== undefined && this.trainedSeconds >= this.budgetSeconds);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Ends run() after the chunk in flight, with a checkpoint; run() again resumes. */
  pause(): void {
    if (this.running) this.request = 'pause';
  }

  stop(): void {
    if (this.running) this.request = 'stop';
  }

  /** The session's metadata for a checkpoint of the trainer now. */
  checkpointMetadata(): Record<string, string> {
    const meta: Record<string, string> = { [META.trained]: this.trainedSeconds.toFixed(3) };
    if (this.budgetSeconds !== undefined) {
      meta[META.budget] = String(this.budgetSeconds);
      meta[META.fixed] = String(this.stepsFixed);
    }
    return meta;
  }

  checkpoint(): Promise<Uint8Array> {
    return this.trainer.checkpoint(this.checkpointMetadata());
  }

  /** Trains until the run is complete, the budget is spent, the loss diverges, or pause()/stop(). */
  async run(): Promise<Done> {
    if (this.running) throw new Error('training session: already running');
    this.running = true;
    this.request = 'run';
    try {
      return await this.loop();
    } finally {
      this.running = false;
    }
  }

  /** The loop of run(), in its named steps: plan a chunk, train it, take the loss read back, tune
   * the kernels after the first step, resize the chunk, refine the step count, report, then stop or
   * checkpoint. */
  private async loop(): Promise<Done> {
    const t = this.trainer;
    const tuner: SessionTuning = tunerOf(t.gpu);
    // Shapes queued before this session (the page drawing the grid or the pad with another model)
    // are not worth holding up training to measure: the first step measures only its own.
    tuner.discardPending();
    const run = new RunState(t.step, this.trainedSeconds, this.options.readBack);
    if (this.complete) return this.finish(run, 'complete');
    let reason: StopReason | null = null;
    while (reason === null) {
      const chunk = this.planChunk(run, tuner);
      const read = await this.trainChunk(run, chunk);
      if (read) {
        const diverged = await this.takeLoss(run, read);
        if (diverged) return diverged;
      }
      if (t.step === chunk.tuneAt && tuner.pendingCount > 0) await this.tuneKernels(run, tuner);
      this.resizeChunk(run, chunk);
      if (!this.stepsFixed && t.step === chunk.syncAt) this.refineSteps(run);
      this.trainedSeconds = run.trainedBefore + run.elapsed();
      await this.emit('progress', this.progress(run.loss, run.lossStep, run.firstStep, run.elapsed()));
      reason = this.stopReason(run);
      if (reason === null) {
        const diverged = await this.checkpointIfDue(run);
        if (diverged) return diverged;
      }
    }
    return this.wrapUp(run, reason);
  }

  /** Where the next chunk ends: at the read-back it ends in, the step after which the kernels are
   * tuned, the refinement of the step count, or the final step. */
  private planChunk(run: RunState, tuner: SessionTuning): Chunk {
    const t = this.trainer;
    const { readBack } = this.options;
    // A budget run's steps are timed from the end of its first step, a sync point like the end of
    // warm-up; the first step of a session is one too while the tuner has shape classes to measure.
    const tuneAt = t.step === run.firstStep && tuner.measures ? run.firstStep + 1 : Infinity;
    // A lagged chunk ends at the next read-back or checkpoint step, whichever comes first, so
    // checkpoints land on multiples of checkpointEverySteps.
    const nextMultiple = (every: number | undefined) => (every ? (Math.floor(t.step / every) + 1) * every : Infinity);
    const chunkEnd =
      readBack.mode === 'lagged'
        ? Math.min(nextMultiple(run.chunkSteps), nextMultiple(this.options.checkpointEverySteps))
        : t.step + run.chunkSteps;
    // While T is an estimate, every chunk ends in a read-back that refines it, and none crosses
    // the decay's start: the steps T changes the rates of are only taken once T is fixed.
    const warmup = t.config.warmupSteps;
    const estimateAt = t.step < 1 ? 1 : t.step < warmup ? warmup : Math.min(chunkEnd, Math.max(t.step, decayStart(t.config)));
    const syncAt = Math.min(tuneAt, this.stepsFixed ? Infinity : estimateAt);
    const lastStep = Math.min(this.stepsFixed ? t.config.steps : Infinity, syncAt, chunkEnd);
    return { tuneAt, syncAt, lastStep, started: performance.now(), firstStep: t.step };
  }

  /** Trains the chunk's steps (fewer if the budget runs out) and starts the read of its last loss;
   * returns the read to take now: this one where it is awaited, else the previous chunk's. */
  private trainChunk(run: RunState, chunk: Chunk): Promise<LossRead | null> {
    const t = this.trainer;
    return this.exclusive(async () => {
      while (t.step < chunk.lastStep) {
        t.trainStep();
        if (this.budgetLeft(run) <= 0) break;
      }
      const read = { step: t.step, value: t.readLoss() };
      const awaitNow = this.options.readBack.mode === 'chunked' || t.step === chunk.syncAt;
      const previous = run.pending;
      run.pending = awaitNow ? null : read;
      if (awaitNow) await read.value;
      return awaitNow ? read : previous;
    });
  }

  /** Takes a loss read back: a sync point for the timing; a non-finite loss ends the run. */
  private async takeLoss(run: RunState, read: LossRead): Promise<Done | null> {
    run.loss = await read.value;
    run.lossStep = read.step;
    run.synced = { step: read.step, time: performance.now() };
    run.firstSync ??= run.synced;
    return Number.isFinite(run.loss) ? null : this.diverged(run, run.loss, run.lossStep);
  }

  /** Measures the shape classes the first step met, outside the training time. */
  private async tuneKernels(run: RunState, tuner: SessionTuning): Promise<void> {
    const tuningStart = performance.now();
    const report = await this.exclusive(() => tuner.tunePending((done, total, key) => this.emit('tuning', { done, total, key })));
    run.start += performance.now() - tuningStart;
    run.synced = { step: this.trainer.step, time: performance.now() };
    run.firstSync = run.synced;
    await this.emit('tuned', report);
  }

  /** Chunked read-back: the next chunk takes about chunkSeconds at the speed of this one. */
  private resizeChunk(run: RunState, chunk: Chunk): void {
    const { readBack } = this.options;
    if (readBack.mode !== 'chunked') return;
    const seconds = (performance.now() - chunk.started) / 1000;
    const steps = this.trainer.step - chunk.firstStep;
    run.chunkSteps = Math.max(1, Math.min(readBack.maxChunkSteps, Math.round((steps * readBack.chunkSeconds) / Math.max(seconds, 1e-3))));
  }

  /** At a sync point of a budget run whose T is an estimate: starts the warm-up's timer, or
   * re-estimates T from it. */
  private refineSteps(run: RunState): void {
    const t = this.trainer;
    if (!run.warmupTimer) run.warmupTimer = { step: t.step, time: performance.now() };
    else if (t.step >= t.config.warmupSteps)
      this.estimateSteps((performance.now() - run.warmupTimer.time) / 1000 / (t.step - run.warmupTimer.step), this.budgetLeft(run));
  }

  /** Why the run stops after this chunk, or null to go on. */
  private stopReason(run: RunState): StopReason | null {
    const t = this.trainer;
    // A run that reached its last step is complete, even where its budget ran out at that step.
    if (this.stepsFixed && t.step >= t.config.steps) return 'complete';
    if (this.budgetLeft(run) <= 0) {
      // Spent before the decay started: within warm-up, the steps reached are the run (its rates
      // do not depend on T); later, the estimate the run was following is.
      if (!this.stepsFixed && t.step > 0) {
        if (t.step < t.config.warmupSteps) t.setTotalSteps(t.step);
        this.stepsFixed = true;
      }
      return 'budget';
    }
    if (this.request !== 'run') return this.request === 'pause' ? 'paused' : 'stopped';
    return null;
  }

  /** Saves a checkpoint when the steps or the time since the last one call for it, after checking
   * that the latest loss is finite. */
  private async checkpointIfDue(run: RunState): Promise<Done | null> {
    const t = this.trainer;
    const { checkpointEverySteps: everySteps, checkpointEverySeconds: everySeconds } = this.options;
    const byStep = everySteps !== undefined && Math.floor(t.step / everySteps) > Math.floor(run.lastCheckpointStep / everySteps);
    const byTime = everySeconds !== undefined && performance.now() - run.lastCheckpointTime >= everySeconds * 1000;
    if (!byStep && !byTime) return null;
    const latest = await this.exclusive(() => t.readLoss());
    if (!Number.isFinite(latest)) return this.diverged(run, latest, t.step);
    return this.saveCheckpoint(run);
  }

  /** The end of a run that did not diverge: the read in flight and the latest loss checked, a last
   * report and a checkpoint. */
  private async wrapUp(run: RunState, reason: StopReason): Promise<Done> {
    const t = this.trainer;
    const pendingRead = run.pending;
    if (pendingRead) {
      const value = await pendingRead.value;
      if (!Number.isFinite(value)) return this.diverged(run, value, pendingRead.step);
    }
    if (t.step > run.firstStep) {
      const latest = await this.exclusive(() => t.readLoss());
      if (!Number.isFinite(latest)) return this.diverged(run, latest, t.step);
      run.loss = latest;
      run.lossStep = t.step;
    }
    await this.emit('progress', this.progress(run.loss, run.lossStep, run.firstStep, run.elapsed()));
    return (await this.saveCheckpoint(run)) ?? this.finish(run, reason);
  }

  private async finish(run: RunState, reason: StopReason): Promise<Done> {
    this.trainedSeconds = run.trainedBefore + run.elapsed();
    const t = this.trainer;
    const done = { reason, step: t.step, stepsRun: t.step - run.firstStep, seconds: run.elapsed(), trainedSeconds: this.trainedSeconds };
    await this.emit('done', done);
    return done;
  }

  private async diverged(run: RunState, value: number, step: number, message = `the loss became ${value} at step ${step}`): Promise<Done> {
    await this.emit('error', { step, loss: value, message });
    return this.finish(run, 'diverged');
  }

  /** Saves the state, or returns the divergence when a weight is not finite (never saved). */
  private async saveCheckpoint(run: RunState): Promise<Done | null> {
    this.trainedSeconds = run.trainedBefore + run.elapsed();
    let bytes: Uint8Array;
    try {
      bytes = await this.exclusive(() => this.checkpoint());
    } catch (e) {
      if (e instanceof NonFiniteStateError) return this.diverged(run, run.loss, this.trainer.step, e.message);
      throw e;
    }
    run.lastCheckpointStep = this.trainer.step;
    run.lastCheckpointTime = performance.now();
    await this.emit('checkpoint', { step: this.trainer.step, bytes });
    return null;
  }

  /** Training time left in the budget, counting the GPU's time for the steps still in flight. */
  private budgetLeft(run: RunState): number {
    return this.budgetSeconds === undefined
      ? Infinity
      : this.budgetSeconds - run.trainedBefore - run.elapsed() - run.inFlightSeconds(this.trainer.step);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.options.exclusive ? this.options.exclusive(work) : work();
  }

  /** Re-estimates T at the current step from the time a step takes, and fixes it once the decay
   * would start: T is then at least what keeps every step taken so far before the decay. */
  private estimateSteps(secondsPerStep: number, secondsLeft: number): void {
    const t = this.trainer;
    const { warmupSteps: warmup, cooldown = 1 } = t.config;
    const fits = t.step + Math.max(0, Math.floor((BUDGET_FILL * secondsLeft) / secondsPerStep));
    // The smallest T whose decay starts at this step or later (any T at the end of warm-up, for a
    // cosine); the loop settles the rounding of decayStart's floor.
    let least = cooldown < 1 ? warmup + Math.floor((t.step - warmup) / (1 - cooldown)) : t.step;
    while (decayStart({ ...t.config, steps: least }) < t.step) least++;
    t.setTotalSteps(Math.max(1, fits, least));
    if (decayStart(t.config) <= t.step) this.stepsFixed = true;
  }

  private progress(loss: number, lossStep: number, firstStep: number, seconds: number): Progress {
    const t = this.trainer;
    const samplesPerSecond = ((t.step - firstStep) * t.config.batch) / Math.max(seconds, 1e-9);
    const bySteps = this.stepsFixed ? ((t.config.steps - t.step) * t.config.batch) / samplesPerSecond : Infinity;
    const byBudget = this.budgetSeconds === undefined ? Infinity : Math.max(0, this.budgetSeconds - this.trainedSeconds);
    return {
      step: t.step,
      steps: t.config.steps,
      loss,
      lossStep,
      samplesPerSecond,
      trainedSeconds: this.trainedSeconds,
      secondsLeft: Math.min(bySteps, byBudget),
    };
  }

  private async emit<K extends keyof SessionEvents>(event: K, value: Parameters<SessionEvents[K]>[0]): Promise<void> {
    for (const listener of this.listeners[event]) await (listener as (v: typeof value) => void | Promise<void>)(value);
  }
}

/** A step and when the GPU was known to have done it. */
interface Sync {
  step: number;
  time: number;
}

/** A loss read started after a step, awaited later. */
interface LossRead {
  step: number;
  value: Promise<number>;
}

/** One chunk of steps, as planned before it trains. */
interface Chunk {
  /** The step after which the kernels are tuned (Infinity: none in this chunk). */
  tuneAt: number;
  /** The step whose loss is awaited (a sync point), if the chunk reaches it. */
  syncAt: number;
  lastStep: number;
  started: number;
  firstStep: number;
}

/** The state one call of run() keeps between its steps. */
class RunState {
  /** Moved forward by the time kernel tuning takes, which is not training time. */
  start = performance.now();
  /** The first and the last step whose loss was read back (the GPU had done them), and when. */
  firstSync: Sync | null = null;
  synced: Sync;
  chunkSteps: number;
  pending: LossRead | null = null;
  loss = Number.NaN;
  lossStep: number;
  lastCheckpointStep: number;
  lastCheckpointTime = performance.now();
  /** The warm-up's timing (a budget run with T not yet fixed): from the end of its first step, or
   * from here when a checkpoint taken during warm-up is resumed. */
  warmupTimer: Sync | null;

  constructor(
    readonly firstStep: number,
    readonly trainedBefore: number,
    readBack: ReadBack,
  ) {
    this.synced = { step: firstStep, time: this.start };
    this.chunkSteps = readBack.mode === 'lagged' ? readBack.everySteps : 1;
    this.lossStep = firstStep;
    this.lastCheckpointStep = firstStep;
    this.warmupTimer = firstStep >= 1 ? { step: firstStep, time: this.start } : null;
  }

  elapsed(): number {
    return (performance.now() - this.start) / 1000;
  }

  /** The GPU's time for the steps encoded but not yet read back, at its speed since the first read
   * (which leaves out pipeline compilation): the CPU runs ahead of the GPU by up to a chunk, and
   * the budget is the GPU's time. */
  inFlightSeconds(step: number): number {
    const { firstSync, synced } = this;
    return firstSync && synced.step > firstSync.step
      ? ((step - synced.step) * (synced.time - firstSync.time)) / 1000 / (synced.step - firstSync.step)
      : 0;
  }
}
