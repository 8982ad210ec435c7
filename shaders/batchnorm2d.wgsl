// Batch normalisation over NCHW: per channel c, y = gamma[c] · (x - mean[c]) · invstd[c] + beta[c].
// Training uses the batch's mean and biased variance over N, H, W (and updates the running stats in
// place); eval uses the running stats. Backward: dgamma = Σ dy·x̂, dbeta = Σ dy, and
//   training: dx = gamma·invstd · (dy - (dbeta + x̂·dgamma) / M)     (M = N·H·W, x̂ = (x - mean)·invstd)
//   eval:     dx = gamma·invstd · dy
// With RELU the output is max(y, 0), fused into the same passes: the backward masks dy by
// (output > 0) wherever it reads it, so a conv → BN → ReLU block needs no activation passes.
// The statistics a forward used, saved for its backward, are one [2, C] buffer: means, then invstds.
//
// Training runs one workgroup per channel, one dispatch each way: train_forward takes the channel's
// statistics, then normalises it; grad sums (Σ dy·x̂, Σ dy), then writes dx. That halves the
// dispatches of a two-pass scheme (statistics, then an element-wise grid) at the same reads: CPU
// drivers run a few busy workgroups best, and on a GPU the dispatches are the step.
//
// Per-channel statistics: each invocation walks a share of the channel's M values (sample by
// sample, positions t, t + WG, …: no integer divisions, which CPU drivers run one lane at a time),
// keeping Welford's running (count, mean, M2) in registers, per component of V, and the workgroup
// merges those (Chan et al.) in one tree: a single pass over x that stays accurate when
// |mean| ≫ std, and log2(WG) barriers (slow on lavapipe, hence a small WG).
struct Params {
  n: u32, c: u32, hw: u32, training: u32, eps: f32, momentum: f32,
#if ${PADDED}
  // grad's zero-padded copy of dx: x's row length, the padded plane's rows, row length in vec4 and
  // size in vec4, where dx's pixel (0, 0) lands (may be negative: cropped)
  w: u32, ph: u32, pw4: u32, cells: u32, top: i32, left: i32,
#endif
}

@group(0) @binding(0) var<uniform> p: Params;
// x, y, dy, dx and the ReLU's output are arrays of V: vec4f (WIDTH 4) when H·W is a multiple of 4
// (4 values per load and store: about twice as fast on lavapipe), else f32 (WIDTH 1).
alias V = ${V};
// train_forward: x@1 -> stats@2; running_mean@3, running_var@4 updated in place; gamma@5, beta@6 -> y@7;
// with PADDED also y zero-padded -> padded_out@8 (as the conv after it reads its input).
// normalize (eval): x@1, stats@2, gamma@3, beta@4 -> y@5.
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> beta: array<f32>;
// train_forward's y, and grad's dx: one variable, so that write_padded reads either.
@group(0) @binding(7) var<storage, read_write> output: array<V>;
@group(0) @binding(3) var<storage, read> normalize_gamma: array<f32>;
@group(0) @binding(4) var<storage, read> normalize_beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> normalize_y: array<V>;
// running_stats (eval): running_mean@1, running_var@2 -> stats@3.
@group(0) @binding(1) var<storage, read> eval_mean: array<f32>;
@group(0) @binding(2) var<storage, read> eval_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> eval_stats: array<f32>;
// grad: x@1, stats@2, dy@3 -> dgamma@4, dbeta@5; with DX also gamma@6 -> dx@7; with RELU the
// output at RELU_AT; with PADDED (and DX) last, dx zero-padded -> padded_out@PADDED_AT.
@group(0) @binding(3) var<storage, read> dy: array<V>;
@group(0) @binding(4) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dbeta: array<f32>;
#if ${DX}
@group(0) @binding(6) var<storage, read> grad_gamma: array<f32>;
#endif
#if ${RELU}
@group(0) @binding(${RELU_AT}) var<storage, read> relu_out: array<V>;
#endif
#if ${PADDED}
// train_forward's y or grad's dx, zero-padded: after y (8), or after dx and the ReLU's output.
@group(0) @binding(${PADDED_AT}) var<storage, read_write> padded_out: array<vec4f>;
// 1, or the stride of the conv whose input gradient reads padded_dx: D - 1 zeros between pixels.
const D: i32 = ${D};
#endif
// input_grad (eval): dy@1, stats@2, gamma@3 -> dx@4; with RELU, output@5.
@group(0) @binding(1) var<storage, read> eval_dy: array<V>;
@group(0) @binding(3) var<storage, read> eval_gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> eval_dx: array<V>;
@group(0) @binding(5) var<storage, read> eval_relu_out: array<V>;

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

