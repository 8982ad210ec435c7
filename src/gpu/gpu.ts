// The GPU runtime every op runs on, the same in a browser and in Node: compiled-once pipelines,
// cached uniforms and bind groups (evicted with the buffers they bind), a buffer pool, one command
// encoder that collects a whole step's dispatches, read-back, GPU timing and error reporting.
import { type ParamsLayout, packParams, paramsLayout, type ShaderParams } from './params.ts';
import { BufferPool } from './pool.ts';
import { type Defines, specialize, withIncludes } from './shader.ts';
import { type Shape, sizeOf, Tensor } from './tensor.ts';

export interface GpuInfo {
  /** Human-readable adapter description, e.g. "llvmpipe (LLVM 19.1.7, 256 bits) (vulkan)". */
  description: string;
  vendor: string;
  architecture: string;
  hasTimestamps: boolean;
  /** The adapter has the 'subgroups' feature and the device was opened with it. */
  hasSubgroups: boolean;
  /** Lanes per subgroup the adapter may use (0 without subgroups). */
  subgroupMinSize: number;
  subgroupMaxSize: number;
}

export interface DispatchArgs {
  /** File name in shaders/ without the extension. */
  shader: string;
  entry: string;
  defines?: Defines;
  /** The uniform block at @group(0) @binding(0), by field name (e.g. `{ n: x.size, alpha: 0.1 }`),
   * laid out from the struct the shader declares. Cached by content: values that change every step
   * must instead go in a buffer written with gpu.write(). */
  params?: ShaderParams;
  /** Storage bindings, bound at 1, 2, … in this order. */
  buffers: (Tensor | GPUBuffer | GPUBufferBinding)[];
  workgroups: readonly [number, number?, number?];
}

/** A step's commands, recorded once by Gpu.record() and encoded again by Gpu.replay() with no op,
 * graph or cache lookups in between: the pipelines, bind groups and workgroup counts of its
 * dispatches, its copies, the pool buffers it took, and where it wrote the values that change from
 * step to step (the only thing a replay writes anew). */
export interface Recording {
  readonly commands: readonly RecordedCommand[];
  readonly writes: readonly { buffer: GPUBuffer; byteOffset: number; byteLength: number }[];
  readonly pooled: { buffers: GPUBuffer[]; sizes: number[] };
  /** The runtime's recordingEpoch when it was made: a buffer released since, or kernel choices made
   * anew, leave it stale. */
  readonly epoch: number;
}

/** One dispatch as encoded: what dispatch() resolves its arguments to, and what replay() encodes again. */
interface EncodedDispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  x: number;
  y: number;
  z: number;
  /** "shader.entry X×Y×Z" for profile(); empty where neither profiling nor recording asked for it. */
  label: string;
}

type RecordedCommand = EncodedDispatch | { encode: (encoder: GPUCommandEncoder) => void };

/** Dispatches one profile() can time: a query set holds at most 4096 timestamps. */
const PROFILE_MAX_DISPATCHES = 2048;

/** Largest count of workgroups along one dimension (WebGPU's default limit). */
export const MAX_WORKGROUPS = 65535;

let nextId = 1;

/** A compiled entry point: its pipeline, the uniform block it reads, and the uniform buffers made
 * for it, by the parameter values they hold. */
interface Compiled {
  pipeline: GPUComputePipeline;
  params: ParamsLayout | null;
  uniforms: Map<string, GPUBuffer>;
}

export class Gpu {
  readonly pool: BufferPool;
  /** Dispatches encoded since construction, for profiling. */
  dispatchCount = 0;
  /** Compiled pipelines with the parameter layout of their entry point, by shader, entry and defines. */
  private pipelines = new Map<string, Compiled>();
  private uniforms = new Map<string, GPUBuffer>();
  private bindGroups = new Map<string, { group: GPUBindGroup; buffers: GPUBuffer[] }>();
  /** Keys of the cached bind groups that bind each buffer, to evict them when it is released. */
  private bindGroupsOf = new Map<GPUBuffer, Set<string>>();
  private ids = new WeakMap<object, number>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private errors: string[] = [];
  private lost: string | null = null;
  /** Idle read-back buffers. */
  private staging: GPUBuffer[] = [];
  private one: Tensor | null = null;
  /** The two timestamps timeGpu() writes around the work it times. */
  private timerQueries: GPUQuerySet | null = null;
  /** Set while profile() runs: every dispatch gets a compute pass of its own with timestamps. */
  private profiler: { querySet: GPUQuerySet; labels: string[] } | null = null;
  /** Set while record() runs: the commands and writes it collects. */
  private recorder: { commands: RecordedCommand[]; writes: Recording['writes'][number][] } | null = null;
  /** Bumped whenever a recording may have become wrong (see Recording.epoch). */
  private recordingEpoch = 0;
  /** A hash of every shader source: tuned kernel choices are cached per version of the kernels. */
  readonly shaderDigest: string;

