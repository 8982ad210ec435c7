// Batch normalisation over NCHW: per channel c, y = gamma[c] · (x - mean[c]) · invstd[c] + beta[c].
// Training uses the batch's mean and biased variance over N, H, W (and updates the running stats in
// place); eval uses the running stats. Backward: dgamma = Σ dy·x̂, dbeta = Σ dy, and
//   training: dx = gamma·invstd · (dy - (dbeta + x̂·dgamma) / M)     (M = N·H·W, x̂ = (x - mean)·invstd)
//   eval:     dx = gamma·invstd · dy
// With RELU the output is max(y, 0), fused into the same passes: the backward masks dy by
// (output > 0), so a conv → BN → ReLU block needs no activation passes.
// The statistics a forward used, saved for its backward, are one [4, C] buffer: means, inverse
// standard deviations, and the affine map y = x·scale + shift it applied (scale = gamma·invstd,
// shift = beta - mean·scale). grad recomputes the ReLU's mask from x and that map by the
// forward's own expression (x·scale + shift > 0), rather than reading its output: one tensor fewer to
// read, twice; input_grad (eval's dx alone) reads the output.
//
// Training runs one workgroup per channel, one dispatch each way: train_forward takes the channel's
// statistics, then normalises it; grad sums (Σ dy·x̂, Σ dy), then writes dx. That halves the
// dispatches of a two-pass scheme (statistics, then an element-wise grid) at the same reads: CPU
// drivers run a few busy workgroups best, and on a GPU the dispatches are the step.
//
// A workgroup sweeps its channel's N planes with every lane busy, even where a plane holds fewer
// than WG values (the network's deepest stage: 16 vec4s), and without integer divisions in its
// loops (CPU drivers run those one lane at a time). The statistics keep Welford's running (count,
// mean, M2) in registers, per component of V, and the workgroup merges those (Chan et al.) in one
// tree: a single pass over x that stays accurate when |mean| ≫ std, and log2(WG) barriers (WG is one
// subgroup where the adapter says its size: CPU drivers switch coroutines at a barrier between
// subgroups, src/gpu/gpu.ts reductionWorkgroup). With PADDED, the pass that writes the output (y or
// dx) also writes it zero-padded as the conv next to it reads it, each value computed once (write_padded_rows).
struct Params {
  n: u32, c: u32, hw: u32, training: u32, eps: f32, momentum: f32,
#if ${PADDED}
  // The zero-padded copy: x's row length, the padded plane's rows, row length in vec4 and size in
  // vec4, and where pixel (0, 0) lands (inside the padded plane: the copy holds every pixel).
  w: u32, ph: u32, pw4: u32, cells: u32, top: i32, left: i32,
#endif
}

@group(0) @binding(0) var<uniform> p: Params;
// x, y, dy, dx and the ReLU's output are arrays of V: vec4f (WIDTH 4) when H·W is a multiple of 4
// (4 values per load and store: about twice as fast on lavapipe), else f32 (WIDTH 1).
alias V = ${V};
// Every entry point binds x@1 (input_grad: dy), the [4, C] statistics @2 and its output @3 (y or
// dx), then with PADDED the output zero-padded @4, then its own inputs from IN = 4 or 5:
//   train_forward, normalize: gamma, beta, running_mean, running_var (train_forward updates those);
//   grad: dy, dgamma, dbeta;   input_grad: with RELU the forward's output.
// (WGSL rejects a module where one entry point uses two variables of one binding, even an entry
// point not compiled for: hence one place for each shared variable.)
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> output: array<V>;
#if ${PADDED}
@group(0) @binding(4) var<storage, read_write> padded_out: array<vec4f>;
#endif
@group(0) @binding(${IN}) var<storage, read> gamma: array<f32>;
@group(0) @binding(${IN + 1}) var<storage, read> beta: array<f32>;
@group(0) @binding(${IN + 2}) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(${IN + 3}) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(${IN}) var<storage, read> dy: array<V>;
@group(0) @binding(${IN + 1}) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(${IN + 2}) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(1) var<storage, read> eval_dy: array<V>;
@group(0) @binding(4) var<storage, read> eval_relu_out: array<V>;

