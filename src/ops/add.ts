// Element-wise addition (residual skip connections). Its backward passes dy to both inputs.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertSameShape } from './check.ts';

const WG = 256;

export function addForward(a: Tensor, b: Tensor): Tensor {
  assertSameShape('add', a, 'a', b, 'b');
  const out = a.gpu.empty(a.shape);
  a.gpu.dispatch({
    shader: 'add',
    entry: 'add',
    defines: { WG },
    params: new Uint32Array([a.size]),
    buffers: [a, b, out],
    workgroups: grid1d(a.size, WG),
  });
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = addForward(a, b);
  return record(out, 'add', [a, b], () => {
    accumulateGrad(a, out.grad!);
    accumulateGrad(b, out.grad!);
  });
}
