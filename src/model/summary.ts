// A model summary as Keras's model.summary() prints it: each layer's name, type, output shape and
// parameter count, then the totals; the CLI prints it (npm run train, --summary) and the page shows
// it. Rows come from the separator's modules: the layers and their channel counts are read from the
// parameters' shapes (a decoder's concatenation width is its first convolution's input width), the
// resolution from each block's level (enc1, enc2, …, mid, …, dec2, dec1; heads at full size).

import { SIZE } from '../data/mixer.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { ModelOutput, Separator } from './separator.ts';

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

const OUTPUT_TITLES: Record<ModelOutput, string> = { independent: '', projected: ', projected outputs', share: ', outputs from a share' };
const HEADS = ['digit_head', 'item_head', 'share_head'];

/** Resolution level of a top-level block: encN and decN at N - 1, mid at the bottom. */
function levelOf(block: string, depth: number): number {
  if (block === 'mid') return depth - 1;
  if (HEADS.includes(block)) return 0;
  const n = /^(?:enc|dec)(\d+)$/.exec(block);
  if (!n) throw new Error(`modelSummary: unknown block "${block}" of the separator; teach src/model/summary.ts its place`);
  return Number(n[1]) - 1;
}

export function modelSummary(model: Separator): ModelSummary {
  const { width, depth, residual, output } = model.config;
  // Parameters grouped by block and by the module that owns them: "enc1.conv1.weight" → enc1 → conv1 → weight.
  const blocks = new Map<string, Map<string, Map<string, Tensor>>>();
  for (const [path, t] of model.namedParameters()) {
    const parts = path.split('.');
    const block = parts[0];
    const layer = parts.slice(0, -1).join('.');
    if (!blocks.has(block)) blocks.set(block, new Map());
    const layers = blocks.get(block)!;
    if (!layers.has(layer)) layers.set(layer, new Map());
    layers.get(layer)!.set(parts[parts.length - 1], t);
  }

  // Level 0 is the full SIZE, each level below half the one above.
  const side = (level: number) => SIZE >> level;
  const rows: SummaryRow[] = [{ name: 'mixture', type: 'Input', outputShape: ['N', 1, SIZE, SIZE], params: 0 }];
  const push = (name: string, type: string, channels: number, level: number, params = 0) =>
    rows.push({ name, type, outputShape: ['N', channels, side(level), side(level)], params });
  const size = (params: Map<string, Tensor>) => [...params.values()].reduce((n, t) => n + t.size, 0);
  /** A 1×1 or 3×3 convolution's row, checking that it reads the channels it is given. */
  const conv = (layer: string, params: Map<string, Tensor>, cin: number, level: number, note = '') => {
    const [cout, reads, k] = params.get('weight')!.shape;
    if (reads !== cin) throw new Error(`modelSummary: ${layer} reads ${reads} channels but gets ${cin}`);
    push(layer, `Conv2d ${k}×${k}${note}`, cout, level, size(params));
    return cout;
  };

  let channels = 1; // what the next block reads
  let level = 0;
  const skips = new Map<number, { block: string; channels: number }>();
  const trunk = { channels: 1 }; // the last decoder's output, which both heads read
  for (const [block, layers] of blocks) {
    const next = levelOf(block, depth);
    if (block.startsWith('enc') || block === 'mid') {
      if (next === level + 1) push('maxpool', 'MaxPool2d 2×2', channels, next);
    } else if (!HEADS.includes(block)) {
      push('upsample', 'Upsample ×2, nearest', channels, next);
    }
    level = next;
    const skip = skips.get(level);
    if (block.startsWith('dec')) {
      if (!skip) throw new Error(`modelSummary: ${block} has no encoder output at level ${level} to concatenate`);
      channels += skip.channels;
      push('concat', `Concatenate with ${skip.block}`, channels, level);
    }
    if (HEADS.includes(block)) {
      const activation = block === 'share_head' ? ' (logit of the share)' : ' + sigmoid';
      for (const [layer, params] of layers) conv(layer, params, trunk.channels, level, activation);
      continue;
    }
    // A ConvBlock: conv1 → bn1 + ReLU → conv2 → bn2 (+ ReLU, or + the shortcut, then ReLU).
    const input = channels;
    for (const [layer, params] of layers) {
      if (layer.endsWith('shortcut')) conv(layer, params, input, level, ' shortcut');
      else if (params.get('weight')!.shape.length === 4) channels = conv(layer, params, channels, level);
      else push(layer, residual && layer.endsWith('bn2') ? 'BatchNorm2d' : 'BatchNorm2d + ReLU', channels, level, size(params));
    }
    if (residual) push(`${block}.add`, `Add ${input === channels ? 'the input' : 'the shortcut'} + ReLU`, channels, level);
    if (block.startsWith('enc')) skips.set(level, { block, channels });
    trunk.channels = channels;
  }
  if (output === 'projected') push('projection', 'Project onto digit + item = 2·mixture', 1, 0);
  if (output === 'share') push('share', "Digit and item from the digit's share of the mixture", 1, 0);
  return {
    title: `separator: width ${width}, depth ${depth}, nearest upsampling${residual ? ', residual' : ''}${OUTPUT_TITLES[output ?? 'independent']} — ${model.parameterCount().toLocaleString('en')} parameters`,
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