  constructor(
    readonly device: GPUDevice,
    readonly info: GpuInfo,
    private shaderSources: Record<string, string>,
  ) {
    this.pool = new BufferPool(device, (buffer) => this.release(buffer));
    this.shaderDigest = digest(
      Object.keys(shaderSources)
        .sort()
        .map((name) => `${name}\n${shaderSources[name]}`)
        .join('\n'),
    );
    device.addEventListener('uncapturederror', (event) => {
      this.errors.push((event as GPUUncapturedErrorEvent).error.message);
    });
    device.lost.then((reason) => {
      if (reason.reason === 'destroyed') return;
      this.lost = `GPU device lost (${reason.reason}): ${reason.message}. Reload the page or restart the process; if it repeats, lower the batch size.`;
      console.error(this.lost);
    });
  }

  // ---------------------------------------------------------------- tensors and buffers

  /** A transient tensor from the pool, uninitialised; it returns to the pool at endStep(). */
  empty(shape: Shape, requiresGrad = false): Tensor {
    checkShape('empty', shape);
    const buffer = this.pool.acquire(sizeOf(shape) * 4);
    return new Tensor(this, shape, buffer, 0, requiresGrad, true, this.pool.generation);
  }

  /** A transient tensor in the step's scratch buffer of `role` (BufferPool.scratch): for an op's
   * intermediate that no other op reads; the next op that asks for the same role overwrites it. */
  scratch(role: string, shape: Shape): Tensor {
    checkShape('scratch', shape);
    const buffer = this.pool.scratch(role, sizeOf(shape) * 4);
    return new Tensor(this, shape, buffer, 0, false, true, this.pool.generation);
  }

