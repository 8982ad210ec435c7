// The IDX format MNIST and Fashion-MNIST ship in (big-endian header, then raw u8 data), gzip, and
// SHA-256: the pieces that turn downloaded files into pixels, the same in a browser and in Node.
import { UserError } from '../util/user-error.ts';

export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** count·rows·cols bytes, image after image, row-major; 0 = background. */
  pixels: Uint8Array;
}

const IMAGES_MAGIC = 2051; // 0x00000803: unsigned bytes, rank 3
const LABELS_MAGIC = 2049; // 0x00000801: unsigned bytes, rank 1

/** Reads the header words and checks magic and total length; returns the dimensions. */
function parseIdx(bytes: Uint8Array, file: string, magic: number, what: string): number[] {
  const rank = magic & 0xff;
  const headerBytes = 4 + 4 * rank;
  const truncated = () =>
    new Error(`${file}: truncated IDX ${what} file: ${bytes.length} bytes, but the header alone is ${headerBytes} bytes`);
  if (bytes.length < 4) throw truncated();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) {
    const hint =
      found === LABELS_MAGIC || found === IMAGES_MAGIC
        ? ` (magic ${found} is an IDX ${found === LABELS_MAGIC ? 'labels' : 'images'} file)`
        : '';
    throw new Error(`${file}: not an IDX ${what} file: magic number is ${found}${hint}, expected ${magic}`);
  }
  if (bytes.length < headerBytes) throw truncated();
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  if (dims.some((d) => d === 0)) throw new Error(`${file}: IDX ${what} file has a zero dimension [${dims.join(', ')}]`);
  const expected = headerBytes + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const how = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new Error(`${file}: IDX ${what} file ${how}: dims [${dims.join(', ')}] need ${expected} bytes, the file has ${bytes.length}`);
  }
  return dims;
}

export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const [count, rows, cols] = parseIdx(bytes, file, IMAGES_MAGIC, 'images');
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

export function parseIdxLabels(bytes: Uint8Array, file: string): Uint8Array {
  parseIdx(bytes, file, LABELS_MAGIC, 'labels');
  return bytes.subarray(8);
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Runs bytes through a CompressionStream or DecompressionStream and collects the output. */
export async function pipeBytes(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const input = new ReadableStream<BufferSource>({
    start(controller) {
      controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      controller.close();
    },
  });
  return new Uint8Array(await new Response(input.pipeThrough(stream)).arrayBuffer());
}

/** What to do about a damaged dataset file, wherever it came from. */
export const REPLACE_FILE_FIX =
  'delete the file and fetch it again (`npm run fetch-data`), or point --data / UNMIX_DATA at (or pick, in the page) a good copy';

export async function gunzip(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    return await pipeBytes(bytes, new DecompressionStream('gzip'));
  } catch (e) {
    throw new UserError(`${file}: corrupt or truncated gzip data (${(e as Error).message})`, REPLACE_FILE_FIX, { cause: e });
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
