// The Keras-style summary, on the benchmark network and on a deeper residual one: every parameter
// counted once, in the right layer, with each layer's output shape as the forward pass produces it.
import { describe, expect, it } from 'vitest';
import { BENCH_NET_CONFIG, type ModelConfig, Separator } from '../../src/model/separator.ts';
import { formatSummary, modelSummary } from '../../src/model/summary.ts';
import { useGpu } from '../helpers/gpu.ts';

describe('model summary', () => {
  const gpu = useGpu();

  it('lists the benchmark network layer by layer, 472,290 parameters in total', () => {
    const model = new Separator(gpu(), BENCH_NET_CONFIG, 0);
    const s = modelSummary(model);
    expect(s.params).toBe(472_290);
    expect(s.rows.reduce((n, r) => n + r.params, 0)).toBe(472_290);
    expect(s.stateValues).toBe(2 * 2 * (32 + 64 + 128 + 64 + 32)); // running mean and variance of ten batch norms
    const row = (name: string, from = 0) => s.rows.slice(from).find((r) => r.name === name)!;
    expect(row('mixture').outputShape).toEqual(['N', 1, 32, 32]);
    expect(row('enc1.conv1')).toEqual({ name: 'enc1.conv1', type: 'Conv2d 3×3', outputShape: ['N', 32, 32, 32], params: 1 * 32 * 9 + 32 });
    expect(row('mid.conv2')).toEqual({ name: 'mid.conv2', type: 'Conv2d 3×3', outputShape: ['N', 128, 8, 8], params: 128 * 128 * 9 + 128 });
    expect(row('mid.bn2').params).toBe(2 * 128);
    // The first decoder reads the upsampled bottleneck (128) beside enc2's output (64).
    const concat = s.rows.findIndex((r) => r.name === 'concat');
    expect(s.rows[concat - 1]).toMatchObject({ type: 'Upsample ×2, nearest', outputShape: ['N', 128, 16, 16] });
    expect(s.rows[concat]).toMatchObject({ type: 'Concatenate with enc2', outputShape: ['N', 192, 16, 16] });
    expect(row('dec2.conv1').params).toBe(192 * 64 * 9 + 64);
    expect(row('digit_head')).toEqual({ name: 'digit_head', type: 'Conv2d 1×1 + sigmoid', outputShape: ['N', 1, 32, 32], params: 33 });

    const text = formatSummary(s);
    expect(text).toMatch(/^Model: separator: width 32, depth 3, nearest upsampling — 472,290 parameters\n/);
    expect(text).toMatch(/^dec2\.conv1 \(Conv2d 3×3\) +\[N, 64, 16, 16\] +110,656$/m);
    expect(text).toMatch(/^Total params: 472,290 \(1\.80 MiB as f32\)$/m);
    expect(text.split('\n')).toHaveLength(s.rows.length + 9);
    model.destroy();
  });

  it('follows a deeper network with residual blocks and projected outputs', async () => {
    const g = gpu();
    const config: ModelConfig = { width: 4, depth: 4, residual: true, output: 'projected' };
    const model = new Separator(g, config, 1);
    const s = modelSummary(model);
    expect(s.params).toBe(model.parameterCount());
    expect(s.rows.reduce((n, r) => n + r.params, 0)).toBe(model.parameterCount());
    expect(s.rows.filter((r) => r.name === 'maxpool').map((r) => r.outputShape[2])).toEqual([16, 8, 4]);
    expect(s.rows.filter((r) => r.name === 'concat').map((r) => r.type)).toEqual([
      'Concatenate with enc3',
      'Concatenate with enc2',
      'Concatenate with enc1',
    ]);
    // enc1's residual shortcut widens 1 channel to 4; dec3 reads the upsampled 32 channels beside enc3's 16.
    expect(s.rows.find((r) => r.name === 'enc1.shortcut')).toEqual({
      name: 'enc1.shortcut',
      type: 'Conv2d 1×1 shortcut',
      outputShape: ['N', 4, 32, 32],
      params: 8,
    });
    expect(s.rows.find((r) => r.name === 'dec3.conv1')).toMatchObject({ outputShape: ['N', 16, 8, 8], params: 48 * 16 * 9 + 16 });
    expect(s.rows.at(-1)).toMatchObject({ name: 'projection', outputShape: ['N', 1, 32, 32] });
    expect(s.rows.find((r) => r.name === 'mid.conv1')!.outputShape).toEqual(['N', 32, 4, 4]);
    const mixture = g.persistent([2, 1, 32, 32], new Float32Array(2 * 32 * 32).fill(0.5));
    const out = model.forward(mixture, false);
    const heads = s.rows.filter((r) => r.name.endsWith('_head')).map((r) => ['N', ...r.outputShape.slice(1)]);
    expect(heads).toEqual([out.digit.shape, out.item.shape].map((shape) => ['N', ...shape.slice(1)]));
    g.endStep();
    mixture.buffer.destroy();
    model.destroy();
  });

  it('shows the one share head and the op that turns its logit into both sources', () => {
    const model = new Separator(gpu(), { width: 8, depth: 3, output: 'share' }, 1);
    const s = modelSummary(model);
    expect(s.title).toBe('separator: width 8, depth 3, nearest upsampling, outputs from a share — 29,937 parameters');
    expect(s.rows.filter((r) => r.name.endsWith('_head'))).toEqual([
      { name: 'share_head', type: 'Conv2d 1×1 (logit of the share)', outputShape: ['N', 1, 32, 32], params: 9 },
    ]);
    expect(s.rows.at(-1)).toMatchObject({ name: 'share', outputShape: ['N', 1, 32, 32], params: 0 });
    expect(s.rows.reduce((n, r) => n + r.params, 0)).toBe(model.parameterCount());
    model.destroy();
  });
});