@compute @workgroup_size(${WG})
fn train_forward(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  var count = 0.0;        // Welford, per component of V: values seen, their mean and M2
  var mu = V(0.0);
  var m2 = V(0.0);
  for (var sample = 0u; sample < p.n; sample++) {
    let base = plane_base(sample, ch);
    for (var k = t; k < plane(); k += ${WG}u) {
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
    stats[ch] = all.y;
    stats[p.c + ch] = invstd;
    channel = vec2f(all.y, invstd);
    // PyTorch updates running_var with the unbiased variance.
    running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * all.y;
    running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * all.z / (m - 1.0);
  }
  let mean_invstd = workgroupUniformLoad(&channel);
  let scale = gamma[ch] * mean_invstd.y;
  let shift = beta[ch] - mean_invstd.x * scale;
  for (var sample = 0u; sample < p.n; sample++) {
    let base = plane_base(sample, ch);
    for (var k = t; k < plane(); k += ${WG}u) {
#if ${RELU}
      output[base + k] = max(x[base + k] * scale + shift, V(0.0));
#else
      output[base + k] = x[base + k] * scale + shift;
#endif
    }
  }
#if ${PADDED}
  // y as the conv after this batch norm reads it.
  write_padded(ch, t);
#endif
}

@compute @workgroup_size(${WG})
fn running_stats(@builtin(global_invocation_id) gid: vec3u) {
  let ch = gid.x;
  if (ch >= p.c) { return; }
  eval_stats[ch] = eval_mean[ch];
  eval_stats[p.c + ch] = inverseSqrt(eval_var[ch] + p.eps);
}

// The eval element-wise kernels run on a (⌈H·W / (WG·WIDTH)⌉, C, ⌈N / SAMPLES⌉) grid: the channel
// comes from the grid rather than from integer divisions, and each invocation does SAMPLES samples
// of one position (of V), so its per-channel factors are loaded once.

@compute @workgroup_size(${WG})
fn normalize(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= plane()) { return; }
  let ch = gid.y;
  let scale = normalize_gamma[ch] * stats[p.c + ch];
  let shift = normalize_beta[ch] - stats[ch] * scale;
  let first = gid.z * ${SAMPLES}u;
  for (var sample = first; sample < min(first + ${SAMPLES}u, p.n); sample++) {
    let i = plane_base(sample, ch) + gid.x;
#if ${RELU}
    normalize_y[i] = max(x[i] * scale + shift, V(0.0));
#else
    normalize_y[i] = x[i] * scale + shift;
#endif
  }
}

/** dy, masked by the ReLU's output with RELU. */
fn grad_out(i: u32) -> V {
#if ${RELU}
  return select(V(0.0), dy[i], relu_out[i] > V(0.0));
#else
  return dy[i];
#endif
}

// grad: the parameter gradients (Σ dy·x̂, Σ dy) of one channel per workgroup and, with DX (training),
// then dx = gamma·invstd · (dy - mean(dy) - x̂ · mean(dy·x̂)) over the same channel.
@compute @workgroup_size(${WG})
fn grad(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  let mu = stats[ch];
  let is = stats[p.c + ch];
  var partial = vec2f(0.0);
  for (var sample = 0u; sample < p.n; sample++) {
    let base = plane_base(sample, ch);
    for (var k = t; k < plane(); k += ${WG}u) {
      let g = grad_out(base + k);
      partial += vec2f(total(g * (x[base + k] - mu) * is), total(g));
    }
  }
  let s = workgroup_sum(partial, t);
  if (t == 0u) {
    dgamma[ch] = s.x;
    dbeta[ch] = s.y;
  }
#if ${DX}
  let scale = grad_gamma[ch] * is;
  let m = f32(p.n * p.hw);
  let mean_dy = s.y / m;
  let mean_dy_xhat = s.x / m;
  for (var sample = 0u; sample < p.n; sample++) {
    let base = plane_base(sample, ch);
    for (var k = t; k < plane(); k += ${WG}u) {
      let xhat = (x[base + k] - mu) * is;
      output[base + k] = scale * (grad_out(base + k) - mean_dy - xhat * mean_dy_xhat);   // dx
    }
  }
#endif
#if ${PADDED}
  // dx as the conv before this batch norm reads it for its input gradient.
  write_padded(ch, t);
#endif
}

#if ${PADDED}
#include padded_cells

// Element i of the output being padded (train_forward's y, grad's dx), as a scalar.
fn output_value(i: u32) -> f32 {
  let v = output[i / ${WIDTH}u];
#if ${VEC4}
  return v[i % 4u];
#else
  return v;
#endif
}

// The pad pass of conv2d_layout.wgsl over channel ch's planes of the output, which this workgroup
// has just written (read back after the barrier): no dispatch, and no second read of the inputs
// that made it, of its own.
fn write_padded(ch: u32, t: u32) {
  storageBarrier();
  for (var cell = t; cell < p.cells; cell += ${WG}u) {
    let source = padded_cell_sources(cell, p.pw4, p.top, p.left, p.hw / p.w, p.w, D);
    let off = vec4u(max(source, vec4i(0)));
    for (var sample = 0u; sample < p.n; sample++) {
      let base = (sample * p.c + ch) * p.hw;
      let v = vec4f(output_value(base + off.x), output_value(base + off.y), output_value(base + off.z), output_value(base + off.w));
      padded_out[(sample * p.c + ch) * p.cells + cell] = select(vec4f(0.0), v, source >= vec4i(0));
    }
  }
}
#endif

@compute @workgroup_size(${WG})
fn input_grad(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x >= plane()) { return; }
  let ch = gid.y;
  // Eval: the statistics are constants, dx = gamma·invstd · dy.
  let scale = eval_gamma[ch] * stats[p.c + ch];
  let first = gid.z * ${SAMPLES}u;
  for (var sample = first; sample < min(first + ${SAMPLES}u, p.n); sample++) {
    let i = plane_base(sample, ch) + gid.x;
#if ${RELU}
    eval_dx[i] = select(V(0.0), scale * eval_dy[i], eval_relu_out[i] > V(0.0));
#else
    eval_dx[i] = scale * eval_dy[i];
#endif
  }
}
