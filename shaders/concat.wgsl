// Channel concatenation out@3 = [a@1 ⊕ b@2] ([N,Ca,H,W] ⊕ [N,Cb,H,W] -> [N,Ca+Cb,H,W], the U-Net
// skip connections), and its backward, which splits dy@1 back into da@2 and db@3.
// One invocation per element of the concatenated tensor: in NCHW each sample is a run of Ca·H·W
// values of a followed by a run of Cb·H·W values of b.
struct Params { n: u32, a_run: u32, b_run: u32 }   // n = N·(Ca+Cb)·H·W, a_run = Ca·H·W, b_run = Cb·H·W

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> da: array<f32>;
@group(0) @binding(3) var<storage, read_write> db: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

@compute @workgroup_size(${WG})
fn concat_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let sample = i / (p.a_run + p.b_run);
  let r = i - sample * (p.a_run + p.b_run);
  if (r < p.a_run) {
    out[i] = a[sample * p.a_run + r];
  } else {
    out[i] = b[sample * p.b_run + r - p.a_run];
  }
}

@compute @workgroup_size(${WG})
fn concat_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let sample = i / (p.a_run + p.b_run);
  let r = i - sample * (p.a_run + p.b_run);
  if (r < p.a_run) {
    da[sample * p.a_run + r] = dy[i];
  } else {
    db[sample * p.b_run + r - p.a_run] = dy[i];
  }
}
