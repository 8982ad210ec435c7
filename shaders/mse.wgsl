// Mean squared error, loss = mean((pred - target)²), and its gradient.
//
// The forward sum needs no workgroup barriers (slow on CPU drivers): it runs in passes, and
// invocation i of a pass with G outputs sums the CHUNK values in[i], in[i + G], in[i + 2G], …
// (neighbouring invocations read neighbouring values). Passes repeat on the partial sums until one
// value is left, scaled by 1/n in the last pass. Each value goes through at most CHUNK-1 additions
// per pass, so the f32 error stays within ~CHUNK·passes ulps of the sum (all terms are ≥ 0).
// Small losses (the training step's) take one dispatch instead, squared_error_mean: one workgroup
// whose invocation t sums the values t, t + WG, t + 2·WG, …, then adds its WG sums pairwise (the
// few barriers of one workgroup cost less than the passes' dispatches).
// With TWO_PAIRS, the loss is over two (pred, target) pairs at once, as if each were concatenated
// (values 0 .. n_a - 1 from the first pair, the rest from the second): the training loss on the
// digit and the item with no concatenation passes.
struct Params { n: u32, groups: u32, scale: f32, n_a: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> tgt: array<f32>;   // the target (`target` is reserved in WGSL)
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
// sum_pass: partial sums in, fewer partial sums out.
@group(0) @binding(1) var<storage, read> partial_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial_out: array<f32>;
// Backward: the upstream gradient of the loss (one value) and the input gradients.
@group(0) @binding(3) var<storage, read> dloss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dpred: array<f32>;
@group(0) @binding(5) var<storage, read_write> dtarget: array<f32>;
#if ${TWO_PAIRS}
// The second pair: forward pred@4, target@5; backward pred@5, target@6 -> dpred@7.
@group(0) @binding(4) var<storage, read> pred_b: array<f32>;
@group(0) @binding(5) var<storage, read> tgt_b: array<f32>;
@group(0) @binding(5) var<storage, read> backward_pred_b: array<f32>;
@group(0) @binding(6) var<storage, read> backward_tgt_b: array<f32>;
@group(0) @binding(7) var<storage, read_write> dpred_b: array<f32>;
#endif

var<workgroup> partial: array<f32, ${WG}>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

/** (pred - target)² of value j (of the pairs taken together, with TWO_PAIRS). */
fn squared_error(j: u32) -> f32 {
#if ${TWO_PAIRS}
  let d = select(pred_b[j - p.n_a] - tgt_b[j - p.n_a], pred[j] - tgt[j], j < p.n_a);
#else
  let d = pred[j] - tgt[j];
#endif
  return d * d;
}

@compute @workgroup_size(${WG})
fn squared_error_sums(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.groups) { return; }
  var s = 0.0;
  for (var j = i; j < p.n; j += p.groups) {
    s += squared_error(j);
  }
  sums[i] = s * p.scale;
}

// The whole mean in one workgroup (p.groups = 1, p.scale = 1 / n).
@compute @workgroup_size(${WG})
fn squared_error_mean(@builtin(local_invocation_index) t: u32) {
  var s = 0.0;
  for (var j = t; j < p.n; j += ${WG}u) {
    s += squared_error(j);
  }
  partial[t] = s;
  for (var stride = ${WG}u / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) { partial[t] += partial[t + stride]; }
  }
  if (t == 0u) { sums[0] = partial[0] * p.scale; }
}

@compute @workgroup_size(${WG})
fn sum_pass(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.groups) { return; }
  var s = 0.0;
  for (var j = i; j < p.n; j += p.groups) {
    s += partial_in[j];
  }
  partial_out[i] = s * p.scale;
}

// dpred = dloss · 2 (pred - target) / n; here p.scale = 2 / n.
@compute @workgroup_size(${WG})
fn mse_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  dpred[i] = dloss[0] * p.scale * (pred[i] - tgt[i]);
}

// Both gradients, for when the target is itself computed: dtarget = -dpred.
@compute @workgroup_size(${WG})
fn mse_backward_both(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let g = dloss[0] * p.scale * (pred[i] - tgt[i]);
  dpred[i] = g;
  dtarget[i] = -g;
}

#if ${TWO_PAIRS}
// dpred of both pairs (constant targets), each value from its own pair.
@compute @workgroup_size(${WG})
fn mse_backward_pairs(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  if (i < p.n_a) {
    dpred[i] = dloss[0] * p.scale * (pred[i] - tgt[i]);
  } else {
    let k = i - p.n_a;
    dpred_b[k] = dloss[0] * p.scale * (backward_pred_b[k] - backward_tgt_b[k]);
  }
}
#endif
