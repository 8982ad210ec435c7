// npm run train -- [flags]: trains the separator with Dawn in Node, checkpoints as .safetensors,
// then evaluates with the task's protocol and writes a sample grid.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { releaseNodeGpu } from '../gpu/node.ts';
import { formatSummary, modelSummary } from '../model/summary.ts';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig, Trainer } from '../train/trainer.ts';
import { bar, duration, exitOnError, numberFlag, parseFlags, progressLine, readCheckpoint, setup } from './common.ts';
import { formatEval, printModelSummary, writeSampleGrid } from './report.ts';

exitOnError();
const D = DEFAULT_TRAIN_CONFIG;
const USAGE = `usage: npm run train -- [flags]
  --steps N             training steps (default ${D.steps})
  --batch N             mixtures per step (default ${D.batch})
  --lr X                peak learning rate, after linear warm-up, cosine-decayed (default ${D.lr})
  --warmup N            warm-up steps (default ${D.warmupSteps})
  --weight-decay X      AdamW weight decay (default ${D.weightDecay})
  --seed N              seed of the initial weights and of the training mixtures (default ${D.seed})
  --width N             channels of the first level, doubled per level (default ${D.model.width})
  --depth N             resolution levels, 2 to 4 (default ${D.model.depth})
  --upsample MODE       nearest | bilinear (default ${D.model.upsample})
  --output MODE         independent | projected (onto digit + item = 2·mixture) (default independent)
  --heads MODE          sigmoid | linear (linear needs --output projected) (default sigmoid)
  --residual            residual connections inside the blocks
  --attention           attention gates on the skip connections
  --ema X               decay of an exponential moving average of the weights, used to evaluate and checkpoint (default off)
  --data DIR            folder with mnist/ and fashion-mnist/ (default: $UNMIX_DATA, installed packages, ../shared/data, the cache)
  --out DIR             where checkpoints go (default runs/<date-time>)
  --checkpoint-every N  steps between checkpoints (default 500)
  --log-every N         steps between loss read-backs (default 25)
  --resume FILE         continue a run exactly from its checkpoint (its config wins over flags, except --steps)
  --eval-mixtures N     test mixtures per evaluation repeat at the end (default 20000)
  --summary             print the model's layers, output shapes and parameters, and exit
  --eval-repeats N      evaluation repeats at the end (default 3 to keep CPU runs short; the full protocol
                        is 10: npm run eval -- --weights FILE; 0 skips evaluation)`;

const flags = parseFlags(
  process.argv.slice(2),
  {
    steps: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    'weight-decay': { type: 'string' },
    seed: { type: 'string' },
    width: { type: 'string' },
    depth: { type: 'string' },
    upsample: { type: 'string' },
    output: { type: 'string' },
    heads: { type: 'string' },
    residual: { type: 'boolean' },
    attention: { type: 'boolean' },
    ema: { type: 'string' },
    data: { type: 'string' },
    out: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'log-every': { type: 'string' },
    resume: { type: 'string' },
    'eval-mixtures': { type: 'string' },
    'eval-repeats': { type: 'string' },
    summary: { type: 'boolean' },
  },
  USAGE,
);

const resumed = flags.resume ? readCheckpoint(String(flags.resume), '--resume') : undefined;
const resumeBytes = resumed?.bytes;
const base: TrainConfig = resumed?.config ?? D;
const config: TrainConfig = resumeBytes
  ? { ...base, steps: numberFlag(flags, 'steps', base.steps) }
  : {
      model: {
        width: numberFlag(flags, 'width', D.model.width),
        depth: numberFlag(flags, 'depth', D.model.depth),
        upsample: (flags.upsample as 'nearest' | 'bilinear' | undefined) ?? D.model.upsample,
        output: (flags.output as 'independent' | 'projected' | undefined) ?? D.model.output,
        heads: (flags.heads as 'sigmoid' | 'linear' | undefined) ?? D.model.heads,
        residual: Boolean(flags.residual ?? D.model.residual),
        attention: Boolean(flags.attention ?? D.model.attention),
      },
      steps: numberFlag(flags, 'steps', D.steps),
      batch: numberFlag(flags, 'batch', D.batch),
      lr: numberFlag(flags, 'lr', D.lr),
      warmupSteps: numberFlag(flags, 'warmup', D.warmupSteps),
      weightDecay: numberFlag(flags, 'weight-decay', D.weightDecay),
      seed: numberFlag(flags, 'seed', D.seed),
      ...(flags.ema === undefined ? {} : { ema: numberFlag(flags, 'ema', 0) }),
    };
