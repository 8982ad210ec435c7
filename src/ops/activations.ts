// ReLU and sigmoid: forward kernels, backward kernels, and autograd wrappers.
import { accumulateGrad, record } from '../autograd/graph.ts';
import { grid1d } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { assertSameShape } from './check.ts';

const WG = 256;

function elementwise(entry: string, inputs: Tensor[], out: Tensor): void {
  out.gpu.dispatch({
    shader: 'activations',
    entry,
    defines: { WG },
    params: { n: out.size },
    buffers: [...inputs, out],
    workgroups: grid1d(out.size, WG),
  });
}

export function reluForward(x: Tensor): Tensor {
  const y = x.gpu.empty(x.shape);
  elementwise('relu_forward', [x], y);
  return y;
}

/** dx = dy where x > 0, else 0. */
export function reluBackward(x: Tensor, dy: Tensor): Tensor {
  assertSameShape('relu backward', x, 'x', dy, 'dy');
  const dx = x.gpu.empty(x.shape);
  elementwise('relu_backward', [x, dy], dx);
  return dx;
}

export function sigmoidForward(x: Tensor): Tensor {
  const y = x.gpu.empty(x.shape);
  elementwise('sigmoid_forward', [x], y);
  return y;
}

/** Uses the forward output: sigmoid'(x) = y (1 - y). */
export function sigmoidBackward(y: Tensor, dy: Tensor): Tensor {
  assertSameShape('sigmoid backward', y, 'y', dy, 'dy');
  const dx = y.gpu.empty(y.shape);
  elementwise('sigmoid_backward', [y, dy], dx);
  return dx;
}

// ---------------------------------------------------------------- autograd

export function relu(x: Tensor): Tensor {
  const y = reluForward(x);
  return record(y, 'relu', [x], () => accumulateGrad(x, reluBackward(x, y.grad!)));
}

export function sigmoid(x: Tensor): Tensor {
  const y = sigmoidForward(x);
  return record(y, 'sigmoid', [x], () => accumulateGrad(x, sigmoidBackward(y, y.grad!)));
}
