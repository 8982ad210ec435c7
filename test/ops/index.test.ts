// The op index (src/ops/index.ts) lists every op, and every op has its files: its shader and its
// test file here, with the f64 reference and gradient checks.
import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { OPS } from '../../src/ops/index.ts';

/** Files of src/ops that are not ops: the shape checks every op shares, and the index itself. */
const NOT_OPS = ['check', 'index'];

describe('the op index', () => {
  it('lists every op file of src/ops once', () => {
    const files = readdirSync(new URL('../../src/ops/', import.meta.url))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.slice(0, -3))
      .filter((stem) => !NOT_OPS.includes(stem));
    expect(OPS.map((op) => op.name).sort()).toEqual(files.sort());
  });

  for (const op of OPS) {
    it(`${op.name}: has its shader and its test file`, () => {
      const shaders = readdirSync(new URL('../../shaders/', import.meta.url));
      expect(
        shaders.filter((f) => f === `${op.name}.wgsl` || f.startsWith(`${op.name}_`)).length,
        `shaders/${op.name}.wgsl`,
      ).toBeGreaterThan(0);
      expect(existsSync(new URL(`./${op.name}.test.ts`, import.meta.url)), `test/ops/${op.name}.test.ts`).toBe(true);
    });
  }

  it('names each browser case once across the ops', () => {
    const names = OPS.flatMap((op) => Object.keys(op.cases));
    expect(new Set(names).size).toBe(names.length);
  });
});
