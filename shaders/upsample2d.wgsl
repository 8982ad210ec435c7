// ×2 upsampling of NCHW, nearest or bilinear, and the backward of each. Forwards run one invocation
// per output element; backwards gather, one invocation per input element, summing the outputs it
// fed (no scatter, so no float atomics).
// Bilinear follows PyTorch's align_corners=false: output o samples the input at
// src = max((o + 0.5) / 2 - 0.5, 0), between pixels floor(src) and floor(src) + 1 (clamped to the
// last pixel), with weights 1 - frac and frac.
struct Params { n: u32, h: u32, w: u32 }   // n = invocations; h, w = input height and width

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

/** Splits flat index i of a tensor with planes of rows × cols into (plane, row, col). */
fn unflatten(i: u32, rows: u32, cols: u32) -> vec3u {
  let plane = i / (rows * cols);
  let r = i - plane * rows * cols;
  return vec3u(plane, r / cols, r % cols);
}

@compute @workgroup_size(${WG})
fn nearest_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let o = unflatten(i, 2u * p.h, 2u * p.w);
  y[i] = x[(o.x * p.h + o.y / 2u) * p.w + o.z / 2u];
}

@compute @workgroup_size(${WG})
fn nearest_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let k = unflatten(i, p.h, p.w);
  let wo = 2u * p.w;
  let top = (k.x * 2u * p.h + 2u * k.y) * wo + 2u * k.z;
  dx[i] = dy[top] + dy[top + 1u] + dy[top + wo] + dy[top + wo + 1u];
}

/** The two input pixels (along one axis of size n) that output o interpolates, and their weights. */
struct Taps { i0: u32, i1: u32, l0: f32, l1: f32 }

fn taps(o: u32, n: u32) -> Taps {
  let src = max((f32(o) + 0.5) * 0.5 - 0.5, 0.0);
  let i0 = u32(src);
  let l1 = src - f32(i0);
  return Taps(i0, min(i0 + 1u, n - 1u), 1.0 - l1, l1);
}

/** Weight of input pixel k in an output with taps t (both taps are k at the last pixel). */
fn weight(k: u32, t: Taps) -> f32 {
  return select(0.0, t.l0, t.i0 == k) + select(0.0, t.l1, t.i1 == k);
}

@compute @workgroup_size(${WG})
fn bilinear_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let o = unflatten(i, 2u * p.h, 2u * p.w);
  let ty = taps(o.y, p.h);
  let tx = taps(o.z, p.w);
  let plane = o.x * p.h * p.w;
  let r0 = plane + ty.i0 * p.w;
  let r1 = plane + ty.i1 * p.w;
  y[i] = ty.l0 * (tx.l0 * x[r0 + tx.i0] + tx.l1 * x[r0 + tx.i1]) + ty.l1 * (tx.l0 * x[r1 + tx.i0] + tx.l1 * x[r1 + tx.i1]);
}

// Input pixel k is read only by outputs 2k-1 … 2k+2 along each axis: a 4×4 gather.
@compute @workgroup_size(${WG})
fn bilinear_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let k = unflatten(i, p.h, p.w);
  let ho = 2u * p.h;
  let wo = 2u * p.w;
  let y0 = select(0u, 2u * k.y - 1u, k.y > 0u);
  let x0 = select(0u, 2u * k.z - 1u, k.z > 0u);
  var s = 0.0;
  for (var oy = y0; oy <= min(2u * k.y + 2u, ho - 1u); oy++) {
    let wy = weight(k.y, taps(oy, p.h));
    let row = (k.x * ho + oy) * wo;
    for (var ox = x0; ox <= min(2u * k.z + 2u, wo - 1u); ox++) {
      s += wy * weight(k.z, taps(ox, p.w)) * dy[row + ox];
    }
  }
  dx[i] = s;
}
