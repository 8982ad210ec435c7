// Adam / AdamW update of one parameter tensor from its gradient (PyTorch's semantics), one
// invocation per element:
//   g = grad (+ weight_decay·w for Adam's L2 form)       w ← w·(1 - lr·weight_decay) for AdamW
//   m ← β1·m + (1-β1)·g        v ← β2·v + (1-β2)·g²
//   w ← w - (lr / bc1) · m / (√v / √bc2 + eps)            bc_k = 1 - β_k^t
// lr and the bias corrections change every step, so they come from a small storage buffer written
// before the step is submitted; the uniform block holds only what stays fixed. Like PyTorch, the
// host computes 1-β and 1 - lr·weight_decay in f64: in f32, 1 - 0.999f is off by 1.3e-5.
struct Params { n: u32, decoupled: u32, beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32, eps: f32, weight_decay: f32 }
struct Step { decay: f32, step_size: f32, inv_sqrt_bc2: f32 }   // decay = 1 - lr·wd (AdamW), step_size = lr / bc1

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> s: Step;
@group(0) @binding(2) var<storage, read_write> w: array<f32>;
@group(0) @binding(3) var<storage, read> grad: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn adam_update(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  var wi = w[i];
  var g = grad[i];
  if (p.decoupled != 0u) {
    wi *= s.decay;
  } else {
    g += p.weight_decay * wi;
  }
  let mi = p.beta1 * m[i] + p.one_minus_beta1 * g;
  let vi = p.beta2 * v[i] + p.one_minus_beta2 * g * g;
  m[i] = mi;
  v[i] = vi;
  w[i] = wi - s.step_size * mi / (sqrt(vi) * s.inv_sqrt_bc2 + p.eps);
}
