// autograd-lite: ops record how each tensor was made (inputs + a backward rule); backward() walks
// that graph in reverse topological order. Gradients that reach a tensor along several paths
// (skip connections) are summed.

import { sumTensors } from '../gpu/sum.ts';
import type { Tensor } from '../gpu/tensor.ts';

/** Links `out` to its inputs with a backward rule, when any input needs a gradient. */
export function record(out: Tensor, op: string, inputs: Tensor[], backwardRule: () => void): Tensor {
  out.op = op;
  if (inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.inputs = inputs;
    out.backwardRule = backwardRule;
  }
  return out;
}

/** Links the two outputs of one op to its inputs with one backward rule, which reads both outputs'
 * gradients at once (either may be null: an output nothing used). `second` is recorded as made
 * from `first`, so the rule, on `first`, runs after every consumer of either output has given its
 * gradient; it runs when either output has one. */
export function recordPair(first: Tensor, second: Tensor, op: string, inputs: Tensor[], backwardRule: () => void): void {
  record(first, op, inputs, backwardRule);
  record(second, op, [first], () => {});
  first.pairedOutput = second;
}

/** t's gradient slot, when it has one and no gradient yet this step: where an op should write the
 * gradient it computes for t (accumulateGrad then takes it as it is). */
export function gradientSlot(t: Tensor): Tensor | undefined {
  return t.gradSlot && !t.grad ? t.gradSlot : undefined;
}

/** Where an op should write the gradient it computes for `t`: its slot, else a new transient tensor. */
export function gradientTarget(t: Tensor): Tensor {
  return gradientSlot(t) ?? t.gpu.empty(t.shape);
}

/** Adds `g` to `t.grad`. The first contribution is taken as is; later ones make a new sum rather
 * than adding in place, because one gradient tensor may be shared (add passes dy to both inputs). */
export function accumulateGrad(t: Tensor, g: Tensor): void {
  if (!t.requiresGrad) return;
  if (g.size !== t.size) {
    throw new Error(`autograd: gradient of ${t} has ${g.size} elements, expected ${t.size} (op ${t.op})`);
  }
  if (!t.grad) t.grad = g;
  else t.grad = sumTensors(t.grad, g, `autograd (gradient of ${t})`);
}

/** Gives `t` the gradient `withPrior(prior)` returns, which must already include `prior` (t's
 * gradient so far, null for none): for a backward kernel that adds it as it writes its own
 * contribution, one dispatch instead of that kernel and a sum. */
export function accumulateGradWith(t: Tensor, withPrior: (prior: Tensor | null) => Tensor): void {
  if (!t.requiresGrad) return;
  const g = withPrior(t.grad);
  if (g.size !== t.size) {
    throw new Error(`autograd: gradient of ${t} has ${g.size} elements, expected ${t.size} (op ${t.op})`);
  }
  t.grad = g;
}

/** Reverse-mode differentiation from a scalar loss, or from `seed` as the gradient of `root`. */
export function backward(root: Tensor, seed?: Tensor): void {
  if (!root.requiresGrad) throw new Error(`backward: ${root} does not depend on any tensor that requires grad`);
  if (!seed && root.size !== 1) {
    throw new Error(`backward: ${root} is not a scalar; pass the gradient to start from as seed`);
  }
  root.grad = seed ?? root.gpu.persistentOne();
  for (const t of topologicalOrder(root).reverse()) {
    if (t.backwardRule && (t.grad || t.pairedOutput?.grad)) t.backwardRule();
  }
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: networks are deep enough that recursion depth is not a concern, but graphs
  // built by loops (many steps of an op) could be.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i < t.inputs.length) {
      top[1]++;
      const next = t.inputs[i];
      if (!seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

/** Drops the gradients of `tensors` (the parameters) so the next backward() starts from none. The
 * graph links need no clearing: they live on the step's transient tensors, dropped with the step. */
export function zeroGrads(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.grad = null;
}
