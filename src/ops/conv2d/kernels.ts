// Every conv2d kernel variant, by pass. The first of each pass is its default: what runs before the
// tuner has measured a shape class, with `--conv default`, and what a challenger must beat by the
// tuner's margin. Adding a variant: its shader, its file here, one line below; the tests and the
// benchmarks then check and time it (test/ops/conv2d.test.ts, bench/conv2d-variants.ts).
import type { TuneMode } from '../../gpu/tuner.ts';
import { DIRECT_KERNELS } from './direct.ts';
import { GEMM_KERNELS } from './gemm.ts';
import type { AnyConvKernel, ConvKernel, ConvPass } from './geometry.ts';
import { PACKED_KERNELS } from './packed.ts';
import { SUBGROUP_KERNELS } from './subgroup.ts';
import { WINOGRAD_KERNELS } from './winograd.ts';

const ALL: AnyConvKernel[] = [...PACKED_KERNELS, ...DIRECT_KERNELS, ...SUBGROUP_KERNELS, ...GEMM_KERNELS, ...WINOGRAD_KERNELS];

export const CONV_KERNELS: { [P in ConvPass]: ConvKernel<P>[] } = {
  forward: ALL.filter((k): k is ConvKernel<'forward'> => k.pass === 'forward'),
  input: ALL.filter((k): k is ConvKernel<'input'> => k.pass === 'input'),
  weight: ALL.filter((k): k is ConvKernel<'weight'> => k.pass === 'weight'),
};

/** Every kernel name, for `--conv NAME`. */
export const CONV_KERNEL_NAMES = [...new Set(ALL.map((k) => k.name))];

/** The tuner's mode for a --conv value (or the page's ?conv=): auto (measure, cached), retune
 * (measure again), default, or a kernel name to force; null for anything else. */
export function convTuneMode(value: string): TuneMode | null {
  if (value === 'auto') return { kind: 'tune' };
  if (value === 'retune') return { kind: 'retune' };
  if (value === 'default') return { kind: 'default' };
  return CONV_KERNEL_NAMES.includes(value) ? { kind: 'force', kernel: value } : null;
}
