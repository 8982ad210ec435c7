// train(argv), what `npm run train -- [flags]` runs (src/cli/train.ts) and tests call in process:
// trains the separator with Dawn in Node (a preset, flags overriding it), checkpoints as
// .safetensors, evaluates with the task's protocol, writes a sample grid and appends the run to the
// ledger. It returns the exit status; errors it throws are the CLI's to print.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { releaseNodeGpu } from '../gpu/node.ts';
import { formatChoices, tunerOf } from '../gpu/tuner.ts';
import { formatSummary, modelSummary } from '../model/summary.ts';
import { fromText, OPTIONS, valueIn, withOptions } from '../train/options.ts';
import { isPresetName, PRESET_NAMES, PRESETS, type Preset } from '../train/presets.ts';
import { type Done, TrainingSession } from '../train/session.ts';
import { type EvalResult, type TrainConfig, Trainer } from '../train/trainer.ts';
import {
  bar,
  configureKernels,
  debugRequested,
  duration,
  formatError,
  KERNEL_FLAGS,
  KERNEL_USAGE,
  numberFlag,
  parseFlags,
  progressLine,
  readCheckpoint,
  setup,
  UsageError,
  usageLine,
} from './common.ts';
import { checkDeviceFits } from './device-fit.ts';
import { isSystemError, linkDurably, systemReason, writeFileDurably } from './files.ts';
import { appendLedger, DEFAULT_LEDGER } from './ledger.ts';
import { formatEval, printModelSummary, writeSampleGrid } from './report.ts';
import { checkWritableFile, createDefaultRunFolder, lockRunFolder } from './run-folder.ts';
import { onStopRequest } from './signals.ts';

/** Defaults of the flags that are not part of a training config. One evaluation repeat at the end:
 * its spread over repeats is under 1 % of the MSE, and on the 2-core CPU three repeats took 2m54s,
 * which pushed the default run past 10 minutes. */
const CLI_DEFAULTS = { checkpointEvery: 500, logEvery: 25, evalMixtures: 20_000, evalRepeats: 1 };

const D = PRESETS.default.config;
const presetList = PRESET_NAMES.map((name) => {
  const p: Preset = PRESETS[name];
  return `${name} (${p.description}${p.minutes ? `, ${p.minutes} min` : `, ${p.config.steps} steps`})`;
}).join(', ');
const USAGE = `usage: npm run train -- [flags]
  --preset NAME         a named configuration, the flags below overriding its values (default: default):
                        ${presetList}
  --minutes X           train for X minutes of wall-clock time: the steps are timed and the step count that
                        fits is estimated until the decay starts, then fixed and recorded (replay it exactly
                        with --steps); not with --steps
${OPTIONS.map((row) => usageLine(row, valueIn(D, row) ?? row.absent)).join('\n')}
  --data DIR            folder with mnist/ and fashion-mnist/ (default: $UNMIX_DATA, installed packages, ../shared/data, the cache)
  --out DIR             where checkpoints go (default runs/<date-time>, a new folder); a folder that holds
                        checkpoints already is refused unless --resume continues a run in it, or --overwrite
  --overwrite           let --out replace the checkpoints of an earlier run
  --checkpoint-every N  steps between checkpoints, at every multiple of N (default ${CLI_DEFAULTS.checkpointEvery})
  --log-every N         steps between loss read-backs (default ${CLI_DEFAULTS.logEvery})
  --resume FILE         continue a run exactly from its checkpoint, within the budget it records; only --steps
                        and --minutes may change it
  --eval-mixtures N     test mixtures per evaluation repeat at the end (default ${CLI_DEFAULTS.evalMixtures})
  --eval-repeats N      evaluation repeats at the end (default ${CLI_DEFAULTS.evalRepeats}, to keep CPU runs short; the full
                        protocol is 10: npm run eval -- --weights FILE; 0 skips evaluation)
${KERNEL_USAGE}
  --summary             print the model's layers, output shapes and parameters, and exit
  --ledger FILE         the run ledger this run appends one JSON line to (default ${DEFAULT_LEDGER})`;

