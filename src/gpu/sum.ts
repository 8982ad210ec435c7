// The element-wise sum kernel (shaders/add.wgsl). It sits in the runtime, below autograd, because
// two layers need it: the add op (src/ops/add.ts) and autograd's gradient accumulation.
import { grid1d } from './gpu.ts';
import { shapeString, type Tensor } from './tensor.ts';

const WG = 256;

/** a + b for tensors of one shape, into a new transient tensor. `op` names the caller in errors. */
export function sumTensors(a: Tensor, b: Tensor, op = 'add'): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: a ${shapeString(a.shape)} and b ${shapeString(b.shape)} must have the same shape`);
  }
  const out = a.gpu.empty(a.shape);
  a.gpu.dispatch({
    shader: 'add',
    entry: 'add',
    defines: { WG },
    params: { n: a.size },
    buffers: [a, b, out],
    workgroups: grid1d(a.size, WG),
  });
  return out;
}
