// Turns a .wgsl file into specialised source. Files use `${NAME}` placeholders,
// wgsl-preprocessor's `#if ${NAME}` / `#else` / `#endif`, and `#unroll i COUNT` … `#endunroll`,
// which repeats its lines COUNT times (a number or `${NAME}`) with `${i}` replaced by 0, 1, …
// Unrolling is ours because Chromium's SwiftShader compiles loops as written: a private array
// indexed by a loop counter becomes per-lane memory traffic, where an unrolled body indexes it with
// constants. Values come from a defines object.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

export type Defines = Record<string, number | boolean | string>;

const placeholder = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** An #unroll block with no #unroll inside it: expanded innermost first. */
const innermostUnroll = /^[ \t]*#unroll[ \t]+(\S+)[ \t]+(\S+)[ \t]*\n((?:(?![ \t]*#unroll\b)[^\n]*\n)*?)[ \t]*#endunroll[ \t]*(?:\n|$)/m;

function unroll(file: string, source: string, defines: Defines): string {
  let out = source;
  for (let match = innermostUnroll.exec(out); match; match = innermostUnroll.exec(out)) {
    const [block, name, countText, body] = match;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name in defines) {
      throw new Error(`shader ${file}: #unroll needs a fresh variable name, got "${name}"`);
    }
    const define = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(countText)?.[1];
    const count = Number(define === undefined ? countText : defines[define]);
    if (!Number.isInteger(count) || count < 0) {
      throw new Error(`shader ${file}: #unroll ${name} ${countText}: the count must be a whole number or a define holding one (got ${JSON.stringify(define === undefined ? countText : defines[define])})`);
    }
    const copies = Array.from({ length: count }, (_, i) => body.replaceAll(`\${${name}}`, String(i)));
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
    const name = match[1];
    if (!(name in defines)) {
      throw new Error(`shader ${file}: placeholder \${${name}} has no value; pass it in defines (got ${JSON.stringify(defines)})`);
    }
    strings.push(unrolled.slice(last, match.index));
    values.push(defines[name]);
    last = match.index! + match[0].length;
  }
  strings.push(unrolled.slice(last));
  const raw = Object.assign([...strings], { raw: strings });
  return wgsl(raw as unknown as TemplateStringsArray, ...values);
}
