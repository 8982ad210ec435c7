// Exponential moving average of the weights, one invocation per element:
//   ema_update: average ← decay·average + (1 − decay)·w   (decay and 1 − decay from the host, in f64)
//   ema_swap:   exchanges w and average, so the model can be evaluated with the averaged weights
// The decay warms up, so it changes every step: it comes from a small storage buffer written
// before the update is submitted, not from the uniform block (cached by content).
struct Params { n: u32 }
struct Step { decay: f32, one_minus_decay: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> average: array<f32>;
@group(0) @binding(3) var<storage, read> s: Step;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn ema_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  average[i] = s.decay * average[i] + s.one_minus_decay * w[i];
}

@compute @workgroup_size(${WG})
fn ema_swap(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let t = w[i];
  w[i] = average[i];
  average[i] = t;
}
