// Batch normalisation over NCHW: per channel c, y = gamma[c] · (x - mean[c]) · invstd[c] + beta[c].
// Training uses the batch's mean and biased variance over N, H, W (and updates the running stats in
// place); eval uses the running stats. Backward: dgamma = Σ dy·x̂, dbeta = Σ dy, and
//   training: dx = gamma·invstd · (dy - (dbeta + x̂·dgamma) / M)     (M = N·H·W, x̂ = (x - mean)·invstd)
//   eval:     dx = gamma·invstd · dy
// With RELU the output is max(y, 0), fused into the same passes: normalize clamps, and grad_sums
// masks dy by (output > 0), writes that masked gradient dz for input_grad, and sums it, so a
// conv → BN → ReLU block needs no separate activation passes.
//
// Per-channel statistics run one workgroup per channel. Each invocation walks a share of the
// channel's M values (sample by sample, positions t, t + WG, …: no integer divisions, which CPU
// drivers run one lane at a time), keeping Welford's running (count, mean, M2) in registers, and the
// workgroup merges those (Chan et al.) in one tree: a single pass over x that stays accurate when
// |mean| ≫ std, and log2(WG) barriers (slow on lavapipe, hence a small WG).
struct Params { n: u32, c: u32, hw: u32, training: u32, eps: f32, momentum: f32 }

@group(0) @binding(0) var<uniform> p: Params;
// batch_stats: x@1 -> mean@2, invstd@3; running_mean@4, running_var@5 updated in place.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;
// running_stats (eval): running_mean@1, running_var@2 -> mean@3, invstd@4.
@group(0) @binding(1) var<storage, read> eval_mean: array<f32>;
@group(0) @binding(2) var<storage, read> eval_var: array<f32>;
@group(0) @binding(3) var<storage, read_write> eval_mean_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> eval_invstd_out: array<f32>;
// The element-wise kernels see x, y, dy, dx as arrays of V: vec4f (WIDTH 4) when H·W is a multiple
// of 4 (4 values per load and store: about twice as fast on lavapipe), else f32 (WIDTH 1).
alias V = ${V};
@group(0) @binding(1) var<storage, read> xv: array<V>;
// normalize: x@1, mean@2, invstd@3, gamma@4, beta@5 -> y@6.
@group(0) @binding(2) var<storage, read> saved_mean: array<f32>;
@group(0) @binding(3) var<storage, read> saved_invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> yv: array<V>;
// grad_sums: x@1, dy@2, mean@3, invstd@4 -> dgamma@5, dbeta@6.
// grad_sums with RELU also: output@7 -> dz@8 (dy where output > 0, else 0).
// input_grad: x@1, dy@2, mean@3, invstd@4, gamma@5, dgamma@6, dbeta@7 -> dx@8.
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> dyv: array<V>;
@group(0) @binding(3) var<storage, read> bwd_mean: array<f32>;
@group(0) @binding(4) var<storage, read> bwd_invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(5) var<storage, read> bwd_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> sum_dy_xhat: array<f32>;
@group(0) @binding(7) var<storage, read> sum_dy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dxv: array<V>;
@group(0) @binding(7) var<storage, read> relu_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> dz: array<f32>;

var<workgroup> sums: array<vec2f, ${WG}>;
var<workgroup> summaries: array<vec3f, ${WG}>;

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

@compute @workgroup_size(${WG})
fn batch_stats(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  var acc = vec3f(0.0);   // Welford: (count, mean, M2) of this invocation's values
  for (var sample = 0u; sample < p.n; sample++) {
    let base = (sample * p.c + ch) * p.hw;
    for (var k = t; k < p.hw; k += ${WG}u) {
      let v = x[base + k];
      acc.x += 1.0;
      let d = v - acc.y;
      acc.y += d / acc.x;
      acc.z += d * (v - acc.y);
    }
  }
  summaries[t] = acc;
  for (var stride = ${WG}u / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) { summaries[t] = merge(summaries[t], summaries[t + stride]); }
  }
  if (t == 0u) {
    let all = summaries[0];
    let m = all.x;
    mean[ch] = all.y;
    invstd[ch] = inverseSqrt(all.z / m + p.eps);
    // PyTorch updates running_var with the unbiased variance.
    running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * all.y;
    running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * all.z / (m - 1.0);
  }
}