var<workgroup> sums: array<vec2f, ${WG}>;
var<workgroup> summaries: array<vec3f, ${WG}>;
var<workgroup> channel: vec2f;

/** Sum over the workgroup of each invocation's v (returned to every invocation). */
fn workgroup_sum(v: vec2f, t: u32) -> vec2f {
  sums[t] = v;
  for (var stride = ${WG}u / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) { sums[t] += sums[t + stride]; }
  }
  return workgroupUniformLoad(&sums[0]);
}

/** Merges two (count, mean, M2) summaries of disjoint sets of values, M2 = Σ (v - mean)². */
fn merge(a: vec3f, b: vec3f) -> vec3f {
  let n = a.x + b.x;
  if (n == 0.0) { return a; }
  let delta = b.y - a.y;
  return vec3f(n, a.y + delta * b.x / n, a.z + b.z + delta * delta * a.x * b.x / n);
}

/** The sum of v's components. */
fn total(v: V) -> f32 {
#if ${VEC4}
  return v.x + v.y + v.z + v.w;
#else
  return v;
#endif
}

/** One summary of the components' Welford states, each of `count` values. */
fn summary(count: f32, mean: V, m2: V) -> vec3f {
#if ${VEC4}
  return merge(merge(vec3f(count, mean.x, m2.x), vec3f(count, mean.y, m2.y)),
               merge(vec3f(count, mean.z, m2.z), vec3f(count, mean.w, m2.w)));
#else
  return vec3f(count, mean, m2);
#endif
}

/** Per-channel H·W in units of V, and where sample `sample` of channel `ch` starts. */
fn plane() -> u32 { return p.hw / ${WIDTH}u; }
fn plane_base(sample: u32, ch: u32) -> u32 { return (sample * p.c + ch) * plane(); }

// A sweep over a channel's N planes of `len` values (V) each: invocation t takes, in samples
// first.x, first.x + per, …, values first.y, first.y + WG, … of the plane. Where a plane holds
// fewer than WG values, the workgroup sweeps per = WG / len planes at once, all lanes busy.
/** Samples the workgroup sweeps at once. */
fn sweep_samples(len: u32) -> u32 { return max(${WG}u / len, 1u); }
/** Invocation t's first sample and value (sample N: it has none). */
fn sweep_start(t: u32, len: u32) -> vec2u {
  let per = sweep_samples(len);
  if (per == 1u) { return vec2u(0u, t); }
  if (t >= per * len) { return vec2u(p.n, 0u); }
  return vec2u(t / len, t % len);
}

// A walk over a channel's N planes of `len` rows each, as one sequence: invocation t takes rows
// t, t + WG, … of it, at (sample, row) stepped without integer divisions.
/** Invocation t's first place: row t of the sequence. */
fn walk_start(t: u32, len: u32) -> vec2u { return vec2u(t / len, t % len); }
/** The place WG rows further on. */
fn walk_next(at: vec2u, len: u32) -> vec2u {
  var next = at + vec2u(${WG}u / len, ${WG}u % len);
  if (next.y >= len) { next += vec2u(1u, 0u); next.y -= len; }
  return next;
}

/** Channel ch's affine map (scale, shift) for statistics (mean, invstd). */
fn affine_of(ch: u32, mean: f32, invstd: f32) -> vec2f {
  let scale = gamma[ch] * invstd;
  return vec2f(scale, beta[ch] - mean * scale);
}

/** Channel ch's statistics and affine map, into the [4, C] statistics. */
fn save_stats(ch: u32, mean: f32, invstd: f32, map: vec2f) {
  stats[ch] = mean;
  stats[p.c + ch] = invstd;
  stats[2u * p.c + ch] = map.x;
  stats[3u * p.c + ch] = map.y;
}

