// Shape checks shared by every op: each error names the op, the tensors and their shapes, and is
// thrown before anything is dispatched.
import { type Shape, shapeString as show, type Tensor } from '../gpu/tensor.ts';

export function assertRank(op: string, name: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) {
    throw new Error(`${op}: ${name} must have rank ${rank} (${rank === 4 ? 'N, C, H, W' : `${rank} dims`}), got shape ${show(t.shape)}`);
  }
}

export function assertSameShape(op: string, a: Tensor, aName: string, b: Tensor, bName: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: ${aName} ${show(a.shape)} and ${bName} ${show(b.shape)} must have the same shape`);
  }
}

export function assertShape(op: string, name: string, t: Tensor, expected: Shape): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${op}: ${name} must have shape ${show(expected)}, got ${show(t.shape)}`);
  }
}
