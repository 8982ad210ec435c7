// Pixel shuffle and unshuffle (shaders/pixelshuffle.wgsl), PyTorch's F.pixel_shuffle and
// F.pixel_unshuffle: an R×R block of pixels of one channel and R² channels of one pixel trade
// places. The separator works on 2×2 blocks with them (ModelConfig.patch): a quarter of the
// positions at four times the channels, the same sums for a quarter of the cost.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Shape, Tensor } from '../gpu/tensor.ts';
import { assertRank } from './check.ts';

const WG = 256;

function checkFactor(op: string, r: number): void {
  if (!Number.isInteger(r) || r < 1) throw new Error(`${op}: the factor must be a positive integer, got ${r}`);
}

/** `wide`: the [N, C, H, W] side of the permutation, whichever way it runs. */
function dispatch(entry: 'shuffle' | 'unshuffle', src: Tensor, dst: Tensor, wide: Shape, r: number): void {
  const [, c, h, w] = wide;
  src.gpu.dispatch({
    shader: 'pixelshuffle',
    entry,
    defines: { WG, R: r },
    params: { count: dst.size, c, h, w },
    buffers: [src, dst],
    workgroups: grid1d(dst.size, WG),
  });
}

/** [N, C·r², H, W] -> [N, C, H·r, W·r]. */
export function pixelShuffleForward(x: Tensor, r: number): Tensor {
  assertRank('pixelShuffle', 'x', x, 4);
  checkFactor('pixelShuffle', r);
  const [n, c, h, w] = x.shape;
  if (c % (r * r) !== 0) {
    throw new Error(
      `pixelShuffle: x [${x.shape.join(', ')}] has ${c} channels, not a multiple of r² = ${r * r}; give it C·${r * r} channels`,
    );
  }
  const wide: Shape = [n, c / (r * r), h * r, w * r];
  const y = x.gpu.empty(wide);
  dispatch('shuffle', x, y, wide, r);
  return y;
}

/** [N, C, H, W] -> [N, C·r², H/r, W/r]. */
export function pixelUnshuffleForward(x: Tensor, r: number): Tensor {
  assertRank('pixelUnshuffle', 'x', x, 4);
  checkFactor('pixelUnshuffle', r);
  const [n, c, h, w] = x.shape;
  if (h % r !== 0 || w % r !== 0) {
    throw new Error(
      `pixelUnshuffle: x [${x.shape.join(', ')}] is ${h}×${w}, not divisible by r = ${r}; pad or crop it to a multiple of ${r}`,
    );
  }
  const y = x.gpu.empty([n, c * r * r, h / r, w / r]);
  dispatch('unshuffle', x, y, x.shape, r);
  return y;
}

// ---------------------------------------------------------------- autograd

/** Depth to space; its backward is the unshuffle of the gradient. */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  const y = pixelShuffleForward(x, r);
  return record(y, `pixelShuffle ×${r}`, [x], () => accumulateGrad(x, pixelUnshuffleForward(y.grad!, r)));
}

/** Space to depth; its backward is the shuffle of the gradient. */
export function pixelUnshuffle(x: Tensor, r: number): Tensor {
  const y = pixelUnshuffleForward(x, r);
  return record(y, `pixelUnshuffle ×${r}`, [x], () => accumulateGrad(x, pixelShuffleForward(y.grad!, r)));
}
