// ×2 nearest-neighbour upsampling of NCHW and its backward. The forward runs one invocation per
// output position; the backward gathers, one invocation per input position, summing the four outputs
// it fed (no scatter, so no float atomics).
// Grid (⌈positions per plane / WG⌉, C, ⌈N / SAMPLES⌉): an invocation works out its position (one
// integer division, slow on CPU drivers) once, for SAMPLES samples.
struct Params { n: u32, c: u32, h: u32, w: u32 }   // h, w: the input's height and width

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(${WG})
fn nearest_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let wo = 2u * p.w;
  if (r >= 4u * p.h * p.w) { return; }
  let oy = r / wo;
  let source = (oy / 2u) * p.w + (r - oy * wo) / 2u;
  let first = gid.z * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    let plane = s * p.c + gid.y;
    y[plane * 4u * p.h * p.w + r] = x[plane * p.h * p.w + source];
  }
}

@compute @workgroup_size(${WG})
fn nearest_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.h * p.w) { return; }
  let iy = r / p.w;
  let wo = 2u * p.w;
  let top = 2u * iy * wo + 2u * (r - iy * p.w);
  let first = gid.z * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    let plane = s * p.c + gid.y;
    let o = plane * 4u * p.h * p.w + top;
    dx[plane * p.h * p.w + r] = dy[o] + dy[o + 1u] + dy[o + wo] + dy[o + wo + 1u];
  }
}
