// ×2 upsampling of NCHW, nearest or bilinear, and the backward of each. Forwards run one invocation
// per output position; backwards gather, one invocation per input position, summing the outputs it
// fed (no scatter, so no float atomics).
// Bilinear follows PyTorch's align_corners=false: output o samples the input at
// src = max((o + 0.5) / 2 - 0.5, 0), between pixels floor(src) and floor(src) + 1 (clamped to the
// last pixel), with weights 1 - frac and frac.
// Grid (⌈positions per plane / WG⌉, C, ⌈N / SAMPLES⌉): an invocation works out its position (one
// integer division, slow on CPU drivers) and its interpolation weights once, for SAMPLES samples.
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
fn bilinear_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let wo = 2u * p.w;
  if (r >= 4u * p.h * p.w) { return; }
  let oy = r / wo;
  let ty = taps(oy, p.h);
  let tx = taps(r - oy * wo, p.w);
  let first = gid.z * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    let plane = s * p.c + gid.y;
    let r0 = plane * p.h * p.w + ty.i0 * p.w;
    let r1 = plane * p.h * p.w + ty.i1 * p.w;
    y[plane * 4u * p.h * p.w + r] = ty.l0 * (tx.l0 * x[r0 + tx.i0] + tx.l1 * x[r0 + tx.i1]) + ty.l1 * (tx.l0 * x[r1 + tx.i0] + tx.l1 * x[r1 + tx.i1]);
  }
}

// Input pixel k is read only by outputs 2k-1 … 2k+2 along each axis: a gather of 4×4 outputs
// (indices clamped, with weight 0 where they fall outside), whose weights are worked out once and
// reused for every sample. Fixed trip counts let the compiler unroll the loops.
@compute @workgroup_size(${WG})
fn bilinear_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.h * p.w) { return; }
  let iy = r / p.w;
  let ix = r - iy * p.w;
  let ho = 2u * p.h;
  let wo = 2u * p.w;
  // Outputs 2k-1 … 2k+2, shifted by one so that k = 0 needs no negative index.
  var oy: array<u32, 4>;
  var ox: array<u32, 4>;
  var wy: array<f32, 4>;
  var wx: array<f32, 4>;
  for (var j = 0u; j < 4u; j++) {
    let ty = 2u * iy + j;   // output row ty - 1
    let tx = 2u * ix + j;
    oy[j] = clamp(ty, 1u, ho) - 1u;
    ox[j] = clamp(tx, 1u, wo) - 1u;
    wy[j] = select(0.0, weight(iy, taps(oy[j], p.h)), ty >= 1u && ty <= ho);
    wx[j] = select(0.0, weight(ix, taps(ox[j], p.w)), tx >= 1u && tx <= wo);
  }
  let first = gid.z * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    let plane = s * p.c + gid.y;
    var sum = 0.0;
    for (var j = 0u; j < 4u; j++) {
      let row = (plane * ho + oy[j]) * wo;
      sum += wy[j] * (wx[0] * dy[row + ox[0]] + wx[1] * dy[row + ox[1]] + wx[2] * dy[row + ox[2]] + wx[3] * dy[row + ox[3]]);
    }
    dx[plane * p.h * p.w + r] = sum;
  }
}
