// evaluateCheckpoint(argv), what `npm run eval -- --weights FILE [--json]` runs (src/cli/eval.ts) and
// tests call in process: the task's evaluation protocol on a trained checkpoint. It returns the exit
// status; errors it throws are the CLI's to print.
import { releaseNodeGpu } from '../gpu/node.ts';
import { CONV_KERNEL_NAMES } from '../ops/conv2d/kernels.ts';
import { PROTOCOL } from '../train/evaluate.ts';
import { Trainer } from '../train/trainer.ts';
import {
  bar,
  configureKernels,
  duration,
  KERNEL_FLAGS,
  numberFlag,
  parseFlags,
  progressLine,
  readCheckpoint,
  setup,
  UsageError,
} from './common.ts';
import { isSystemError, systemReason } from './files.ts';
import { formatEval, writeSampleGrid } from './report.ts';
import { checkWritableFile } from './run-folder.ts';

const USAGE = `usage: npm run eval -- --weights FILE [flags]
  --weights FILE   a .safetensors checkpoint written by npm run train (or the web page)
  --json           print one JSON object (mse_mean, mse_std, mse_digit, mse_item, …) and nothing else on stdout
  --mixtures N     random test mixtures per repeat (default ${PROTOCOL.mixtures})
  --repeats N      repeats with different draws (default ${PROTOCOL.repeats})
  --seed N         seed of the draws (default ${PROTOCOL.seed})
  --grid FILE      PNG of 8 samples: mixture | predicted digit | true digit | predicted item | true item
                   (default: next to the weights, <weights>.samples.png; "none" to skip)
  --data DIR       folder with mnist/ and fashion-mnist/
  --conv MODE      conv2d kernels: auto (the choices training measured and cached), default, or a variant
                   (${CONV_KERNEL_NAMES.join(', ')}); default: $UNMIX_CONV, else auto`;

/** Runs `npm run eval -- ARGV`; returns the exit status. */
export async function evaluateCheckpoint(argv: string[]): Promise<number> {
  const flags = parseFlags(
    argv,
    {
      weights: { type: 'string' },
      json: { type: 'boolean' },
      mixtures: { type: 'string' },
      repeats: { type: 'string' },
      seed: { type: 'string' },
      grid: { type: 'string' },
      data: { type: 'string' },
      conv: KERNEL_FLAGS.conv,
    },
    USAGE,
  );
  if (!flags.weights) throw new UsageError('--weights FILE is required', 'pass the .safetensors checkpoint to evaluate');
  const weightsFile = String(flags.weights);
  const { bytes } = readCheckpoint(weightsFile, '--weights');
  const json = Boolean(flags.json);

  const gridFile = flags.grid === 'none' ? null : String(flags.grid ?? `${weightsFile.replace(/\.safetensors$/, '')}.samples.png`);
  // Checked before the evaluation, which can take minutes; a failure after it still prints the result.
  if (gridFile) checkWritableFile(gridFile, '--grid');

  const { gpu, mixer } = await setup(flags.data as string | undefined, json);
  await configureKernels(gpu, flags);
  const trainer = await Trainer.fromCheckpoint(gpu, mixer, bytes, {}, weightsFile);
  const t0 = performance.now();
  const result = await trainer.evaluate({
    mixtures: numberFlag(flags, 'mixtures', PROTOCOL.mixtures),
    repeats: numberFlag(flags, 'repeats', PROTOCOL.repeats),
    seed: numberFlag(flags, 'seed', PROTOCOL.seed),
    onProgress: json
      ? undefined
      : (done, total) => {
          const left = (((performance.now() - t0) / 1000) * (total - done)) / done;
          progressLine(`${bar(done / total)} evaluating ${done}/${total} test mixtures, ${duration(left)} left`);
        },
  });
  let grid: string | null = null;
  let gridError: string | null = null;
  try {
    grid = gridFile && (await writeSampleGrid(trainer, gridFile));
  } catch (e) {
    if (!isSystemError(e)) throw e;
    gridError = `error: --grid ${gridFile}: ${systemReason(e)}; the result is printed all the same: free some space or choose another --grid`;
  }
  if (json) {
    console.log(JSON.stringify({ ...result, weights: weightsFile, step: trainer.step, parameters: trainer.parameterCount, grid }));
  } else {
    progressLine('', true);
    console.log(`${weightsFile}: step ${trainer.step}, ${trainer.parameterCount.toLocaleString('en')} parameters`);
    console.log(formatEval(result, (performance.now() - t0) / 1000));
    if (grid) console.log(`sample grid: ${grid}`);
  }
  if (gridError) console.error(gridError);
  releaseNodeGpu(gpu);
  return gridError ? 1 : 0;
}
