// Element-wise addition (residual skip connections). Its backward passes dy to both inputs.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { sumTensors } from '../gpu/sum.ts';
import type { Tensor } from '../gpu/tensor.ts';

export function add(a: Tensor, b: Tensor): Tensor {
  const out = sumTensors(a, b, 'add');
  return record(out, 'add', [a, b], () => {
    accumulateGrad(a, out.grad!);
    accumulateGrad(b, out.grad!);
  });
}
