// Layout passes that run before the convolution kernels of conv2d.wgsl: zero padding (and dilation)
// of the source, and the weight reordering. Both are cheap next to the convolution they feed.

// ---------------------------------------------------------------- pad
//
// One invocation per 4 padded columns of one padded row, for its share of the planes (N·C: every
// num_workgroups.y-th): its source offsets are the same in every plane, so the index arithmetic
// (and its integer divisions, slow on a CPU) is done once, and each plane costs 4 loads and one
// vec4 store.

struct PadParams {
  planes: u32,   // N · C
  h: u32,
  w: u32,
  pw4: u32,      // padded row length in vec4
  cells: u32,    // padded rows · pw4
  top: i32,      // where source row 0 lands (may be negative: rows cropped)
  left: i32,
}

// 1, or the stride for the input gradient: D - 1 zeros between the source's pixels.
const D: i32 = ${D};

@group(0) @binding(0) var<uniform> pp: PadParams;
@group(0) @binding(1) var<storage, read> unpadded: array<f32>;
@group(0) @binding(2) var<storage, read_write> padded: array<vec4f>;

#include padded_cells

@compute @workgroup_size(${WG})
fn pad(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
       @builtin(num_workgroups) nwg: vec3u) {
  let cell = gid.x;
  if (cell >= pp.cells) { return; }
  let source = padded_cell_sources(cell, pp.pw4, pp.top, pp.left, pp.h, pp.w, D);
  let ok = source >= vec4i(0);
  let off = vec4u(max(source, vec4i(0)));
  let plane_size = pp.h * pp.w;
  for (var plane = wid.y; plane < pp.planes; plane += nwg.y) {
    let base = plane * plane_size;
    let v = vec4f(unpadded[base + off.x], unpadded[base + off.y], unpadded[base + off.z], unpadded[base + off.w]);
    padded[plane * pp.cells + cell] = select(vec4f(0.0), v, ok);
  }
}

// ---------------------------------------------------------------- repack
//
// repack: one packed layout (forward, or flipped for the input gradient). repack_pair: both at once,
// the forward's and the flipped one, where the backward will need dx: one dispatch instead of two.

struct RepackParams {
  cout: u32,     // of the forward weight [Cout, Cin, K, K]
  cin: u32,
  taps: u32,     // K · K
  flip: u32,     // 1: for the input gradient: out = Cin, in = Cout, taps reversed (180° rotation)
  rows: u32,     // in · taps + 1: the last row holds the bias
  block: u32,    // floats per block of 8 output channels: rows · 8
  total: u32,    // blocks · block
}

struct RepackPairParams {
  cout: u32,
  cin: u32,
  taps: u32,
  rows: u32,             // of the forward layout, as in RepackParams
  block: u32,
  total: u32,
  rows_flipped: u32,     // of the flipped layout
  block_flipped: u32,
  total_flipped: u32,
}

@group(0) @binding(0) var<uniform> rp: RepackParams;
@group(0) @binding(0) var<uniform> pair: RepackPairParams;
@group(0) @binding(1) var<storage, read> w_forward: array<f32>;
@group(0) @binding(2) var<storage, read_write> w_packed: array<f32>;
#if ${BIAS}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif
// repack_pair's flipped output, after the bias when there is one.
@group(0) @binding(${FLIPPED_AT}) var<storage, read_write> w_flipped: array<f32>;

// Element i of a packed layout: [block][in · taps + tap][8] from w_forward[co][ci][tap], out
// channel = 8·block + lane; row in · taps is the bias (zeros without one, and always when flipped).
fn packed_value(i: u32, flip: bool, rows: u32, block: u32, cout: u32, cin: u32, taps: u32) -> f32 {
  let within = i % block;
  let o = (i / block) * 8u + within % 8u;
  let row = within / 8u;
  let tap = row % taps;
  let inner = row / taps;
  let out_c = select(cout, cin, flip);
  var v = 0.0;   // channels past the end, and the bias row without a bias
  if (o < out_c && row < rows - 1u) {
    if (flip) {
      v = w_forward[(inner * cin + o) * taps + taps - 1u - tap];
    } else {
      v = w_forward[(o * cin + inner) * taps + tap];
    }
  }
#if ${BIAS}
  if (!flip && o < out_c && row == rows - 1u) { v = bias[o]; }
#endif
  return v;
}

@compute @workgroup_size(${WG})
fn repack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= rp.total) { return; }
  w_packed[i] = packed_value(i, rp.flip == 1u, rp.rows, rp.block, rp.cout, rp.cin, rp.taps);
}

@compute @workgroup_size(${WG})
fn repack_pair(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i < pair.total) {
    w_packed[i] = packed_value(i, false, pair.rows, pair.block, pair.cout, pair.cin, pair.taps);
  }
  if (i < pair.total_flipped) {
    w_flipped[i] = packed_value(i, true, pair.rows_flipped, pair.block_flipped, pair.cout, pair.cin, pair.taps);
  }
}
