// Channel concatenation out@3 = [a@1 ⊕ b@2] ([N,Ca,H,W] ⊕ [N,Cb,H,W] -> [N,Ca+Cb,H,W], the U-Net
// skip connections), and its backward, which splits dy@1 back into da@2 and db@3 (or, where only
// one input needs a gradient, concat_slice copies out that one's part).
// In NCHW each sample of the output is a run of Ca·H·W values of a followed by Cb·H·W values of b.
// The grid is (⌈run / WG⌉, ⌈N / SAMPLES⌉): invocation r copies position r of the run for SAMPLES
// samples (few, busy invocations and no integer divisions: what CPU drivers run fastest).
// Values are copied as V: vec4f when H·W is a multiple of 4 (about twice as fast on lavapipe), else
// f32; runs are counted in V.
alias V = ${V};
struct Params { n: u32, a_run: u32, b_run: u32 }   // n = N, a_run = Ca·H·W, b_run = Cb·H·W (in V)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> b: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;
@group(0) @binding(1) var<storage, read> dy: array<V>;
@group(0) @binding(2) var<storage, read_write> da: array<V>;
@group(0) @binding(3) var<storage, read_write> db: array<V>;

@compute @workgroup_size(${WG})
fn concat_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let run = p.a_run + p.b_run;
  if (r >= run) { return; }
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    if (r < p.a_run) {
      out[s * run + r] = a[s * p.a_run + r];
    } else {
      out[s * run + r] = b[s * p.b_run + r - p.a_run];
    }
  }
}

@compute @workgroup_size(${WG})
fn concat_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let run = p.a_run + p.b_run;
  if (r >= run) { return; }
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    if (r < p.a_run) {
      da[s * p.a_run + r] = dy[s * run + r];
    } else {
      db[s * p.b_run + r - p.a_run] = dy[s * run + r];
    }
  }
}

// The part of each sample's run that one input contributed: part@2 = dy@1[offset .. offset + len).
struct SliceParams { n: u32, run: u32, offset: u32, len: u32 }   // in V

@group(0) @binding(0) var<uniform> sp: SliceParams;
@group(0) @binding(2) var<storage, read_write> part: array<V>;

@compute @workgroup_size(${WG})
fn concat_slice(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= sp.len) { return; }
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, sp.n); s++) {
    part[s * sp.len + r] = dy[s * sp.run + sp.offset + r];
  }
}
