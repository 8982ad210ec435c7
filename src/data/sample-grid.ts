// The sample grid as one 8-bit image: a labelled header, then one row per sample of 32×32 tiles,
// mixture | predicted digit | true digit | predicted item | true item. Browser and Node.
import { drawText, GLYPH_HEIGHT, textWidth } from './font.ts';
import { SIZE } from './mixer.ts';

export const SAMPLE_COLUMNS = ['mixture', 'predicted digit', 'true digit', 'predicted item', 'true item'];

const GAP = 2;
/** Each image pixel drawn as SCALE×SCALE, so a tile is 96 pixels wide: room for the longest label. */
const SCALE = 3;
const BACKGROUND = 96;
const INK = 255;
/** The label band above the tiles, in image pixels. */
const HEADER = GLYPH_HEIGHT + 2 * 3;

/** `columns[c]` holds rows·32·32 values in [0, 1] (clamped), one 32×32 tile after another. */
export function sampleGrid(columns: Float32Array[], rows: number): { width: number; height: number; pixels: Uint8Array } {
  if (columns.length !== SAMPLE_COLUMNS.length || columns.some((c) => c.length !== rows * SIZE * SIZE)) {
    throw new Error(
      `sampleGrid: needs ${SAMPLE_COLUMNS.length} columns of ${rows} × ${SIZE}×${SIZE} values, got ${columns.map((c) => c.length).join(', ')}`,
    );
  }
  const cell = (SIZE + GAP) * SCALE;
  const width = columns.length * cell + GAP * SCALE;
  const height = HEADER + rows * cell + GAP * SCALE;
  const pixels = new Uint8Array(width * height).fill(BACKGROUND);
  SAMPLE_COLUMNS.forEach((label, c) => {
    const left = GAP * SCALE + c * cell;
    drawText(pixels, width, left + Math.floor((SIZE * SCALE - textWidth(label)) / 2), 3, label, INK);
  });
  for (let r = 0; r < rows; r++) {
    columns.forEach((images, c) => {
      for (let y = 0; y < SIZE * SCALE; y++) {
        for (let x = 0; x < SIZE * SCALE; x++) {
          const v = images[r * SIZE * SIZE + Math.floor(y / SCALE) * SIZE + Math.floor(x / SCALE)];
          const px = GAP * SCALE + c * cell + x;
          const py = HEADER + GAP * SCALE + r * cell + y;
          pixels[py * width + px] = Math.round(255 * Math.min(1, Math.max(0, v)));
        }
      }
    });
  }
  return { width, height, pixels };
}