const checkpointEvery = numberFlag(flags, 'checkpoint-every', 500);
const logEvery = numberFlag(flags, 'log-every', 25);
const evalMixtures = numberFlag(flags, 'eval-mixtures', 20_000);
const evalRepeats = numberFlag(flags, 'eval-repeats', 3);
const outDir = String(flags.out ?? join('runs', new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')));

if (flags.summary) await printModelSummary(config.model).then(() => process.exit(0));
const { gpu, mixer } = await setup(flags.data as string | undefined);
const trainer = await Trainer.create(gpu, mixer, config, resumeBytes);
mkdirSync(outDir, { recursive: true });
console.error(formatSummary(modelSummary(trainer.model)));
console.error(
  `training ${config.steps} steps of batch ${config.batch}, lr ${config.lr}, seed ${config.seed}${resumeBytes ? `, resuming at step ${trainer.step}` : ''} → ${outDir}`,
);

let lastGood: string | null = null;
async function saveCheckpoint(): Promise<string> {
  const bytes = await trainer.checkpoint();
  const file = join(outDir, `step-${String(trainer.step).padStart(6, '0')}.safetensors`);
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  writeFileSync(join(outDir, 'latest.safetensors.tmp'), bytes);
  renameSync(join(outDir, 'latest.safetensors.tmp'), join(outDir, 'latest.safetensors'));
  return (lastGood = file);
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  progressLine('Ctrl-C: saving a checkpoint before exiting (press again to quit at once)', true);
});

function failNonFinite(loss: number, step: number): never {
  progressLine('', true);
  console.error(
    `error: the loss became ${loss} at step ${step}. Training stopped without saving this state; ` +
      (lastGood ? `the last good checkpoint is ${lastGood} (resume with --resume ${lastGood}).` : 'no checkpoint was saved yet.') +
      ' Try a lower --lr or a longer --warmup.',
  );
  process.exit(1);
}

const startStep = trainer.step;
const t0 = performance.now();
let loss = NaN;
// The read of step k's loss is started at k and awaited at k + logEvery, so the GPU always has work
// queued while the CPU waits; the await also keeps the CPU from encoding far ahead of the GPU.
let pending: { step: number; value: Promise<number> } | null = null;
while (trainer.step < config.steps && !interrupted) {
  trainer.trainStep();
  const step = trainer.step;
  if (step % logEvery === 0 || step === config.steps) {
    if (pending) {
      loss = await pending.value;
      if (!Number.isFinite(loss)) failNonFinite(loss, pending.step);
    }
    pending = { step, value: trainer.readLoss() };
    const seconds = (performance.now() - t0) / 1000;
    const rate = ((step - startStep) * config.batch) / seconds;
    const left = ((config.steps - step) * config.batch) / rate;
    progressLine(
      `${bar(step / config.steps)} step ${step}/${config.steps}  loss ${loss.toExponential(3)}  ${rate.toFixed(1)} samples/s  ${duration(seconds)} elapsed, ${duration(left)} left`,
    );
  }
  if (step % checkpointEvery === 0 && step < config.steps) {
    const latest = await trainer.readLoss();
    if (!Number.isFinite(latest)) failNonFinite(latest, step);
    await saveCheckpoint();
  }
}
const latest = await trainer.readLoss();
if (!Number.isFinite(latest)) failNonFinite(latest, trainer.step);
const seconds = (performance.now() - t0) / 1000;
const file = await saveCheckpoint();
progressLine('', true);
console.error(
  `step ${trainer.step}: loss ${latest.toExponential(3)}; ${duration(seconds)} for ${trainer.step - startStep} steps (${(((trainer.step - startStep) * config.batch) / seconds).toFixed(1)} samples/s)`,
);
console.error(`checkpoint: ${file} (also ${join(outDir, 'latest.safetensors')})`);

if (interrupted) {
  releaseNodeGpu(gpu);
  process.exit(130);
}
if (evalRepeats > 0) {
  const t1 = performance.now();
  const result = await trainer.evaluate({
    mixtures: evalMixtures,
    repeats: evalRepeats,
    onProgress: (done, total) => progressLine(`${bar(done / total)} evaluating ${done}/${total} test mixtures`),
  });
  progressLine('', true);
  writeFileSync(join(outDir, 'eval.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(formatEval(result, (performance.now() - t1) / 1000));
  console.log(`sample grid: ${await writeSampleGrid(trainer, join(outDir, 'samples.png'))}`);
}
releaseNodeGpu(gpu);
process.exit(0);
