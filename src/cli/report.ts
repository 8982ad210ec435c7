// What training and evaluation print and draw.
import { writeFileSync } from 'node:fs';
import { encodePng } from '../data/png.ts';
import { sampleGrid } from '../data/sample-grid.ts';
import { createNodeGpu, releaseNodeGpu } from '../gpu/node.ts';
import { type ModelConfig, Separator } from '../model/separator.ts';
import { formatSummary, modelSummary } from '../model/summary.ts';
import { DISPLAY_PAIRS } from '../train/evaluate.ts';
import type { EvalResult, Trainer } from '../train/trainer.ts';

export function formatEval(r: EvalResult, seconds: number): string {
  return [
    `test MSE ${r.mse_mean.toExponential(3)}${r.repeats > 1 ? ` ± ${r.mse_std.toExponential(1)}` : ''}  (digit ${r.mse_digit.toExponential(3)}, item ${r.mse_item.toExponential(3)})`,
    `  ${r.repeats} × ${r.mixtures.toLocaleString('en')} random test mixtures, ${seconds.toFixed(1)} s`,
  ].join('\n');
}

/** PNG grid of the fixed DISPLAY_PAIRS, one row per sample, under the column labels of SAMPLE_COLUMNS. */
export async function writeSampleGrid(trainer: Trainer, file: string): Promise<string> {
  const p = await trainer.predictPairs(DISPLAY_PAIRS.digits, DISPLAY_PAIRS.items);
  const { width, height, pixels } = sampleGrid([p.mixture, p.predDigit, p.digit, p.predItem, p.item], DISPLAY_PAIRS.digits.length);
  writeFileSync(file, await encodePng(width, height, pixels));
  return file;
}

/** `--summary`: the layer table of the model a config describes, printed without data or training. */
export async function printModelSummary(config: ModelConfig): Promise<void> {
  const gpu = await createNodeGpu();
  const model = new Separator(gpu, config, 0);
  console.log(formatSummary(modelSummary(model)));
  model.destroy();
  releaseNodeGpu(gpu);
}
