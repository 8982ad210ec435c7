// Turns a .wgsl file into specialised source. Files use `#include NAME` lines (shaders/NAME.wgsl,
// functions that several shaders share, pasted in place), `${NAME}` placeholders,
// wgsl-preprocessor's `#if ${NAME}` / `#else` / `#endif`, and `#unroll i COUNT` … `#endunroll`,
// which repeats its lines COUNT times with `i` = 0, 1, …; inside, `${…}` may be integer arithmetic
// (+ - * / % and parentheses, / rounding down) over unroll variables, defines and numbers, e.g.
// `q${(kx + 4 * j) / 4}`. COUNT is such an expression over defines.
// Unrolling is ours because Chromium's SwiftShader compiles loops as written: a private array
// indexed by a loop counter becomes per-lane memory traffic, where an unrolled body indexes it with
// constants. Values come from a defines object.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

export type Defines = Record<string, number | boolean | string>;

const placeholder = /\$\{([^{}]+)\}/g;
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** An #unroll block with no #unroll inside it: expanded innermost first. */
const innermostUnroll =
  /^[ \t]*#unroll[ \t]+(\S+)[ \t]+([^\n]+?)[ \t]*\n((?:(?![ \t]*#unroll\b)[^\n]*\n)*?)[ \t]*#endunroll[ \t]*(?:\n|$)/m;

/** Evaluates integer arithmetic over numbers and named values; throws naming the file otherwise. */
function evaluate(file: string, expr: string, values: Record<string, unknown>): number {
  const tokens = expr.match(/\d+|[A-Za-z_]\w*|[-+*/%()]|\S/g) ?? [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`shader ${file}: cannot evaluate \${${expr}}: ${why}`);
  };
  const atom = (): number => {
    const t = tokens[i++];
    if (t === undefined) return fail('it ends early');
    if (t === '(') {
      const v = sum();
      if (tokens[i++] !== ')') fail('a ")" is missing');
      return v;
    }
    if (t === '-') return -atom();
    if (/^\d+$/.test(t)) return Number(t);
    if (identifier.test(t)) {
      const v = values[t];
      if (typeof v !== 'number' || !Number.isInteger(v))
        return fail(`"${t}" is not an unroll variable or an integer define (got ${JSON.stringify(v)})`);
      return v;
    }
    return fail(`unexpected "${t}"`);
  };
  const product = (): number => {
    let v = atom();
    while (tokens[i] === '*' || tokens[i] === '/' || tokens[i] === '%') {
      const op = tokens[i++];
      const r = atom();
      v = op === '*' ? v * r : op === '/' ? Math.floor(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (tokens[i] === '+' || tokens[i] === '-') v = tokens[i++] === '+' ? v + product() : v - product();
    return v;
  };
  const v = sum();
  if (i !== tokens.length) fail(`unexpected "${tokens[i]}"`);
  return v;
}

function unroll(file: string, source: string, defines: Defines): string {
  let out = source;
  for (let match = innermostUnroll.exec(out); match; match = innermostUnroll.exec(out)) {
    const [block, name, countText, body] = match;
    if (!identifier.test(name) || name in defines) {
      throw new Error(`shader ${file}: #unroll needs a fresh variable name, got "${name}"`);
    }
    const count = evaluate(file, countText.replace(placeholder, '($1)'), defines);
    if (count < 0) throw new Error(`shader ${file}: #unroll ${name} ${countText} counts ${count} times`);
    const word = new RegExp(`\\b${name}\\b`, 'g');
    const copies = Array.from({ length: count }, (_, k) =>
      body.replace(placeholder, (_m, expr: string) => `\${${expr.replace(word, String(k))}}`),
    );
    out = out.slice(0, match.index) + copies.join('') + out.slice(match.index + block.length);
  }
  if (/^[ \t]*#(end)?unroll\b/m.test(out)) throw new Error(`shader ${file}: #unroll without a matching #endunroll (or the reverse)`);
  return out;
}

export function specialize(file: string, source: string, defines: Defines = {}): string {
  const unrolled = unroll(file, source, defines);
  const strings: string[] = [];
  const values: unknown[] = [];
  let last = 0;
  for (const match of unrolled.matchAll(placeholder)) {
    const expr = match[1].trim();
    if (identifier.test(expr) && !(expr in defines)) {
      throw new Error(`shader ${file}: placeholder \${${expr}} has no value; pass it in defines (got ${JSON.stringify(defines)})`);
    }
    strings.push(unrolled.slice(last, match.index));
    values.push(identifier.test(expr) ? defines[expr] : evaluate(file, expr, defines));
    last = match.index! + match[0].length;
  }
  strings.push(unrolled.slice(last));
  const raw = Object.assign([...strings], { raw: strings });
  return wgsl(raw as unknown as TemplateStringsArray, ...values);
}

const includeLine = /^[ \t]*#include[ \t]+(\S+)[ \t]*$/m;

/** Pastes each `#include NAME` line's file, shaders/NAME.wgsl, from `sources` (by name, without
 * .wgsl) in place of the line; included files may not include others. */
export function withIncludes(file: string, source: string, sources: Record<string, string>): string {
  return source.replace(new RegExp(includeLine.source, 'gm'), (_, name: string) => {
    const included = sources[name];
    if (included === undefined) throw new Error(`shader ${file}: #include ${name}: no shaders/${name}.wgsl`);
    if (includeLine.test(included)) throw new Error(`shader ${file}: #include ${name}: shaders/${name}.wgsl includes another file`);
    return included;
  });
}