// The per-channel terms of what an entry point writes at x's index i, set before it walks:
// y = x·map.x + map.y (then the ReLU); dx = dx_terms.x·g + dx_terms.y·(x - dx_terms.w) + dx_terms.z,
// g being dy masked by the ReLU.
var<private> map: vec2f;
var<private> dx_terms: vec4f;

/** y at i: x·scale + shift, and the ReLU. */
fn y_at(i: u32) -> V {
#if ${RELU}
  return max(x[i] * map.x + map.y, V(0.0));
#else
  return x[i] * map.x + map.y;
#endif
}

// grad is compiled with DX, train_forward (and the eval kernels) without: each entry point's
// output_at is what write_output walks with.
#if ${DX}
/** dy at i, masked by the ReLU's output (recomputed from x) with RELU. */
fn grad_out(i: u32) -> V {
#if ${RELU}
  return select(V(0.0), dy[i], x[i] * map.x + map.y > V(0.0));
#else
  return dy[i];
#endif
}

// grad: the parameter gradients (Σ dy·x̂, Σ dy) of one channel per workgroup, then dx over the
// same channel: training dx = gamma·invstd · (dy - mean(dy) - x̂ · mean(dy·x̂)), eval gamma·invstd · dy.
@compute @workgroup_size(${WG})
fn grad(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  let mu = stats[ch];
  let is = stats[p.c + ch];
  map = vec2f(stats[2u * p.c + ch], stats[3u * p.c + ch]);
  var partial = vec2f(0.0);
  let per = sweep_samples(plane());
  let first = sweep_start(t, plane());
  for (var sample = first.x; sample < p.n; sample += per) {
    let base = plane_base(sample, ch);
    for (var k = first.y; k < plane(); k += ${WG}u) {
      let g = grad_out(base + k);
      partial += vec2f(total(g * (x[base + k] - mu) * is), total(g));
    }
  }
  let s = workgroup_sum(partial, t);
  if (t == 0u) {
    dgamma[ch] = s.x;
    dbeta[ch] = s.y;
  }
  // dx = scale · (g - mean_dy - (x - mu)·is·mean_dy_xhat); in eval the means' terms drop out.
  let means = f32(p.training) / f32(p.n * p.hw);
  dx_terms = vec4f(map.x, -map.x * is * s.x * means, -map.x * s.y * means, mu);
  write_output(ch, t);
}

/** dx at x's index i. */
fn output_at(i: u32) -> V {
  return dx_terms.x * grad_out(i) + dx_terms.y * (x[i] - dx_terms.w) + dx_terms.z;
}
#else
@compute @workgroup_size(${WG})
fn train_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  var count = 0.0;        // Welford, per component of V: values seen, their mean and M2
  var mu = V(0.0);
  var m2 = V(0.0);
  let per = sweep_samples(plane());
  let first = sweep_start(t, plane());
  for (var sample = first.x; sample < p.n; sample += per) {
    let base = plane_base(sample, ch);
    for (var k = first.y; k < plane(); k += ${WG}u) {
      let v = x[base + k];
      count += 1.0;
      let d = v - mu;
      mu += d / count;
      m2 += d * (v - mu);
    }
  }
  summaries[t] = summary(count, mu, m2);
  for (var stride = ${WG}u / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) { summaries[t] = merge(summaries[t], summaries[t + stride]); }
  }
  if (t == 0u) {
    let all = summaries[0];
    let m = all.x;
    let invstd = inverseSqrt(all.z / m + p.eps);
    channel = affine_of(ch, all.y, invstd);
    save_stats(ch, all.y, invstd, channel);
    // PyTorch updates running_var with the unbiased variance.
    running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * all.y;
    running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * all.z / (m - 1.0);
  }
  map = workgroupUniformLoad(&channel);
  write_output(ch, t);
}

/** y at x's index i. */
fn output_at(i: u32) -> V { return y_at(i); }
#endif

