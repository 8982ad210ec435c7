// Draws 32×32 images (values in [0, 1], white ink on black as in MNIST) side by side on a canvas at
// their own resolution; CSS scales the canvas up with crisp pixels.
import type { Separated } from './protocol.ts';

const SIZE = 32;
const GAP = 2;
const PIXELS = SIZE * SIZE;

/** The order of the columns in the page's grids. */
const COLUMNS: (keyof Separated)[] = ['mixture', 'predDigit', 'digit', 'predItem', 'item'];

export function drawSeparated(canvas: HTMLCanvasElement, s: Separated): void {
  const rows = s.mixture.length / PIXELS;
  canvas.width = COLUMNS.length * (SIZE + GAP) - GAP;
  canvas.height = rows * (SIZE + GAP) - GAP;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(canvas.width, canvas.height);
  const rgba = image.data;
  rgba.fill(255); // the gaps between images: white
  for (let r = 0; r < rows; r++) {
    COLUMNS.forEach((column, c) => {
      const src = s[column];
      for (let y = 0; y < SIZE; y++) {
        for (let x = 0; x < SIZE; x++) {
          const v = Math.round(255 * Math.min(1, Math.max(0, src[r * PIXELS + y * SIZE + x])));
          const at = 4 * ((r * (SIZE + GAP) + y) * canvas.width + c * (SIZE + GAP) + x);
          rgba[at] = rgba[at + 1] = rgba[at + 2] = v;
        }
      }
    });
  }
  ctx.putImageData(image, 0, 0);
}
