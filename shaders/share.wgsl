// Both sources as their shares of the mixture. The sources lie in [0, 1] and the mixture is their
// average, x = (digit + item) / 2, so the digit lies in [lo, lo + w] with lo = max(0, 2x − 1) and
// w = 1 − |2x − 1|, and the item is what it leaves of 2x. A share s in [0, 1] (a sigmoid) picks the
// digit = lo + s·w and the item = lo + (1 − s)·w: both in [0, 1], adding up to 2x exactly, and exact
// wherever the mixture alone decides them (x = 0: both 0; x = 1: both 1). The share is the sigmoid
// of a logit z, computed here (s = σ(z), 1 − s = σ(−z)), so the network's head feeds this op directly.
// Forward: x@1, z@2 -> own@3 (the digit), rest@4 (the item), in one dispatch. Backward, one input's
// gradient per dispatch from both outputs' gradients, x@1, z@2 -> dz@3, then those given of
// dy_own (OWN), dy_rest (REST: an output nothing used has none) and, with PRIOR, prior (that input's
// gradient from its other consumers), in that order from binding 4: ∂own/∂z = −∂rest/∂z = s·(1 − s)·w, and ∂own/∂x = ∂lo/∂x +
// s·∂w/∂x (the rest's with 1 − s) with ∂lo/∂x = 2 where 2x > 1 and ∂w/∂x = −2·sign(2x − 1).
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> logit: array<f32>;
@group(0) @binding(3) var<storage, read_write> own: array<f32>;
@group(0) @binding(4) var<storage, read_write> rest: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
#if ${OWN}
@group(0) @binding(4) var<storage, read> dy_own: array<f32>;
#endif
#if ${REST}
@group(0) @binding(${REST_AT}) var<storage, read> dy_rest: array<f32>;
#endif
#if ${PRIOR}
// The input's gradient from its other consumers, added as dz is written (no separate sum).
@group(0) @binding(${PRIOR_AT}) var<storage, read> prior: array<f32>;
#endif

// The gradient so far to add to element i of dz: prior's, or none.
fn prior_at(i: u32) -> f32 {
#if ${PRIOR}
  return prior[i];
#else
  return 0.0;
#endif
}

// The gradients of the two outputs at element i (0 for an output with none).
fn dy_at(i: u32) -> vec2f {
  var d = vec2f(0.0);
#if ${OWN}
  d.x = dy_own[i];
#endif
#if ${REST}
  d.y = dy_rest[i];
#endif
  return d;
}

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

// The digit's share σ(z) and the item's σ(−z) (rather than 1 − σ(z): exact where σ(z) rounds to 1).
fn shares(i: u32) -> vec2f { return 1.0 / (1.0 + exp(vec2f(-logit[i], logit[i]))); }

@compute @workgroup_size(${WG})
fn share_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let t = 2.0 * x[i] - 1.0;
  let lo = max(t, 0.0);
  let w = 1.0 - abs(t);
  let s = shares(i);
  own[i] = lo + s.x * w;
  rest[i] = lo + s.y * w;
}

@compute @workgroup_size(${WG})
fn share_backward_logit(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let s = shares(i);
  let w = 1.0 - abs(2.0 * x[i] - 1.0);
  let d = dy_at(i);
  dz[i] = s.x * s.y * w * (d.x - d.y) + prior_at(i);
}

@compute @workgroup_size(${WG})
fn share_backward_mixture(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let t = 2.0 * x[i] - 1.0;
  let dlo = select(0.0, 2.0, t > 0.0);
  let dw = -2.0 * sign(t);
  let s = shares(i);
  let d = dy_at(i);
  dz[i] = (dlo + dw * s.x) * d.x + (dlo + dw * s.y) * d.y + prior_at(i);
}
