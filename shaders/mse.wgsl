// Mean squared error, loss = mean((pred - target)²), and its gradient.
//
// The forward sum needs no workgroup barriers (slow on CPU drivers): it runs in passes, and
// invocation i of a pass with G outputs sums the CHUNK values in[i], in[i + G], in[i + 2G], …
// (neighbouring invocations read neighbouring values). Passes repeat on the partial sums until one
// value is left, scaled by 1/n in the last pass. Each value goes through at most CHUNK-1 additions
// per pass, so the f32 error stays within ~CHUNK·passes ulps of the sum (all terms are ≥ 0).
struct Params { n: u32, groups: u32, scale: f32 }

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

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn squared_error_sums(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.groups) { return; }
  var s = 0.0;
  for (var j = i; j < p.n; j += p.groups) {
    let d = pred[j] - tgt[j];
    s += d * d;
  }
  sums[i] = s * p.scale;
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
