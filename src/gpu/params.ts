// Shader parameters by name. A dispatch passes its uniform block as an object of named numbers;
// this module finds the struct that the entry point reads at @group(0) @binding(0) in the
// specialised WGSL source, lays it out with WGSL's alignment and size rules, and packs the values
// with their declared types (u32, i32, f32, and vec2/3/4 of those).

import { closestName } from '../util/closest.ts';

export type ShaderParams = Readonly<Record<string, number | readonly number[]>>;

type Scalar = 'u32' | 'i32' | 'f32';

interface Field {
  name: string;
  /** The type as declared, for messages. */
  type: string;
  scalar: Scalar;
  components: 1 | 2 | 3 | 4;
  /** Byte offset in the block. */
  offset: number;
}

/** The uniform block an entry point reads at binding 0. */
export interface ParamsLayout {
  /** Shader file, for messages. */
  file: string;
  struct: string;
  fields: Field[];
  /** Bytes, rounded up to the struct's alignment. */
  size: number;
}

const SCALARS: Record<string, Scalar> = { u32: 'u32', i32: 'i32', f32: 'f32' };
const SUFFIXES: Record<string, Scalar> = { u: 'u32', i: 'i32', f: 'f32' };
/** WGSL alignment and size of a vector by component count (scalars are 4 and 4). */
const ALIGN = { 1: 4, 2: 8, 3: 16, 4: 16 } as const;

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
}

/** `source` from the matching "{" at `open` to its "}", exclusive. */
function braced(source: string, open: number): string {
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    if (source[i] === '{') depth++;
    else if (source[i] === '}' && --depth === 0) return source.slice(open + 1, i);
  }
  return source.slice(open + 1);
}

/** Names of the uniform variables declared at @group(0) @binding(0), with their struct names. */
function bindingZeroUniforms(source: string): Map<string, string> {
  const found = new Map<string, string>();
  const declaration = /((?:@\w+\s*\(\s*\d+\s*\)\s*)+)var\s*<\s*uniform\s*>\s*(\w+)\s*:\s*(\w+)\s*;/g;
  for (const [, attributes, name, type] of source.matchAll(declaration)) {
    if (/@group\s*\(\s*0\s*\)/.test(attributes) && /@binding\s*\(\s*0\s*\)/.test(attributes)) found.set(name, type);
  }
  return found;
}

