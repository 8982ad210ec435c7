// Element-wise activations and their gradients. Forward: x@1 -> y@2. Backward: dx = dy * f'(.)
// where f' is computed from x (relu) or from the saved output y (sigmoid).
struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn relu_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  y[i] = max(x[i], 0.0);
}

@compute @workgroup_size(${WG})
fn relu_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  dx[i] = select(0.0, dy[i], x[i] > 0.0);
}

@compute @workgroup_size(${WG})
fn sigmoid_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  y[i] = 1.0 / (1.0 + exp(-x[i]));
}

// Here binding 1 holds the forward output y (sigmoid' = y (1 - y)).
@compute @workgroup_size(${WG})
fn sigmoid_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let s = x[i];
  dx[i] = dy[i] * s * (1.0 - s);
}
