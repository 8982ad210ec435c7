// Projection of two source estimates onto the mixture constraint own + other = 2·x (the mixture is
// the average of the sources), then clamped to [0, 1]: adding half the residual 2x − own − other to
// each estimate gives out = clamp(x + (own − other) / 2, 0, 1). Forward: x@1, own@2, other@3 -> out@4.
// Backward: one input's gradient per dispatch, dz = scale · dy where the unclamped value lies in
// [0, 1] (else 0), with scale 1 for x, 1/2 for own and −1/2 for other; the value is recomputed from
// the inputs, so no mask is stored.
struct Params { n: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> own: array<f32>;
@group(0) @binding(3) var<storage, read> other: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dz: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

fn unclamped(i: u32) -> f32 { return x[i] + 0.5 * (own[i] - other[i]); }

@compute @workgroup_size(${WG})
fn projection_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  out[i] = clamp(unclamped(i), 0.0, 1.0);
}

@compute @workgroup_size(${WG})
fn projection_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let v = unclamped(i);
  dz[i] = select(0.0, p.scale * dy[i], v >= 0.0 && v <= 1.0);
}
