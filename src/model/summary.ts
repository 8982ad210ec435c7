// A model summary as Keras's model.summary() prints it: each layer's name, type, output shape and
// parameter count, then the totals; the CLI prints it (npm run train, --summary) and the page shows
// it. Rows come from the separator's modules: the layers and their channel counts are read from the
// parameters' shapes (a decoder's concatenation width is its first convolution's input width), the
// resolution from each block's level (enc1, enc2, …, mid, …, dec2, dec1; heads at full size).

import { SIZE } from '../data/mixer.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { Separator } from './separator.ts';

export interface SummaryRow {
  /** A module's path (enc1.conv1), or the op between blocks (maxpool, upsample, concat). */
  name: string;
  type: string;
  /** [batch, channels, height, width]; the batch is 'N', any size. */
  outputShape: ['N', number, number, number];
  params: number;
}

export interface ModelSummary {
  title: string;
  rows: SummaryRow[];
  /** Trained values: every parameter (as Module.parameterCount()). */
  params: number;
  /** Batch-norm running statistics: state saved in checkpoints, not trained. */
  stateValues: number;
}

const HEADS = ['digit_head', 'item_head'];

/** Resolution level of a top-level block: encN and decN at N - 1, mid at the bottom, heads on top. */
function levelOf(block: string, depth: number): number {
  if (block === 'mid') return depth - 1;
  if (HEADS.includes(block)) return 0;
  const n = /^(?:enc|dec)(\d+)$/.exec(block);
  if (!n) throw new Error(`modelSummary: unknown block "${block}" of the separator; teach src/model/summary.ts its level`);
  return Number(n[1]) - 1;
}

export function modelSummary(model: Separator): ModelSummary {
  const { width, depth, upsample } = model.config;
  // Parameters grouped by the module that owns them: "enc1.conv1.weight" → enc1.conv1 → weight.
  const layers = new Map<string, Map<string, Tensor>>();
  for (const [path, t] of model.namedParameters()) {
    const dot = path.lastIndexOf('.');
    const layer = path.slice(0, dot);
    if (!layers.has(layer)) layers.set(layer, new Map());
    layers.get(layer)!.set(path.slice(dot + 1), t);
  }

  const side = (level: number) => SIZE >> level;
  const rows: SummaryRow[] = [{ name: 'mixture', type: 'Input', outputShape: ['N', 1, SIZE, SIZE], params: 0 }];
  const push = (name: string, type: string, channels: number, level: number, params = 0) =>
    rows.push({ name, type, outputShape: ['N', channels, side(level), side(level)], params });
  // What the next block reads: the last block's output, and the encoders' outputs kept for the skips.
  let channels = 1;
  let level = 0;
  let block = '';
  let trunk = 1; // channels into the heads: the last decoder's output
  const skips = new Map<number, { block: string; channels: number }>();
  for (const [layer, params] of layers) {
    const owner = layer.split('.')[0];
    if (owner !== block) {
      if (block.startsWith('enc')) skips.set(level, { block, channels });
      const next = levelOf(owner, depth);
      if (HEADS.includes(owner)) channels = trunk;
      else if (next === level + 1) push('maxpool', 'MaxPool2d 2×2', channels, next);
      else if (next === level - 1) {
        push('upsample', `Upsample ×2, ${upsample}`, channels, next);
        const skip = skips.get(next);
        const joined = params.get('weight')!.shape[1];
        if (!skip || joined !== channels + skip.channels) {
          throw new Error(`modelSummary: ${layer} reads ${joined} channels, not the upsampled ${channels} plus a skip at level ${next}`);
        }
        channels = joined;
        push('concat', `Concatenate with ${skip.block}`, channels, next);
      } else if (next !== level) throw new Error(`modelSummary: ${owner} jumps from level ${level} to ${next}`);
      block = owner;
      level = next;
    }
    const count = [...params.values()].reduce((n, t) => n + t.size, 0);
    const weight = params.get('weight')!;
    if (weight.shape.length === 4) {
      const [cout, cin, k] = weight.shape;
      if (cin !== channels) throw new Error(`modelSummary: ${layer} reads ${cin} channels but gets ${channels}`);
      channels = cout;
      push(layer, `Conv2d ${k}×${k}${HEADS.includes(owner) ? ' + sigmoid' : ''}`, channels, level, count);
    } else {
      push(layer, 'BatchNorm2d + ReLU', channels, level, count);
    }
    if (!HEADS.includes(owner)) trunk = channels;
  }
  return {
    title: `separator: width ${width}, depth ${depth}, ${upsample} upsampling — ${model.parameterCount().toLocaleString('en')} parameters`,
    rows,
    params: model.parameterCount(),
    stateValues: model.namedBuffers().reduce((n, [, t]) => n + t.size, 0),
  };
}

const count = (n: number) => n.toLocaleString('en');
const mebibytes = (values: number) => `${((values * 4) / 2 ** 20).toFixed(2)} MiB as f32`;

/** The summary as a text table, Keras's layout. */
export function formatSummary(s: ModelSummary): string {
  const cells = s.rows.map((r) => [`${r.name} (${r.type})`, `[${r.outputShape.join(', ')}]`, count(r.params)]);
  const header = ['Layer (type)', 'Output shape', 'Param #'];
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c].length)));
  const line = (row: string[]) => `${row[0].padEnd(widths[0])}  ${row[1].padEnd(widths[1])}  ${row[2].padStart(widths[2])}`;
  const rule = (char: string) => char.repeat(widths[0] + widths[1] + widths[2] + 4);
  return [
    `Model: ${s.title}`,
    rule('━'),
    line(header),
    rule('━'),
    ...cells.map(line),
    rule('━'),
    `Total params: ${count(s.params)} (${mebibytes(s.params)})`,
    `Trainable params: ${count(s.params)}`,
    'Non-trainable params: 0',
    `Batch-norm running statistics: ${count(s.stateValues)} values (saved with the weights, not trained)`,
  ].join('\n');
}
