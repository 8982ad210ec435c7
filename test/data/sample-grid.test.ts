// The sample grid's labels: the built-in font draws what its glyph table says, and each column of the
// grid carries its own name above its tiles, readable in the PNG alone.
import { describe, expect, it } from 'vitest';
import { drawText, GLYPH_HEIGHT, textWidth } from '../../src/data/font.ts';
import { SAMPLE_COLUMNS, sampleGrid } from '../../src/data/sample-grid.ts';

/** An image as text rows, '#' where a pixel is `ink`. */
const picture = (pixels: Uint8Array, width: number, ink: number) =>
  Array.from({ length: pixels.length / width }, (_, y) =>
    Array.from(pixels.subarray(y * width, (y + 1) * width), (v) => (v === ink ? '#' : '.')).join(''),
  );

describe('bitmap font', () => {
  it('draws letters from the glyph table, one blank column apart, clipped at the edges', () => {
    const pixels = new Uint8Array(13 * 9);
    drawText(pixels, 13, 1, 1, 'ax', 7);
    expect(picture(pixels, 13, 7)).toEqual([
      '.............',
      '.............',
      '.............',
      '..###..#...#.',
      '.....#..#.#..',
      '..####...#...',
      '.#...#..#.#..',
      '..####.#...#.',
      '.............',
    ]);
    const clipped = new Uint8Array(3 * 3);
    drawText(clipped, 3, -2, -2, 'l', 1);
    expect(picture(clipped, 3, 1)).toEqual(['#..', '#..', '#..']);
  });

  it('scales, measures, and names a character it cannot draw', () => {
    const pixels = new Uint8Array(10 * 4);
    drawText(pixels, 10, 0, 0, 'i', 9, 2);
    expect(picture(pixels, 10, 9)).toEqual(['....##....', '....##....', '..........', '..........']);
    expect(textWidth('predicted digit')).toBe(15 * 6 - 1);
    expect(textWidth('ab', 3)).toBe(33);
    expect(() => drawText(pixels, 10, 0, 0, 'A', 1)).toThrow('font: no glyph for "A"; the built-in font has lowercase a-z and space');
  });
});

describe('sample grid', () => {
  const rows = 2;
  const columns = SAMPLE_COLUMNS.map((_, c) => new Float32Array(rows * 32 * 32).fill(c / 8));

  it('labels each column above its tiles, centred on the tile', () => {
    const { width, height, pixels } = sampleGrid(columns, rows);
    expect(width).toBe(5 * 34 * 3 + 6);
    expect(SAMPLE_COLUMNS).toEqual(['mixture', 'predicted digit', 'true digit', 'predicted item', 'true item']);
    const header = 3 + GLYPH_HEIGHT + 3;
    expect(height).toBe(header + rows * 34 * 3 + 6);
    SAMPLE_COLUMNS.forEach((label, c) => {
      const left = 6 + c * 102;
      // The band above this tile holds exactly the label as drawText draws it on its own.
      const band = new Uint8Array(96 * header);
      for (let y = 0; y < header; y++) band.set(pixels.subarray(y * width + left, y * width + left + 96), y * 96);
      const alone = new Uint8Array(96 * header);
      drawText(alone, 96, Math.floor((96 - textWidth(label)) / 2), 3, label, 255);
      expect(picture(band, 96, 255), label).toEqual(picture(alone, 96, 255));
      // Its tiles sit below the band, holding the column's values.
      expect(pixels[(header + 6 + 50) * width + left + 50]).toBe(Math.round((255 * c) / 8));
    });
  });

  it('refuses columns of the wrong size', () => {
    expect(() => sampleGrid(columns.slice(1), rows)).toThrow('sampleGrid: needs 5 columns of 2 × 32×32 values');
  });
});
