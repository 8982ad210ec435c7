// The safetensors file format (what Python's `safetensors` reads and writes), for F32 tensors:
//   8 bytes   N, the header length, unsigned 64-bit little-endian
//   N bytes   JSON header: {"__metadata__": {string: string}, name: {"dtype": "F32", "shape": [..],
//             "data_offsets": [begin, end]}, ...}, padded with spaces so the data starts at a multiple of 8
//   rest      the tensors' raw little-endian bytes; offsets are relative to the data's start and the
//             tensors tile it exactly, without gaps or overlaps.
import { UserError } from '../util/user-error.ts';

export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Tensors are stored in name order, so the same tensors always give the same bytes. */
export function writeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const names = Object.keys(tensors).sort();
  let offset = 0;
  for (const name of names) {
    const { shape, data } = tensors[name];
    if (name === '__metadata__') throw new Error('writeSafetensors: "__metadata__" is reserved and cannot name a tensor');
    if (sizeOf(shape) !== data.length) {
      throw new Error(`writeSafetensors: tensor "${name}" has shape [${shape}] (${sizeOf(shape)} values) but ${data.length} values`);
    }
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const text = JSON.stringify(header);
  const unpadded = new TextEncoder().encode(text).length;
  const json = new TextEncoder().encode(text + ' '.repeat((8 - (unpadded % 8)) % 8));

  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of names) {
    const { data } = tensors[name];
    // Float32Array bytes are in host order, and every WebGPU host is little-endian.
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    at += data.byteLength;
  }
  return out;
}

/** The first value that is NaN or ±Infinity, as "tensor "<name>" holds NaN at index 12", or null. */
export function findNonFinite(tensors: Record<string, NamedTensor>): string | null {
  for (const [name, { data }] of Object.entries(tensors)) {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return `tensor "${name}" holds ${data[i]} at index ${i}`;
  }
  return null;
}

/** The format's own limit on the JSON header (Hugging Face's reader refuses larger ones). */
const MAX_HEADER_BYTES = 100_000_000;

const DAMAGED_FIX =
  'use an intact copy: each training run keeps step-*.safetensors beside latest.safetensors, or train again to write a new one';

export function readSafetensors(
  bytes: Uint8Array,
  file = 'safetensors',
): { tensors: Record<string, NamedTensor>; metadata: Record<string, string> } {
  const fail = (what: string, fix = DAMAGED_FIX) => new UserError(`${file}: not a valid safetensors file: ${what}`, fix);
  if (bytes.length < 8) throw fail(`${bytes.length} bytes, shorter than the 8-byte header length (the file is empty or cut short)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw fail(
      `its first 8 bytes give a header length of ${headerLength} bytes, more than the format's ${MAX_HEADER_BYTES / 1e6} MB limit ` +
        '(this is not a safetensors file at all, or its start is overwritten)',
    );
  }
  if (headerLength > BigInt(bytes.length - 8)) {
    throw fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes): the file is truncated`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    throw fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const rawMetadata = header.__metadata__ ?? {};
  if (typeof rawMetadata !== 'object' || rawMetadata === null || Array.isArray(rawMetadata))
    throw fail('__metadata__ is not a JSON object');
  for (const [key, value] of Object.entries(rawMetadata as object)) {
    if (typeof value !== 'string') throw fail(`__metadata__["${key}"] is ${JSON.stringify(value)}, not a string`);
    metadata[key] = value;
  }

  const entries = Object.entries(header).filter(([name]) => name !== '__metadata__') as [string, HeaderEntry][];
  for (const [name, e] of entries) {
    if (e.dtype !== 'F32') {
      throw fail(
        `tensor "${name}" has dtype ${JSON.stringify(e.dtype)}; only F32 is supported`,
        'save the tensors as float32 (e.g. tensor.float() in PyTorch)',
      );
    }
    const dimsOk = Array.isArray(e.shape) && e.shape.every((d) => Number.isInteger(d) && d >= 0);
    const offsetsOk =
      Array.isArray(e.data_offsets) && e.data_offsets.length === 2 && e.data_offsets.every((o) => Number.isInteger(o) && o >= 0);
    if (!dimsOk || !offsetsOk)
      throw fail(`tensor "${name}" has a malformed shape ${JSON.stringify(e.shape)} or data_offsets ${JSON.stringify(e.data_offsets)}`);
    const [begin, end] = e.data_offsets;
    if (end - begin !== sizeOf(e.shape) * 4) {
      throw fail(
        `tensor "${name}" of shape [${e.shape}] needs ${sizeOf(e.shape) * 4} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
      );
    }
  }

  // The tensors must tile the data exactly: sorted by offset, each starts where the last ended.
  const dataLength = bytes.length - dataStart;
  let expectedBegin = 0;
  for (const [name, e] of [...entries].sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
    if (e.data_offsets[0] !== expectedBegin) {
      throw fail(
        `tensor "${name}" starts at data offset ${e.data_offsets[0]}, expected ${expectedBegin} (offsets must be contiguous, without gaps or overlaps)`,
      );
    }
    expectedBegin = e.data_offsets[1];
  }
  if (expectedBegin !== dataLength) {
    const how = dataLength < expectedBegin ? 'the file is truncated' : 'extra bytes follow the last tensor';
    throw fail(`the tensors cover ${expectedBegin} bytes of data but the file holds ${dataLength} after the header: ${how}`);
  }

  const tensors: Record<string, NamedTensor> = {};
  for (const [name, e] of entries) {
    // slice() copies into a fresh, 4-byte-aligned buffer.
    const raw = bytes.slice(dataStart + e.data_offsets[0], dataStart + e.data_offsets[1]);
    tensors[name] = { shape: e.shape, data: new Float32Array(raw.buffer) };
  }
  return { tensors, metadata };
}