  /** A persistent tensor that owns its buffer (parameters, optimizer state, test inputs). */
  persistent(shape: Shape, data?: ArrayLike<number>, label = 'tensor'): Tensor {
    checkShape('persistent', shape);
    const size = sizeOf(shape);
    if (data && data.length !== size) {
      throw new Error(`persistent(${label}): shape [${shape}] holds ${size} values but ${data.length} were given`);
    }
    const buffer = this.device.createBuffer({
      size: Math.max(16, Math.ceil((size * 4) / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      label,
    });
    if (data) this.device.queue.writeBuffer(buffer, 0, data instanceof Float32Array ? data : new Float32Array(data));
    return new Tensor(this, shape, buffer, 0, false, false);
  }

  /** A persistent scalar 1, the gradient that backward() starts from. */
  persistentOne(): Tensor {
    return (this.one ??= this.persistent([1], [1], 'one'));
  }

  /** Writes values into a tensor (or buffer) now, in queue order with submitted work. */
  write(target: Tensor | GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    if (target instanceof Tensor) this.assertLive(target, 'write');
    const buffer = target instanceof Tensor ? target.buffer : target;
    const offset = target instanceof Tensor ? target.byteOffset + byteOffset : byteOffset;
    this.device.queue.writeBuffer(buffer, offset, data as GPUAllowSharedBufferSource);
    this.recorder?.writes.push({ buffer, byteOffset: offset, byteLength: data.byteLength });
  }

  /** Returns every transient tensor's buffer to the pool; call once a step's work is encoded. */
  endStep(): void {
    this.submit();
    this.pool.releaseAll();
  }

  /** Destroys a buffer (a persistent tensor's, or one made with device.createBuffer and bound in
   * dispatches) and drops the cached bind groups that bind it. */
  release(buffer: GPUBuffer): void {
    for (const key of this.bindGroupsOf.get(buffer) ?? []) {
      for (const other of this.bindGroups.get(key)?.buffers ?? []) {
        const keys = this.bindGroupsOf.get(other);
        if (other === buffer || !keys) continue;
        keys.delete(key);
        if (keys.size === 0) this.bindGroupsOf.delete(other);
      }
      this.bindGroups.delete(key);
    }
    this.bindGroupsOf.delete(buffer);
    buffer.destroy();
    this.recordingEpoch++;
  }

  /** Makes every recording stale, e.g. once the tuner may choose other kernels. */
  forgetRecordings(): void {
    this.recordingEpoch++;
  }

  /** Runs `fn`, encoding its work as usual, and returns its commands for replay(). The values `fn`
   * writes with write() are the ones a replay is given anew; everything else it encodes must be
   * the same each time (the same ops on the same shapes, kernel choices and buffers). */
  record(fn: () => void): Recording {
    if (this.recorder) throw new Error('gpu.record: already recording; recordings do not nest');
    const mark = this.pool.inUseCount;
    const recorder: NonNullable<Gpu['recorder']> = { commands: [], writes: [] };
    const epoch = this.recordingEpoch;
    this.recorder = recorder;
    try {
      fn();
    } finally {
      this.recorder = null;
    }
    return { ...recorder, pooled: this.pool.acquiredSince(mark), epoch };
  }

  /** Encodes a recording again: it takes the same pool buffers, writes `values()` where the recorded
   * work wrote its values (same count and sizes, in the same order) and encodes the same commands.
   * False, with nothing encoded and `values` not called, when the recording is stale or its pool
   * buffers are in use: record again then. */
  replay(recording: Recording, values: () => ArrayBufferView[]): boolean {
    if (this.lost) throw new Error(this.lost);
    if (this.recorder) throw new Error('gpu.replay: called while recording');
    if (recording.epoch !== this.recordingEpoch || !this.pool.claim(recording.pooled)) return false;
    const data = values();
    const { writes } = recording;
    if (data.length !== writes.length || data.some((d, i) => d.byteLength !== writes[i].byteLength)) {
      throw new Error(
        `gpu.replay: the recorded work wrote ${writes.length} values of [${writes.map((w) => w.byteLength)}] bytes, ` +
          `but [${data.map((d) => d.byteLength)}] were given; give replay the values the recorded function writes, in its order`,
      );
    }
    data.forEach((d, i) => {
      this.device.queue.writeBuffer(writes[i].buffer, writes[i].byteOffset, d as GPUAllowSharedBufferSource);
    });
    for (const command of recording.commands) {
      if ('encode' in command) this.encode(command.encode);
      else this.encodeDispatch(command);
    }
    return true;
  }

  /** Gives back what the runtime holds for work that is over: the pool's idle buffers, idle
   * read-back buffers, and parameter blocks no cached bind group uses. Call between models (a page
   * that trains one after another); the next step allocates what it needs again. */
  trim(): void {
    this.pool.trim();
    for (const buffer of this.staging.splice(0)) buffer.destroy();
    const bound = new Set([...this.bindGroups.values()].flatMap((entry) => entry.buffers));
    for (const [key, buffer] of this.uniforms) {
      if (bound.has(buffer)) continue;
      this.uniforms.delete(key);
      this.release(buffer);
    }
    const kept = new Set(this.uniforms.values());
    for (const { uniforms } of this.pipelines.values()) {
      for (const [key, buffer] of uniforms) if (!kept.has(buffer)) uniforms.delete(key);
    }
  }

  /** Entries of the runtime's caches and pool, to check that they come back down after trim(). */
  cacheSizes(): { bindGroups: number; uniforms: number; pooled: number; staging: number } {
    return { bindGroups: this.bindGroups.size, uniforms: this.uniforms.size, pooled: this.pool.size, staging: this.staging.length };
  }

  // ---------------------------------------------------------------- pipelines and dispatch

  pipeline(shader: string, entry: string, defines: Defines = {}): GPUComputePipeline {
    return this.compiled(shader, entry, defines).pipeline;
  }

  /** The pipeline and the parameter layout of an entry point, compiled and parsed once. */
  private compiled(shader: string, entry: string, defines: Defines = {}): Compiled {
    let key = `${shader}|${entry}`;
    // A loop rather than JSON.stringify: this runs for every dispatch.
    // Strings are quoted, as they specialise differently from the number or boolean they spell.
    for (const name in defines) {
      const value = defines[name];
      key += typeof value === 'string' ? `|${name}='${value}'` : `|${name}=${value}`;
    }
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    const file = `shaders/${shader}.wgsl`;
    const source = this.shaderSources[shader];
    if (source === undefined) {
      throw new Error(`no shader ${file}; known: ${Object.keys(this.shaderSources).join(', ')}`);
    }
    const code = specialize(file, withIncludes(file, source, this.shaderSources), defines);
    const module = this.device.createShaderModule({ code, label: file });
    module.getCompilationInfo().then((info) => {
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length) {
        const lines = errors.map((m) => `  ${file}:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
        this.errors.push(`WGSL compilation failed for ${file} (defines ${JSON.stringify(defines)}):\n${lines}`);
      }
    });
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: entry },
      label: `${shader}.${entry}`,
    });
    const compiled: Compiled = { pipeline, params: paramsLayout(file, code, entry), uniforms: new Map() };
    this.pipelines.set(key, compiled);
    return compiled;
  }

  /** Records one compute dispatch into the current step's command encoder. Every step repeats
   * most of its dispatches exactly, so the uniform block and the bind group are looked up by cheap
   * keys (the parameter values, the buffers' ids) and built only the first time. */
  dispatch(args: DispatchArgs): void {
    if (this.lost) throw new Error(this.lost);
    const compiled = this.compiled(args.shader, args.entry, args.defines);
    const { pipeline } = compiled;
    let key = `${this.id(pipeline)}`;
    let uniform: GPUBuffer | null = null;
    if (compiled.params) {
      uniform = this.uniform(compiled, args.entry, args.params ?? {});
      key += `|${this.id(uniform)}`;
    } else if (args.params) {
      throw new Error(`shaders/${args.shader}.wgsl (${args.entry}) reads no uniform at @group(0) @binding(0); pass no params`);
    }
    const { buffers } = args;
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      if (b instanceof Tensor) {
        this.assertLive(b, `${args.shader}.${args.entry} (binding ${i + 1})`);
        key += `|${this.id(b.buffer)}:${b.byteOffset}:${Math.max(4, b.byteLength)}`;
      } else if (isGpuBuffer(b)) {
        key += `|${this.id(b)}:0:-1`;
      } else {
        key += `|${this.id(b.buffer)}:${b.offset ?? 0}:${b.size ?? -1}`;
      }
    }
    const [x, y = 1, z = 1] = args.workgroups;
    if (x > MAX_WORKGROUPS || y > MAX_WORKGROUPS || z > MAX_WORKGROUPS) {
      throw new Error(`${args.shader}.${args.entry}: dispatch of ${x}×${y}×${z} workgroups exceeds ${MAX_WORKGROUPS} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.bindGroups.get(key)?.group ?? this.createBindGroup(key, pipeline, uniform, buffers);
    const label = this.profiler || this.recorder ? `${args.shader}.${args.entry} ${x}×${y}×${z}` : '';
    const command = { pipeline, bindGroup, x, y, z, label };
    this.encodeDispatch(command);
    this.recorder?.commands.push(command);
  }

  /** Encodes one resolved dispatch into the step's compute pass, or into a pass of its own with
   * timestamps while profile() runs. */
  private encodeDispatch({ pipeline, bindGroup, x, y, z, label }: EncodedDispatch): void {
    const pass = this.profiler ? this.profiledPass(label) : this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (this.profiler) this.endPass();
    this.dispatchCount++;
  }

  /** Runs a command outside compute passes (copies, clears) in encoder order. `fn` must encode
   * the same command whenever it runs: a recording (record()) calls it again. */
  encode(fn: (encoder: GPUCommandEncoder) => void): void {
    this.endPass();
    fn(this.commandEncoder());
    this.recorder?.commands.push({ encode: fn });
  }

  copy(src: Tensor, dst: Tensor): void {
    if (src.size !== dst.size) throw new Error(`copy: sizes differ, ${src} vs ${dst}`);
    this.assertLive(src, 'copy');
    this.assertLive(dst, 'copy');
    this.encode((e) => e.copyBufferToBuffer(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, src.byteLength));
  }

  /** Submits everything encoded so far as one command buffer. */
  submit(): void {
    if (this.recorder) throw new Error('gpu.submit: a recorded function must only encode (no submit, read or endStep inside record())');
    this.endPass();
    if (!this.encoder) return;
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
  }

  /** Waits for all submitted work and throws the first validation or compilation error seen. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  /** Copies a tensor back to the CPU (submits pending work first). Several reads may be in flight
   * at once: each takes its own staging buffer, so a caller can start a read and keep encoding. */
  async read(t: Tensor): Promise<Float32Array> {
    this.assertLive(t, 'read');
    const bytes = t.byteLength;
    const staging = this.stagingBuffer(bytes);
    this.encode((e) => e.copyBufferToBuffer(t.buffer, t.byteOffset, staging, 0, bytes));
    this.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      return out;
    } finally {
      this.staging.push(staging);
      this.throwErrors();
    }
  }

  /** GPU time in milliseconds of the work `fn` encodes, from timestamp queries. Null where the
   * adapter has none: the caller then uses the wall clock. */
  async timeGpu(fn: () => void): Promise<number | null> {
    if (!this.info.hasTimestamps) {
      fn();
      await this.sync();
      return null;
    }
    const querySet = (this.timerQueries ??= this.device.createQuerySet({ type: 'timestamp', count: 2 }));
    this.encode((e) => e.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0 } }).end());
    fn();
    this.encode((e) => e.beginComputePass({ timestampWrites: { querySet, endOfPassWriteIndex: 1 } }).end());
    const [begin, end] = await this.readTimestamps(querySet, 2);
    return Number(end - begin) / 1e6;
  }

  /** GPU time of each dispatch that `fn` encodes, in encoding order, labelled
   * "shader.entry X×Y×Z" (workgroup counts). Each dispatch runs in a compute pass of its own, so
   * the sum is a little above the time of the same work batched. Null where there are no timestamps. */
  async profile(fn: () => void): Promise<{ label: string; ms: number }[] | null> {
    if (!this.info.hasTimestamps) return null;
    this.submit();
    const capacity = PROFILE_MAX_DISPATCHES * 2;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: capacity });
    const profiler = (this.profiler = { querySet, labels: [] as string[] });
    try {
      fn();
    } finally {
      this.profiler = null;
    }
    const stamps = await this.readTimestamps(querySet, profiler.labels.length * 2);
    querySet.destroy();
    return profiler.labels.map((label, i) => ({ label, ms: Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6 }));
  }

  destroy(): void {
    this.pool.destroy();
    this.device.destroy();
  }

  // ---------------------------------------------------------------- internals

  /** A transient tensor is usable only in the step that made it: endStep() gives its buffer to others. */
  private assertLive(t: Tensor, use: string): void {
    if (t.transient && t.generation !== this.pool.generation) {
      throw new Error(
        `${use}: ${t} is a transient tensor of an earlier step, and gpu.endStep() has returned its buffer to the pool for other tensors; ` +
          'use it before endStep(), or copy it into a persistent tensor (gpu.persistent, gpu.copy)',
      );
    }
  }

  private throwErrors(): void {
    if (this.lost) throw new Error(this.lost);
    if (this.errors.length) {
      const all = this.errors.splice(0);
      throw new Error(`WebGPU error: ${all.join('\n')}`);
    }
  }

  private commandEncoder(): GPUCommandEncoder {
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    return (this.pass ??= this.commandEncoder().beginComputePass());
  }

  /** The first `count` timestamps of a query set, once the work encoded so far has run. */
  private async readTimestamps(querySet: GPUQuerySet, count: number): Promise<BigUint64Array> {
    const bytes = Math.max(8, count * 8);
    const resolve = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const read = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    if (count) {
      this.encode((e) => {
        e.resolveQuerySet(querySet, 0, count, resolve, 0);
        e.copyBufferToBuffer(resolve, 0, read, 0, bytes);
      });
    }
    this.submit();
    try {
      await read.mapAsync(GPUMapMode.READ);
      return new BigUint64Array(read.getMappedRange().slice(0), 0, count);
    } finally {
      [read, resolve].forEach((b) => {
        b.destroy();
      });
      this.throwErrors();
    }
  }

  private profiledPass(label: string): GPUComputePassEncoder {
    const profiler = this.profiler!;
    const i = profiler.labels.length;
    if (i >= PROFILE_MAX_DISPATCHES)
      throw new Error(`profile: more than ${PROFILE_MAX_DISPATCHES} dispatches; profile a smaller piece of work`);
    profiler.labels.push(label);
    this.endPass();
    return (this.pass = this.commandEncoder().beginComputePass({
      timestampWrites: { querySet: profiler.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    }));
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private stagingBuffer(bytes: number): GPUBuffer {
    const i = this.staging.findIndex((b) => b.size >= bytes);
    if (i >= 0) return this.staging.splice(i, 1)[0];
    return this.device.createBuffer({
      size: Math.max(1 << 12, 2 ** Math.ceil(Math.log2(bytes))),
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
      label: 'staging',
    });
  }

  /** The uniform buffer holding `params` packed for a compiled entry point. Found by the values
   * alone when the same ones came before (packParams checked them then); packed, checked and
   * looked up by their bytes otherwise. */
  private uniform(compiled: Compiled, entry: string, params: ShaderParams): GPUBuffer {
    const layout = compiled.params!;
    let key = '';
    let given = 0;
    for (const _ in params) given++;
    if (given === layout.fields.length) for (const field of layout.fields) key += `${params[field.name]};`;
    const known = given === layout.fields.length ? compiled.uniforms.get(key) : undefined;
    if (known) return known;
    const words = new Uint32Array(packParams(layout, entry, params));
    const bytesKey = words.join(',');
    let buffer = this.uniforms.get(bytesKey);
    if (!buffer) {
      buffer = this.device.createBuffer({
        size: Math.max(16, Math.ceil(words.byteLength / 16) * 16),
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: 'params',
      });
      this.device.queue.writeBuffer(buffer, 0, words);
      this.uniforms.set(bytesKey, buffer);
    }
    compiled.uniforms.set(key, buffer);
    return buffer;
  }

  private createBindGroup(
    key: string,
    pipeline: GPUComputePipeline,
    uniform: GPUBuffer | null,
    bound: DispatchArgs['buffers'],
  ): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    if (uniform) entries.push({ binding: 0, resource: { buffer: uniform } });
    bound.forEach((b, i) => {
      const resource = b instanceof Tensor ? b.binding : isGpuBuffer(b) ? { buffer: b } : b;
      entries.push({ binding: i + 1, resource });
    });
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const buffers = entries.map((e) => (e.resource as GPUBufferBinding).buffer);
    this.bindGroups.set(key, { group, buffers });
    for (const buffer of buffers) {
      let keys = this.bindGroupsOf.get(buffer);
      if (!keys) this.bindGroupsOf.set(buffer, (keys = new Set()));
      keys.add(key);
    }
    return group;
  }

  private id(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = nextId++));
    return id;
  }
}