/** Runs `npm run train -- ARGV`; returns the exit status (0 done, 1 diverged, 130 stopped). */
export async function train(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    {
      preset: { type: 'string' },
      minutes: { type: 'string' },
      ...Object.fromEntries(OPTIONS.map((row) => [row.flag, { type: row.values.type === 'boolean' ? 'boolean' : 'string' } as const])),
      data: { type: 'string' },
      out: { type: 'string' },
      overwrite: { type: 'boolean' },
      'checkpoint-every': { type: 'string' },
      'log-every': { type: 'string' },
      resume: { type: 'string' },
      'eval-mixtures': { type: 'string' },
      'eval-repeats': { type: 'string' },
      ledger: { type: 'string' },
      summary: { type: 'boolean' },
      ...KERNEL_FLAGS,
    },
    USAGE,
  );

  const presetName = String(flags.preset ?? 'default');
  if (!isPresetName(presetName)) throw new UsageError(`--preset takes ${PRESET_NAMES.join(', ')}, not "${presetName}"`, 'see --help');
  const preset: Preset = PRESETS[presetName];
  if (flags.resume !== undefined && flags.preset !== undefined)
    throw new UsageError('--preset with --resume', 'leave out --preset: a resumed run keeps the config its checkpoint records');
  if (flags.resume !== undefined) {
    const changed = OPTIONS.find((row) => row.flag !== 'steps' && flags[row.flag] !== undefined);
    if (changed) {
      const why = changed.fixedByCheckpoint ? 'the checkpoint fixes it' : 'a resumed run continues its recorded schedule exactly';
      throw new UsageError(
        `--${changed.flag} with --resume: ${why}`,
        `leave out --${changed.flag} (only --steps and --minutes may change a resumed run)`,
      );
    }
  }
  if (flags.minutes !== undefined && flags.steps !== undefined)
    throw new UsageError('--minutes and --steps both given', 'give --minutes or --steps, not both: a budget run fixes its own step count');
  const minutesFlag = flags.minutes === undefined ? undefined : numberFlag(flags, 'minutes', 0);
  /** undefined: the budget a resumed checkpoint records; null: no budget. */
  const budgetSeconds: number | null | undefined =
    minutesFlag !== undefined
      ? minutesFlag * 60
      : flags.steps !== undefined
        ? null
        : flags.resume
          ? undefined
          : preset.minutes !== undefined
            ? preset.minutes * 60
            : null;

  // The preset's config with the options the command line gives (a preset's config stays as it is
  // written where no flag is given).
  const config: TrainConfig = withOptions(
    preset.config,
    Object.fromEntries(
      OPTIONS.filter((row) => flags[row.flag] !== undefined).map((row) => {
        const given = flags[row.flag];
        return [row.flag, typeof given === 'string' ? fromText(row, given) : Boolean(given)];
      }),
    ),
  );
  const checkpointEvery = numberFlag(flags, 'checkpoint-every', CLI_DEFAULTS.checkpointEvery);
  const logEvery = numberFlag(flags, 'log-every', CLI_DEFAULTS.logEvery);
  const evalMixtures = numberFlag(flags, 'eval-mixtures', CLI_DEFAULTS.evalMixtures);
  const evalRepeats = numberFlag(flags, 'eval-repeats', CLI_DEFAULTS.evalRepeats);
  const ledgerFile = String(flags.ledger ?? DEFAULT_LEDGER);
  const resumeFile = flags.resume === undefined ? null : String(flags.resume);
  const resumed = resumeFile ? readCheckpoint(resumeFile, '--resume') : null;

  if (flags.summary) {
    await printModelSummary((resumed?.config ?? config).model);
    return 0;
  }
  // Every output path is checked, and the run folder taken, before any work.
  checkWritableFile(ledgerFile, '--ledger');
  const outDir = flags.out === undefined ? createDefaultRunFolder() : String(flags.out);
  const releaseRunFolder = lockRunFolder(
    outDir,
    Boolean(flags.overwrite) || (resumeFile !== null && resolve(dirname(resumeFile)) === resolve(outDir)),
  );
  /** What a stop request (Ctrl-C, SIGTERM, SIGHUP) does: exit at once (the lock and an empty run
   * folder removed) until there is training to save. */
  let onStop: (cause: string) => void = () => process.exit(130);
  const stopListening = onStopRequest((cause) => onStop(cause));
  const { gpu, mixer } = await setup(flags.data as string | undefined);
  checkDeviceFits(gpu, resumed?.config ?? config);
  await configureKernels(gpu, flags);
  const trainer =
    resumeFile && resumed
      ? await Trainer.fromCheckpoint(gpu, mixer, resumed.bytes, flags.steps === undefined ? {} : { steps: config.steps }, resumeFile)
      : await Trainer.create(gpu, mixer, config);
  const session = new TrainingSession(trainer, {
    readBack: { mode: 'lagged', everySteps: logEvery },
    checkpointEverySteps: checkpointEvery,
    budgetSeconds,
  });
  const run = trainer.config;

  if (resumeFile && session.complete) {
    const budget = session.budgetSeconds;
    console.error(
      `${resumeFile}: this run is complete: ${
        budget !== undefined && session.trainedSeconds >= budget
          ? `it used its whole budget of ${duration(budget)} (step ${trainer.step})`
          : `it reached its final step, ${trainer.step} of ${run.steps}`
      }, so there is nothing to resume. To train it further, resume with more steps (--resume ${resumeFile} --steps ${2 * trainer.step}) or a longer budget (--minutes N); the learning rate then follows the longer schedule.`,
    );
    stopListening();
    releaseRunFolder();
    releaseNodeGpu(gpu);
    return 0;
  }

  console.error(formatSummary(modelSummary(trainer.model)));
  const length =
    session.budgetSeconds !== undefined
      ? `a budget of ${duration(session.budgetSeconds)}${session.stepsFixed ? ` (${run.steps} steps)` : ''}`
      : `${run.steps} steps`;
  console.error(
    `${resumeFile ? `resuming ${resumeFile} at step ${trainer.step}` : `training preset ${presetName}`}: ${length} of batch ${run.batch}, lr ${run.lr}, seed ${run.seed} → ${outDir}`,
  );

  let lastGood: string | null = null;
  /** Why a checkpoint could not be written (a full disk): the run stops and records it. */
  let writeFailure: string | null = null;
  let evalFailure: unknown = null;
  session.on('checkpoint', ({ step, bytes }) => {
    const file = join(outDir, `step-${String(step).padStart(6, '0')}.safetensors`);
    try {
      writeFileDurably(file, bytes);
      // latest follows only a step file written whole, and takes no space of its own.
      linkDurably(file, join(outDir, 'latest.safetensors'), bytes);
      lastGood = file;
    } catch (e) {
      if (!isSystemError(e)) throw e;
      writeFailure ??= `${file}: ${systemReason(e)}`;
      session.stop();
    }
  });
  session.on('progress', (p) => {
    const steps = session.stepsFixed ? `${p.steps}` : p.step >= trainer.config.warmupSteps ? `~${p.steps}` : '?';
    const fraction = session.budgetSeconds !== undefined ? p.trainedSeconds / session.budgetSeconds : p.step / p.steps;
    progressLine(
      `${bar(fraction)} step ${p.step}/${steps}  loss ${p.loss.toExponential(3)}  ${p.samplesPerSecond.toFixed(1)} samples/s  ${duration(p.trainedSeconds)} elapsed, ${duration(p.secondsLeft)} left`,
    );
  });
  session.on('tuning', ({ done, total, key }) => progressLine(`${bar(done / total)} tuning kernels ${done + 1}/${total}: ${key}`));
  session.on('tuned', ({ tuned, seconds }) => {
    progressLine('');
    console.error(`kernels: measured ${tuned} shape classes in ${duration(seconds)} (not training time; cached for the next run)`);
  });
  session.on('error', ({ message }) => {
    progressLine('');
    console.error(
      `error: ${message}. Training stopped without saving this state; ` +
        (lastGood ? `the last good checkpoint is ${lastGood} (resume with --resume ${lastGood}).` : 'no checkpoint was saved yet.') +
        ' Try a lower --lr or a longer --warmup.',
    );
  });

  /** Set once training has ended: a stop then skips or ends the evaluation, and the run is recorded. */
  let trained = false;
  const evaluation = new AbortController();
  onStop = (cause) => {
    progressLine('');
    if (session.isRunning) {
      session.stop();
      console.error(`${cause}: saving a checkpoint before exiting (send it again to quit at once)`);
    } else if (trained) {
      evaluation.abort();
      console.error(`${cause}: stopping the evaluation; the run is recorded without it (send it again to quit at once)`);
    } else process.exit(130);
  };

  const done: Done = await session.run();
  trained = true;
  let evalSeconds: number | null = null;
  let result: EvalResult | null = null;
  if (done.reason !== 'diverged') {
    progressLine('');
    const budgetNote = done.reason === 'budget' ? ` (the budget ran out before step ${trainer.config.steps})` : '';
    console.error(
      `step ${done.step}: ${done.stepsRun} steps in ${duration(done.seconds)} (${((done.stepsRun * trainer.config.batch) / done.seconds).toFixed(1)} samples/s)${budgetNote}; training time ${duration(done.trainedSeconds)}`,
    );
    if (session.budgetSeconds !== undefined)
      console.error(
        `steps fixed by the budget: ${trainer.config.steps} (replay exactly with --steps ${trainer.config.steps} and the same other flags)`,
      );
    if (lastGood) console.error(`checkpoint: ${lastGood} (also ${join(outDir, 'latest.safetensors')})`);
    console.error(
      `kernels (${tunerOf(gpu).mode.kind}):\n${formatChoices(tunerOf(gpu).choices())
        .map((line) => `  ${line}`)
        .join('\n')}`,
    );
    if (done.reason !== 'stopped' && evalRepeats > 0 && !evaluation.signal.aborted) {
      // A forward pass costs about a third of a training step (forward, backward, update).
      const estimate = (evalMixtures * evalRepeats) / ((3 * done.stepsRun * trainer.config.batch) / done.seconds);
      console.error(
        `evaluating ${evalRepeats} × ${evalMixtures.toLocaleString('en')} test mixtures: about ${duration(estimate)} at this run's speed` +
          (estimate > 3600 ? ' (Ctrl-C stops it and keeps the run; npm run eval -- --weights FILE evaluates later)' : ''),
      );
      const t1 = performance.now();
      try {
        result = await trainer.evaluate({
          mixtures: evalMixtures,
          repeats: evalRepeats,
          onProgress: (n, total) => progressLine(`${bar(n / total)} evaluating ${n}/${total} test mixtures`),
          signal: evaluation.signal,
        });
      } catch (e) {
        // Training is done and its checkpoint written: a failed evaluation must not lose the run.
        if (!evaluation.signal.aborted) evalFailure = e;
      }
      evalSeconds = (performance.now() - t1) / 1000;
      progressLine('');
      if (result) {
        writeFileSync(join(outDir, 'eval.json'), `${JSON.stringify(result, null, 2)}\n`);
        console.log(formatEval(result, evalSeconds));
        console.log(`evaluation time ${duration(evalSeconds)}, apart from the training time`);
        console.log(`sample grid: ${await writeSampleGrid(trainer, join(outDir, 'samples.png'))}`);
      }
    }
  }
  if (evalFailure)
    console.error(
      `${formatError(evalFailure, debugRequested(argv))}\nThe run is recorded without its evaluation` +
        (lastGood ? `; evaluate its checkpoint with npm run eval -- --weights ${lastGood}` : ''),
    );
  if (writeFailure)
    console.error(
      `error: a checkpoint could not be written: ${writeFailure}; training stopped. Free some space, then ` +
        (lastGood
          ? `resume from the last checkpoint written whole: --resume ${lastGood}`
          : 'train again (no checkpoint was written whole)'),
    );
  appendLedger(ledgerFile, {
    date: new Date().toISOString(),
    command: argv,
    preset: resumeFile ? 'resumed' : presetName,
    config: trainer.config,
    seed: trainer.config.seed,
    budget_minutes: session.budgetSeconds === undefined ? null : session.budgetSeconds / 60,
    outcome: writeFailure ? 'failed' : done.reason === 'paused' ? 'stopped' : done.reason,
    ...(writeFailure ? { error: writeFailure } : evalFailure ? { error: `evaluation: ${(evalFailure as Error).message}` } : {}),
    resumed_from: resumeFile,
    steps_reached: done.step,
    samples_seen: done.step * trainer.config.batch,
    parameters: trainer.parameterCount,
    train_seconds: done.trainedSeconds,
    eval_seconds: evalSeconds,
    adapter: gpu.info.description,
    kernel_variants: tunerOf(gpu).variants(),
    eval: result,
    checkpoint: lastGood,
  });
  stopListening();
  releaseRunFolder();
  releaseNodeGpu(gpu);
  return done.reason === 'diverged' || writeFailure || evalFailure ? 1 : done.reason === 'stopped' || evaluation.signal.aborted ? 130 : 0;
}