/** Identifiers used by `entry` and every function it calls, directly or not. */
function reachableIdentifiers(file: string, source: string, entry: string): Set<string> {
  const bodies = new Map<string, string>();
  for (const match of source.matchAll(/\bfn\s+(\w+)\s*\(/g)) {
    bodies.set(match[1], braced(source, source.indexOf('{', match.index)));
  }
  if (!bodies.has(entry)) throw new Error(`${file} has no function ${entry}(); entry points: ${[...bodies.keys()].join(', ')}`);
  const used = new Set<string>();
  const pending = [entry];
  for (let fn = pending.pop(); fn !== undefined; fn = pending.pop()) {
    for (const [word] of bodies.get(fn)!.matchAll(/\b[A-Za-z_]\w*\b/g)) {
      if (used.has(word)) continue;
      used.add(word);
      if (bodies.has(word)) pending.push(word);
    }
  }
  return used;
}

function fieldType(file: string, struct: string, name: string, type: string): Pick<Field, 'scalar' | 'components'> {
  if (SCALARS[type]) return { scalar: SCALARS[type], components: 1 };
  const vector = /^vec([234])(?:([uif])|<\s*(u32|i32|f32)\s*>)$/.exec(type);
  if (vector) {
    const scalar = vector[2] ? SUFFIXES[vector[2]] : SCALARS[vector[3]];
    return { scalar, components: Number(vector[1]) as 2 | 3 | 4 };
  }
  throw new Error(
    `${file}: field ${name}: ${type} of uniform struct ${struct} is not supported; parameter blocks hold u32, i32, f32 and vec2/3/4 of those`,
  );
}

/** The uniform block `entry` reads at @group(0) @binding(0) of the specialised `source`, or null if
 * it reads none. Where several entry points of a file declare their own block at binding 0, the one
 * the entry point (or a function it calls) uses is taken. */
export function paramsLayout(file: string, source: string, entry: string): ParamsLayout | null {
  const code = stripComments(source);
  const uniforms = bindingZeroUniforms(code);
  const used = reachableIdentifiers(file, code, entry);
  const read = [...uniforms.keys()].filter((name) => used.has(name));
  if (read.length === 0) return null;
  if (read.length > 1) throw new Error(`${file}: entry point ${entry} reads several uniforms at binding 0 (${read.join(', ')})`);
  const struct = uniforms.get(read[0])!;
  const declared = new RegExp(`\\bstruct\\s+${struct}\\s*\\{`).exec(code);
  if (!declared) throw new Error(`${file}: uniform ${read[0]} has type ${struct}, which is not a struct declared in the file`);
  const members = braced(code, declared.index + declared[0].length - 1)
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const fields: Field[] = [];
  let offset = 0;
  let align = 4;
  for (const member of members) {
    const parts = /^(\w+)\s*:\s*(\S(?:.*\S)?)$/.exec(member);
    if (!parts) throw new Error(`${file}: cannot read member "${member}" of uniform struct ${struct} (attributes are not supported)`);
    const [, name, type] = parts;
    const { scalar, components } = fieldType(file, struct, name, type.replace(/\s+/g, ''));
    const fieldAlign = ALIGN[components];
    offset = Math.ceil(offset / fieldAlign) * fieldAlign;
    fields.push({ name, type, scalar, components, offset });
    offset += 4 * components;
    align = Math.max(align, fieldAlign);
  }
  return { file, struct, fields, size: Math.ceil(offset / align) * align };
}

function describe(layout: ParamsLayout): string {
  return `struct ${layout.struct} { ${layout.fields.map((f) => `${f.name}: ${f.type}`).join(', ')} }`;
}

function checkValue(where: string, field: Field, value: number): void {
  const range = field.scalar === 'u32' ? [0, 2 ** 32 - 1] : field.scalar === 'i32' ? [-(2 ** 31), 2 ** 31 - 1] : null;
  if (typeof value !== 'number' || (range ? !Number.isInteger(value) || value < range[0] || value > range[1] : Number.isNaN(value))) {
    const wanted = range ? `an integer in [${range[0]}, ${range[1]}]` : 'a number';
    throw new Error(`${where}: field ${field.name}: ${field.type} must be ${wanted}, got ${JSON.stringify(value)}`);
  }
}

/** The bytes of a uniform block: each field of `layout` from `params`, by name. Throws naming the
 * shader and the field when one is missing, not in the struct (with the closest name) or mistyped. */
export function packParams(layout: ParamsLayout, entry: string, params: ShaderParams): ArrayBuffer {
  const where = `${layout.file} (${entry})`;
  const names = layout.fields.map((f) => f.name);
  const missing = names.filter((n) => !Object.hasOwn(params, n));
  for (const name of Object.keys(params)) {
    if (names.includes(name)) continue;
    const near = closestName(name, missing.length ? missing : names);
    const hint = near ? `; did you mean ${near}?` : '';
    throw new Error(`${where}: params field ${name} is not in ${describe(layout)}${hint}`);
  }
  if (missing.length)
    throw new Error(`${where}: params lack field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${describe(layout)}`);
  const bytes = new ArrayBuffer(layout.size);
  const view = new DataView(bytes);
  for (const field of layout.fields) {
    const given = params[field.name];
    const values = typeof given === 'number' ? [given] : Array.isArray(given) ? given : [];
    if (values.length !== field.components) {
      throw new Error(
        `${where}: field ${field.name}: ${field.type} takes ${field.components === 1 ? 'a number' : `${field.components} numbers`}`,
      );
    }
    values.forEach((value, i) => {
      checkValue(where, field, value);
      const at = field.offset + 4 * i;
      if (field.scalar === 'f32') view.setFloat32(at, value, true);
      else if (field.scalar === 'i32') view.setInt32(at, value, true);
      else view.setUint32(at, value, true);
    });
  }
  return bytes;
}
