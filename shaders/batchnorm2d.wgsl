// Batch normalisation over NCHW: per channel c, y = gamma[c] · (x - mean[c]) · invstd[c] + beta[c].
// Training uses the batch's mean and biased variance over N, H, W (and updates the running stats in
// place); eval uses the running stats. Backward: dgamma = Σ dy·x̂, dbeta = Σ dy, and
//   training: dx = gamma·invstd · (dy - (dbeta + x̂·dgamma) / M)     (M = N·H·W, x̂ = (x - mean)·invstd)
//   eval:     dx = gamma·invstd · dy
//
// Per-channel sums run one workgroup per channel: each invocation adds a strided share of the
// channel's M values in a register, then one tree reduction in workgroup memory (log2(WG) barriers,
// which are slow on CPU drivers, so there are few of them). Variance is two-pass (sum, then
// centred sum of squares), stable when |mean| ≫ std.
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
// normalize: x@1, mean@2, invstd@3, gamma@4, beta@5 -> y@6.
@group(0) @binding(2) var<storage, read> saved_mean: array<f32>;
@group(0) @binding(3) var<storage, read> saved_invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
// grad_sums: x@1, dy@2, mean@3, invstd@4 -> dgamma@5, dbeta@6.
// input_grad: x@1, dy@2, mean@3, invstd@4, gamma@5, dgamma@6, dbeta@7 -> dx@8.
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> bwd_mean: array<f32>;
@group(0) @binding(4) var<storage, read> bwd_invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(5) var<storage, read> bwd_gamma: array<f32>;
@group(0) @binding(6) var<storage, read> sum_dy_xhat: array<f32>;
@group(0) @binding(7) var<storage, read> sum_dy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;

var<workgroup> scratch: array<vec2f, ${WG}>;

/** Sum over the workgroup of each invocation's v (the result is the same in every invocation). */
fn workgroup_sum(v: vec2f, t: u32) -> vec2f {
  workgroupBarrier();   // every read of scratch by an earlier sum is done before it is overwritten
  scratch[t] = v;
  for (var stride = ${WG}u / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) { scratch[t] += scratch[t + stride]; }
  }
  return workgroupUniformLoad(&scratch[0]);
}

/** Index in x of the j-th of channel ch's N·H·W values. */
fn at(j: u32, ch: u32) -> u32 {
  let sample = j / p.hw;
  return (sample * p.c + ch) * p.hw + (j - sample * p.hw);
}

@compute @workgroup_size(${WG})
fn batch_stats(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  let m = p.n * p.hw;
  var s = 0.0;
  for (var j = t; j < m; j += ${WG}u) { s += x[at(j, ch)]; }
  let mu = workgroup_sum(vec2f(s, 0.0), t).x / f32(m);
  var ss = 0.0;
  for (var j = t; j < m; j += ${WG}u) {
    let d = x[at(j, ch)] - mu;
    ss += d * d;
  }
  let centred = workgroup_sum(vec2f(ss, 0.0), t).x;
  if (t == 0u) {
    mean[ch] = mu;
    invstd[ch] = inverseSqrt(centred / f32(m) + p.eps);
    // PyTorch updates running_var with the unbiased variance.
    running_mean[ch] = (1.0 - p.momentum) * running_mean[ch] + p.momentum * mu;
    running_var[ch] = (1.0 - p.momentum) * running_var[ch] + p.momentum * centred / f32(m - 1u);
  }
}

@compute @workgroup_size(${WG})
fn running_stats(@builtin(global_invocation_id) gid: vec3u) {
  let ch = gid.x;
  if (ch >= p.c) { return; }
  eval_mean_out[ch] = eval_mean[ch];
  eval_invstd_out[ch] = inverseSqrt(eval_var[ch] + p.eps);
}

fn channel_of(i: u32) -> u32 { return (i / p.hw) % p.c; }

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn normalize(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n * p.c * p.hw) { return; }
  let ch = channel_of(i);
  y[i] = gamma[ch] * (x[i] - saved_mean[ch]) * saved_invstd[ch] + beta[ch];
}

@compute @workgroup_size(${WG})
fn grad_sums(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let ch = wg.x;
  let mu = bwd_mean[ch];
  let is = bwd_invstd[ch];
  var s = vec2f(0.0);
  for (var j = t; j < p.n * p.hw; j += ${WG}u) {
    let k = at(j, ch);
    s += vec2f(dy[k] * (x[k] - mu) * is, dy[k]);
  }
  let total = workgroup_sum(s, t);
  if (t == 0u) {
    dgamma[ch] = total.x;
    dbeta[ch] = total.y;
  }
}

@compute @workgroup_size(${WG})
fn input_grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n * p.c * p.hw) { return; }
  let ch = channel_of(i);
  let is = bwd_invstd[ch];
  var g = dy[i];
  if (p.training != 0u) {
    let xhat = (x[i] - bwd_mean[ch]) * is;
    g -= (sum_dy[ch] + xhat * sum_dy_xhat[ch]) / f32(p.n * p.hw);
  }
  dx[i] = bwd_gamma[ch] * is * g;
}
