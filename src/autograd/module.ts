// Modules own named parameters (trained), named buffers (state such as batch-norm running
// statistics) and child modules; names are dotted paths ("enc1.conv1.weight") so checkpoints
// are readable and stable.
import type { Gpu } from '../gpu/gpu.ts';
import type { Shape, Tensor } from '../gpu/tensor.ts';

export abstract class Module {
  private readonly ownParams: [string, Tensor][] = [];
  private readonly ownBuffers: [string, Tensor][] = [];
  private readonly children: [string, Module][] = [];

  constructor(protected readonly gpu: Gpu) {}

  protected param(name: string, shape: Shape, init: Float32Array): Tensor {
    const t = this.gpu.persistent(shape, init, name);
    t.requiresGrad = true;
    this.ownParams.push([name, t]);
    return t;
  }

  protected buffer(name: string, shape: Shape, init: Float32Array): Tensor {
    const t = this.gpu.persistent(shape, init, name);
    this.ownBuffers.push([name, t]);
    return t;
  }

  protected child<M extends Module>(name: string, module: M): M {
    this.children.push([name, module]);
    return module;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    return [
      ...this.ownParams.map(([n, t]): [string, Tensor] => [prefix + n, t]),
      ...this.children.flatMap(([n, m]) => m.namedParameters(`${prefix}${n}.`)),
    ];
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    return [
      ...this.ownBuffers.map(([n, t]): [string, Tensor] => [prefix + n, t]),
      ...this.children.flatMap(([n, m]) => m.namedBuffers(`${prefix}${n}.`)),
    ];
  }

  /** This module and every module below it. */
  modules(): Module[] {
    return [this, ...this.children.flatMap(([, m]) => m.modules())];
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  parameterCount(): number {
    return this.parameters().reduce((s, t) => s + t.size, 0);
  }

  destroy(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.destroy();
  }
}