/** Writes channel ch's output (y or dx), and with PADDED its zero-padded copy in the same walk. */
fn write_output(ch: u32, t: u32) {
#if ${PADDED}
  write_padded_rows(ch, t);
#else
  let per = sweep_samples(plane());
  let first = sweep_start(t, plane());
  for (var sample = first.x; sample < p.n; sample += per) {
    let base = plane_base(sample, ch);
    for (var k = first.y; k < plane(); k += ${WG}u) { output[base + k] = output_at(base + k); }
  }
#endif
}

#if ${PADDED}
/** The padded cell whose first `s` values are prev's last ones, then cur's first 4 - s. */
fn shifted(prev: vec4f, cur: vec4f, s: i32) -> vec4f {
  switch s {
    case 1 { return vec4f(prev.w, cur.xyz); }
    case 2 { return vec4f(prev.zw, cur.xy); }
    case 3 { return vec4f(prev.yzw, cur.x); }
    default { return cur; }
  }
}

// The output and its zero-padded copy, as the conv next to this batch norm reads it, in one walk:
// each invocation takes whole padded rows (t, t + WG, … of the channel's N·ph) and goes along one,
// cell by cell, computing each of its source row's vec4s once; a cell holds the end of the vec4
// before and the start of this one when `left` is not a multiple of 4. Only for rows of whole vec4s
// (W a multiple of 4) held whole by the padded plane (src/ops/batchnorm2d.ts, paddedRowsFit).
fn write_padded_rows(ch: u32, t: u32) {
  let w4 = i32(p.w / 4u);
  let h = i32(p.hw / p.w);
  let first = p.left / 4;          // the cell of source column 0
  let s = p.left % 4;
  for (var at = walk_start(t, p.ph); at.x < p.n; at = walk_next(at, p.ph)) {
    let row = i32(at.y) - p.top;
    let inside = row >= 0 && row < h;
    let source = plane_base(at.x, ch) + u32(max(row, 0) * w4);
    let cells = (at.x * p.c + ch) * p.cells + at.y * p.pw4;
    var prev = vec4f(0.0);
    for (var cell = 0; cell < i32(p.pw4); cell++) {
      let k = cell - first;
      var cur = vec4f(0.0);
      if (inside && k >= 0 && k < w4) {
        cur = output_at(source + u32(k));
        output[source + u32(k)] = cur;
      }
      padded_out[cells + u32(cell)] = shifted(prev, cur, s);
      prev = cur;
    }
  }
}
#endif

// The eval element-wise kernels run on a (⌈H·W / (WG·WIDTH)⌉, C, ⌈N / SAMPLES⌉) grid: the channel
// comes from the grid rather than from integer divisions, and each invocation does SAMPLES samples
// of one position (of V), so its per-channel factors are loaded once.

// normalize: y with the running statistics; the grid's first invocation of each channel saves them.
@compute @workgroup_size(${WG})
fn normalize(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= plane()) { return; }
  let ch = gid.y;
  let invstd = inverseSqrt(running_var[ch] + p.eps);
  map = affine_of(ch, running_mean[ch], invstd);
  if (gid.x == 0u && gid.z == 0u) { save_stats(ch, running_mean[ch], invstd, map); }
  let first = gid.z * ${SAMPLES}u;
  for (var sample = first; sample < min(first + ${SAMPLES}u, p.n); sample++) {
    let i = plane_base(sample, ch) + gid.x;
    output[i] = y_at(i);
  }
}

@compute @workgroup_size(${WG})
fn input_grad(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= plane()) { return; }
  let ch = gid.y;
  // Eval: the statistics are constants, dx = gamma·invstd · dy.
  let scale = stats[2u * p.c + ch];
  let first = gid.z * ${SAMPLES}u;
  for (var sample = first; sample < min(first + ${SAMPLES}u, p.n); sample++) {
    let i = plane_base(sample, ch) + gid.x;
#if ${RELU}
    output[i] = select(V(0.0), scale * eval_dy[i], eval_relu_out[i] > V(0.0));
#else
    output[i] = scale * eval_dy[i];
#endif
  }
}