function isGpuBuffer(b: unknown): b is GPUBuffer {
  return typeof (b as GPUBuffer).mapAsync === 'function';
}

/** FNV-1a, 32 bits, as 8 hex digits: enough to tell versions of the shader sources apart. */
function digest(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

function checkShape(op: string, shape: Shape): void {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`${op}: shape [${shape}] must be a non-empty list of positive integers`);
  }
}

/** Invocations per workgroup for a kernel that reduces with workgroup barriers, one workgroup per
 * reduction (batch norm's channels, dB's): one subgroup where the adapter reports its size (4 to
 * 64), else 64. CPU drivers run a subgroup as one SIMD batch, and a workgroup of several as that
 * many coroutines switched at every barrier: SwiftShader's batch-norm kernels ran 2.1-5.9× faster
 * with 4 lanes than with 64 (the benchmark network's shapes, batch 16), lavapipe's 1.3-2× with 8. */
export function reductionWorkgroup(info: GpuInfo): number {
  return info.subgroupMinSize >= 4 ? Math.min(info.subgroupMinSize, 64) : 64;
}

/** Workgroup counts for `n` invocations of `perGroup` each, folded into 2-D past 65535 groups;
 * shaders recover the flat index as gid.x + gid.y * num_workgroups.x * WG. */
