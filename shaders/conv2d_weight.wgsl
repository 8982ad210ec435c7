// Parameter gradients of the 2-D convolution (see conv2d.wgsl): dW and dB, NCHW f32.
//
//   dw_partial  part@3[slice] = Σ over one slice of the N·OH rows of dy@1 · x@2, per dW entry
//   dw_reduce   dw@2 = Σ over slices of part@1 (skipped when there is one slice)
//   db          dbias@2 = Σ over N, OH, OW of dy@1
//
// dw_partial: the workgroup owns one tap (ky, kx) and 8 output channels, uniformly; its lanes own
// input channels. For a fixed tap the rows and columns of dy that land inside x form a rectangle
// known to the whole workgroup, so the inner loop has no bounds checks at all: per pixel, one x
// load per lane (gathered across channels), 8 broadcast dy loads and 8 FMAs. The reduction is split
// over row slices (workgroup z) into a partial buffer rather than shared atomics (WGSL has no float
// atomics), then summed by dw_reduce.

struct Params {
  batch: u32,
  in_c: u32,    // Cin
  in_h: u32,
  in_w: u32,
  out_c: u32,   // Cout
  out_h: u32,
  out_w: u32,
  pad: u32,
  rows_per_slice: u32,  // of the batch·out_h rows of dy
  size: u32,    // Cout·Cin·K·K, entries of dW
}

const K: u32 = ${K};
const S: u32 = ${S};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

// First and one-past-last output coordinate whose tap k reads inside [0, size): o·S - pad + k ∈ [0, size).
fn valid_range(k: u32, size: u32, out_size: u32) -> vec2u {
  let lo = select(0u, (p.pad - k + S - 1u) / S, p.pad > k);
  let hi = min(out_size, select(0u, (size - 1u + p.pad - k) / S + 1u, size + p.pad > k));
  return vec2u(lo, max(lo, hi));
}

fn dy4(base: u32, co: u32, plane: u32) -> vec4f {
  let last = p.out_c - 1u;
  return vec4f(dy[base + min(co, last) * plane], dy[base + min(co + 1u, last) * plane],
               dy[base + min(co + 2u, last) * plane], dy[base + min(co + 3u, last) * plane]);
}

@compute @workgroup_size(${WG})
fn dw_partial(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let ci = min(gid.x, p.in_c - 1u);
  let tap = wid.y % (K * K);
  let co = (wid.y / (K * K)) * 8u;
  let ky = tap / K;
  let kx = tap % K;
  let ys = valid_range(ky, p.in_h, p.out_h);
  let xs = valid_range(kx, p.in_w, p.out_w);
  let out_plane = p.out_h * p.out_w;
  let in_plane = p.in_h * p.in_w;

  var acc0 = vec4f();
  var acc1 = vec4f();
  let first = wid.z * p.rows_per_slice;
  let last = min(first + p.rows_per_slice, p.batch * p.out_h);
  for (var r = first; r < last; r++) {
    let n = r / p.out_h;
    let oy = r % p.out_h;
    if (oy < ys.x || oy >= ys.y) { continue; }
    let dy_row = n * p.out_c * out_plane + oy * p.out_w;
    let x_row = (n * p.in_c + ci) * in_plane + (oy * S + ky - p.pad) * p.in_w + kx - p.pad;
    for (var ox = xs.x; ox < xs.y; ox++) {
      let v = x[x_row + ox * S];
      acc0 += dy4(dy_row + ox, co, out_plane) * v;
      acc1 += dy4(dy_row + ox, co + 4u, out_plane) * v;
    }
  }
  if (gid.x >= p.in_c) { return; }
  let slice = wid.z * p.size;
  for (var c = 0u; c < 4u; c++) {
    if (co + c < p.out_c) { part[slice + ((co + c) * p.in_c + ci) * K * K + tap] = acc0[c]; }
    if (co + 4u + c < p.out_c) { part[slice + ((co + 4u + c) * p.in_c + ci) * K * K + tap] = acc1[c]; }
  }
}

// ---------------------------------------------------------------- dw_reduce

struct ReduceParams { size: u32, slices: u32 }

@group(0) @binding(0) var<uniform> rp: ReduceParams;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

@compute @workgroup_size(${WG})
fn dw_reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= rp.size) { return; }
  var s = 0.0;
  for (var k = 0u; k < rp.slices; k++) { s += partials[k * rp.size + i]; }
  dw[i] = s;
}

// ---------------------------------------------------------------- db

struct BiasParams { batch: u32, channels: u32, plane: u32 }

@group(0) @binding(0) var<uniform> bp: BiasParams;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbias: array<f32>;

var<workgroup> sums: array<f32, ${WG}>;

// One workgroup per channel: lanes stride over the plane (contiguous loads), then a tree sum.
@compute @workgroup_size(${WG})
fn db(@builtin(local_invocation_index) lane: u32, @builtin(workgroup_id) wid: vec3u) {
  let c = wid.x;
  var s = 0.0;
  for (var n = 0u; n < bp.batch; n++) {
    let base = (n * bp.channels + c) * bp.plane;
    for (var i = lane; i < bp.plane; i += ${WG}u) { s += grad[base + i]; }
  }
  sums[lane] = s;
  for (var half = ${WG}u / 2u; half > 0u; half /= 2u) {
    workgroupBarrier();
    if (lane < half) { sums[lane] += sums[lane + half]; }
  }
  if (lane == 0u) { dbias[c] = sums[0]; }
}
