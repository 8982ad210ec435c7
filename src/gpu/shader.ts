// Turns a .wgsl file into specialised source. Files use `${NAME}` placeholders and
// wgsl-preprocessor's `#if ${NAME}` / `#else` / `#endif`; values come from a defines object.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';

export type Defines = Record<string, number | boolean | string>;

const placeholder = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function specialize(file: string, source: string, defines: Defines = {}): string {
  const strings: string[] = [];
  const values: unknown[] = [];
  let last = 0;
  for (const match of source.matchAll(placeholder)) {
    const name = match[1];
    if (!(name in defines)) {
      throw new Error(`shader ${file}: placeholder \${${name}} has no value; pass it in defines (got ${JSON.stringify(defines)})`);
    }
    strings.push(source.slice(last, match.index));
    values.push(defines[name]);
    last = match.index! + match[0].length;
  }
  strings.push(source.slice(last));
  const raw = Object.assign([...strings], { raw: strings });
  return wgsl(raw as unknown as TemplateStringsArray, ...values);
}
