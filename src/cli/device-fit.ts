// Whether the device can hold a training config, estimated before any work: WebGPU binds no buffer
// larger than maxStorageBufferBindingSize (128 MiB on lavapipe), and an over-large one makes Dawn
// print a page of validation errors instead of one line that says what to change.
import type { Gpu } from '../gpu/gpu.ts';
import type { TrainConfig } from '../train/trainer.ts';
import { UserError } from '../util/user-error.ts';

const SIZE = 32;
const MiB = 2 ** 20;

/** The largest weight and the largest activation a config's network holds, in float32 values: the
 * bottom block's second 3×3 convolution, and a decoder's concatenation of a level's channels with
 * the level below's (the widest tensor of each level). */
export function largestTensors(c: TrainConfig): { weight: number; activation: number } {
  const { width, depth } = c.model;
  const channels = (level: number) => width * 2 ** level;
  const bottom = channels(depth - 1);
  let activation = 0;
  for (let level = 0; level < depth; level++) {
    const side = SIZE / 2 ** level;
    const concat = level < depth - 1 ? channels(level) + channels(level + 1) : channels(level);
    activation = Math.max(activation, c.batch * concat * side * side);
  }
  return { weight: bottom * bottom * 9, activation };
}

export function checkDeviceFits(gpu: Gpu, c: TrainConfig): void {
  const limit = Math.min(gpu.device.limits.maxStorageBufferBindingSize, gpu.device.limits.maxBufferSize);
  const { weight, activation } = largestTensors(c);
  const mib = (values: number) => `${((values * 4) / MiB).toFixed(0)} MiB`;
  if (weight * 4 > limit)
    throw new UserError(
      `--width ${c.model.width} --depth ${c.model.depth} needs a ${mib(weight)} weight, over this device's ${mib(limit / 4)} buffer limit`,
      'lower --width or --depth',
    );
  if (activation * 4 > limit)
    throw new UserError(
      `--batch ${c.batch} at --width ${c.model.width} needs a ${mib(activation)} activation, over this device's ${mib(limit / 4)} buffer limit`,
      `lower --batch (to ${Math.max(1, Math.floor((c.batch * limit) / (activation * 4)))} or less) or --width`,
    );
}