export function grid1d(n: number, perGroup: number): [number, number, number] {
  const groups = Math.ceil(n / perGroup);
  if (groups <= MAX_WORKGROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS);
  return [Math.ceil(groups / y), y, 1];
}

/** Device limits unmix asks for: as much as the adapter allows of what big batches need. */
export function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const l = adapter.limits;
  return {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
  };
}

/** Creates the device from an adapter with the features and limits unmix uses. */
export async function openDevice(adapter: GPUAdapter, shaderSources: Record<string, string>): Promise<Gpu> {
  const hasTimestamps = adapter.features.has('timestamp-query');
  const hasSubgroups = adapter.features.has('subgroups');
  const features: GPUFeatureName[] = [];
  if (hasTimestamps) features.push('timestamp-query');
  if (hasSubgroups) features.push('subgroups' as GPUFeatureName);
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits: requiredLimits(adapter) });
  const a = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const description = [a?.description || a?.device || 'unknown adapter', a?.vendor ? `(${a.vendor})` : ''].filter(Boolean).join(' ');
  const info: GpuInfo = {
    description,
    vendor: a?.vendor ?? '',
    architecture: a?.architecture ?? '',
    hasTimestamps,
    hasSubgroups,
    subgroupMinSize: hasSubgroups ? (a?.subgroupMinSize ?? 0) : 0,
    subgroupMaxSize: hasSubgroups ? (a?.subgroupMaxSize ?? 0) : 0,
  };
  return new Gpu(device, info, shaderSources);
}
