// A tiny built-in bitmap font (5×7, lowercase letters and space, after the HD44780 character ROM) for
// labels burnt into PNGs: the sample grid's column names. Browser and Node, no font files.

/** Each glyph: 7 rows of 5 pixels, top to bottom, '#' = ink. */
const GLYPHS: Record<string, string> = {
  ' ': '..... ..... ..... ..... ..... ..... .....',
  a: '..... ..... .###. ....# .#### #...# .####',
  b: '#.... #.... #.##. ##..# #...# #...# ####.',
  c: '..... ..... .###. #.... #.... #...# .###.',
  d: '....# ....# .##.# #..## #...# #...# .####',
  e: '..... ..... .###. #...# ##### #.... .###.',
  f: '..##. .#..# .#... ###.. .#... .#... .#...',
  g: '..... .#### #...# #...# .#### ....# .###.',
  h: '#.... #.... #.##. ##..# #...# #...# #...#',
  i: '..#.. ..... .##.. ..#.. ..#.. ..#.. .###.',
  j: '...#. ..... ..##. ...#. ...#. #..#. .##..',
  k: '#.... #.... #..#. #.#.. ##... #.#.. #..#.',
  l: '.##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  m: '..... ..... ##.#. #.#.# #.#.# #...# #...#',
  n: '..... ..... #.##. ##..# #...# #...# #...#',
  o: '..... ..... .###. #...# #...# #...# .###.',
  p: '..... ..... ####. #...# ####. #.... #....',
  q: '..... ..... .##.# #..## .#### ....# ....#',
  r: '..... ..... #.##. ##..# #.... #.... #....',
  s: '..... ..... .###. #.... .###. ....# ####.',
  t: '.#... .#... ###.. .#... .#... .#..# ..##.',
  u: '..... ..... #...# #...# #...# #..## .##.#',
  v: '..... ..... #...# #...# #...# .#.#. ..#..',
  w: '..... ..... #...# #...# #.#.# #.#.# .#.#.',
  x: '..... ..... #...# .#.#. ..#.. .#.#. #...#',
  y: '..... ..... #...# #...# .#### ....# .###.',
  z: '..... ..... ##### ...#. ..#.. .#... #####',
};

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
/** One blank column between letters. */
const ADVANCE = GLYPH_WIDTH + 1;

function glyph(char: string): string[] {
  const rows = GLYPHS[char]?.split(' ');
  if (!rows) throw new Error(`font: no glyph for ${JSON.stringify(char)}; the built-in font has lowercase a-z and space`);
  return rows;
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/** Draws `text` into an 8-bit image (row-major, `width` pixels a row) with its top-left corner at
 * (x, y), each font pixel a scale×scale square of `ink`; pixels outside the image are skipped. */
export function drawText(pixels: Uint8Array, width: number, x: number, y: number, text: string, ink: number, scale = 1): void {
  const height = pixels.length / width;
  [...text].forEach((char, i) => {
    glyph(char).forEach((row, gy) => {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (row[gx] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const px = x + (i * ADVANCE + gx) * scale + dx;
            const py = y + gy * scale + dy;
            if (px >= 0 && px < width && py >= 0 && py < height) pixels[py * width + px] = ink;
          }
        }
      }
    });
  });
}