@compute @workgroup_size(${WG})
fn running_stats(@builtin(global_invocation_id) gid: vec3u) {
  let ch = gid.x;
  if (ch >= p.c) { return; }
  eval_mean_out[ch] = eval_mean[ch];
  eval_invstd_out[ch] = inverseSqrt(eval_var[ch] + p.eps);
}

// Element-wise kernels run on a (⌈H·W / (WG·width of V)⌉, C, ⌈N / SAMPLES⌉) grid: the channel
// comes from the grid rather than from integer divisions, and each invocation does SAMPLES samples
// of one position (of V), so its per-channel factors are loaded once. Few, busy invocations are what CPU drivers
// run fastest (lavapipe: ~10× a one-element-per-invocation 1-D grid with divisions).

@compute @workgroup_size(${WG})
fn normalize(@builtin(global_invocation_id) gid: vec3u) {
  let hw = p.hw / ${WIDTH}u;   // H·W in units of V
  if (gid.x >= hw) { return; }
  let ch = gid.y;
  let scale = gamma[ch] * saved_invstd[ch];
  let shift = beta[ch] - saved_mean[ch] * scale;
  let first = gid.z * ${SAMPLES}u;
  for (var sample = first; sample < min(first + ${SAMPLES}u, p.n); sample++) {
    let i = (sample * p.c + ch) * hw + gid.x;
#if ${RELU}
    yv[i] = max(xv[i] * scale + shift, V(0.0));
#else
    yv[i] = xv[i] * scale + shift;
#endif
  }
}

@compute @workgroup_size(${WG})
fn grad_sums(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  let mu = bwd_mean[ch];
  let is = bwd_invstd[ch];
  var s = vec2f(0.0);   // (Σ dy·x̂, Σ dy)
  for (var sample = 0u; sample < p.n; sample++) {
    let base = (sample * p.c + ch) * p.hw;
    for (var k = t; k < p.hw; k += ${WG}u) {
#if ${RELU}
      let g = select(0.0, dy[base + k], relu_out[base + k] > 0.0);
      dz[base + k] = g;
#else
      let g = dy[base + k];
#endif
      s += vec2f(g * (x[base + k] - mu) * is, g);
    }
  }
  let total = workgroup_sum(s, t);
  if (t == 0u) {
    dgamma[ch] = total.x;
    dbeta[ch] = total.y;
  }
}

@compute @workgroup_size(${WG})
fn input_grad(@builtin(global_invocation_id) gid: vec3u) {
  let hw = p.hw / ${WIDTH}u;   // H·W in units of V
  if (gid.x >= hw) { return; }
  let ch = gid.y;
  let scale = bwd_gamma[ch] * bwd_invstd[ch];
  // Training: dx = scale · (dy - mean(dy) - x̂ · mean(dy·x̂)); eval: dx = scale · dy.
  let m = f32(p.n * p.hw);
  let training = f32(p.training != 0u);
  let mean_dy = training * sum_dy[ch] / m;
  let mean_dy_xhat = training * sum_dy_xhat[ch] / m;
  let first = gid.z * ${SAMPLES}u;
  for (var sample = first; sample < min(first + ${SAMPLES}u, p.n); sample++) {
    let i = (sample * p.c + ch) * hw + gid.x;
    let xhat = (xv[i] - bwd_mean[ch]) * bwd_invstd[ch];
    dxv[i] = scale * (dyv[i] - mean_dy - xhat * mean_dy_xhat);
  }
}
