// Gating of NCHW features by a one-channel map (attention gates on the U-Net skip connections):
// out[n,c,p] = x[n,c,p] · g[n,p], the gate broadcast over channels. Forward: x@1, g@2 -> out@3, one
// invocation per element; the gradient of x is the same product with dy in place of x. Backward of
// the gate: dg[n,p] = Σ_c dy[n,c,p] · x[n,c,p], one invocation per (n, p), gathering over channels.
struct Params { n: u32, c: u32, hw: u32 }   // n: elements of the output (forward) or of the gate (backward)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dg: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn gate_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let plane = p.c * p.hw;
  out[i] = x[i] * g[(i / plane) * p.hw + i % p.hw];
}

@compute @workgroup_size(${WG})
fn gate_backward_gate(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let first = (i / p.hw) * p.c * p.hw + i % p.hw;
  var sum = 0.0;
  for (var c = 0u; c < p.c; c++) {
    let k = first + c * p.hw;
    sum += dy[k] * x[k];
  }
  dg[i] = sum;
}
