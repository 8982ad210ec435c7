// A source as its share of the mixture. The sources lie in [0, 1] and the mixture is their average,
// x = (digit + item) / 2, so the digit lies in [lo, lo + w] with lo = max(0, 2x − 1) and
// w = 1 − |2x − 1|, and the item is what it leaves of 2x. A share s in [0, 1] (a sigmoid) picks the
// digit = lo + s·w and the item = lo + (1 − s)·w: both in [0, 1], adding up to 2x exactly, and exact
// wherever the mixture alone decides them (x = 0: both 0; x = 1: both 1). The share is the sigmoid
// of a logit z, computed here (s = σ(z), 1 − s = σ(−z)), so the network's head feeds this op directly.
// Forward: x@1, z@2 -> out@3, with `rest` = 1 for the item's side (σ(−z)). Backward, one input's
// gradient per dispatch, x@1, z@2, dy@3 -> dz@4 (plus, with PRIOR, prior@5: that input's gradient
// from its other consumers): ∂out/∂z = ±σ(z)·σ(−z)·w, and ∂out/∂x = ∂lo/∂x +
// s'·∂w/∂x with ∂lo/∂x = 2 where 2x > 1 and ∂w/∂x = −2·sign(2x − 1).
struct Params { n: u32, rest: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> logit: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
#if ${PRIOR}
// The input's gradient from its other consumers, added as dz is written (no separate sum).
@group(0) @binding(5) var<storage, read> prior: array<f32>;
#endif

// The gradient so far to add to element i of dz: prior's, or none.
fn prior_at(i: u32) -> f32 {
#if ${PRIOR}
  return prior[i];
#else
  return 0.0;
#endif
}

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

// The share this side takes: σ(z), or σ(−z) for the rest.
fn side(i: u32) -> f32 { return 1.0 / (1.0 + exp(select(-logit[i], logit[i], p.rest == 1u))); }

@compute @workgroup_size(${WG})
fn share_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let t = 2.0 * x[i] - 1.0;
  out[i] = max(t, 0.0) + side(i) * (1.0 - abs(t));
}

@compute @workgroup_size(${WG})
fn share_backward_logit(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let s = side(i);
  let w = 1.0 - abs(2.0 * x[i] - 1.0);
  dz[i] = select(1.0, -1.0, p.rest == 1u) * s * (1.0 - s) * w * dy[i] + prior_at(i);
}

@compute @workgroup_size(${WG})
fn share_backward_mixture(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let t = 2.0 * x[i] - 1.0;
  dz[i] = (select(0.0, 2.0, t > 0.0) - 2.0 * sign(t) * side(i)) * dy[i] + prior_at(i);
}
