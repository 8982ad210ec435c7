// What training and evaluation print and draw.
import { writeFileSync } from 'node:fs';
import { encodePng } from '../data/png.ts';
import { DISPLAY_PAIRS } from '../train/evaluate.ts';
import type { EvalResult, Trainer } from '../train/trainer.ts';

export function formatEval(r: EvalResult, seconds: number): string {
  return [
    `test MSE ${r.mse_mean.toExponential(3)} ± ${r.mse_std.toExponential(1)}  (digit ${r.mse_digit.toExponential(3)}, item ${r.mse_item.toExponential(3)})`,
    `  ${r.repeats} × ${r.mixtures.toLocaleString('en')} random test mixtures, ${seconds.toFixed(1)} s`,
  ].join('\n');
}

const TILE = 32;
const GAP = 2;
const SCALE = 3;

/** PNG grid, one row per sample: mixture | predicted digit | true digit | predicted item | true item. */
export async function writeSampleGrid(trainer: Trainer, file: string): Promise<string> {
  const p = await trainer.predictPairs(DISPLAY_PAIRS.digits, DISPLAY_PAIRS.items);
  const columns = [p.mixture, p.predDigit, p.digit, p.predItem, p.item];
  const rows = DISPLAY_PAIRS.digits.length;
  const width = (columns.length * (TILE + GAP) + GAP) * SCALE;
  const height = (rows * (TILE + GAP) + GAP) * SCALE;
  const pixels = new Uint8Array(width * height).fill(96);
  for (let r = 0; r < rows; r++) {
    columns.forEach((images, c) => {
      for (let y = 0; y < TILE * SCALE; y++) {
        for (let x = 0; x < TILE * SCALE; x++) {
          const v = images[r * TILE * TILE + Math.floor(y / SCALE) * TILE + Math.floor(x / SCALE)];
          const px = (GAP + c * (TILE + GAP)) * SCALE + x;
          const py = (GAP + r * (TILE + GAP)) * SCALE + y;
          pixels[py * width + px] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
    });
  }
  writeFileSync(file, await encodePng(width, height, pixels));
  return file;
}
