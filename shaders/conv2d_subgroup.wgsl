enable subgroups;

// conv2d kernel variants (NCHW f32, square odd K×K kernel, stride S, zero padding `pad`) whose
// subgroup operations do part of the work; src/ops/conv2d/subgroup.ts runs them only where the
// device has the 'subgroups' feature. Nothing here assumes a subgroup size or how subgroups are laid
// over the workgroup: sizes come from @builtin(subgroup_size), and every subgroup operation is
// reached by all lanes (no early return or bounds check before one; bounds checks are selects).
//
//   weight   dW[co, ci, ky, kx] = Σ n, oy, ox  dy[n, co, oy, ox] · x[n, ci, oy·S - pad + ky, ox·S - pad + kx]
//            A workgroup owns one input channel ci × CO = 4 output channels × all K² taps (4·K²
//            sums) over one slice of the N·OH·OW reduction. Its lanes walk the slice's positions
//            WG at a time (neighbouring lanes on neighbouring output pixels, so loads are
//            contiguous), each keeping 4·K² partial sums: each x value it loads feeds 4 FMAs, each
//            dy value K². The lanes' sums are then combined by subgroupAdd, one per sum, and the
//            subgroups' totals through workgroup memory (a slot per subgroup, taken with an atomic:
//            no assumption that subgroups are contiguous runs of local_invocation_index). Long
//            reductions are split into slices, summed by sumSlices (packed.ts, conv2d_weight.wgsl).
//
//   forward  y[n, co, oy, ox] = b[co] + Σ ci, ky, kx  x[n, ci, oy·S - pad + ky, ox·S - pad + kx] · w[co, ci, ky, kx]
//            One invocation per output pixel × CO = 4 output channels (weights the same in all
//            lanes: uniform loads). Along a row, the taps of neighbouring pixels overlap: pixel ox
//            at tap kx = q·S + s reads the same x value as pixel ox + q at tap s. So each lane loads
//            only the S values of its taps 0 .. S-1 and takes the rest from the lanes q further on
//            with subgroupShuffle; where that lane does not hold pixel ox + q of the same row (the
//            end of a subgroup or of a row, checked by shuffling the pixel index too) it loads the
//            value itself. A K=3, S=1 row then costs about 1 load per lane instead of 3.

struct Params {
  n: u32,
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  oh: u32,
  ow: u32,
  pad: i32,
  pixels: u32,      // N · OH · OW: the forward pass's invocations, and the weight reduction's length
  pairs: u32,       // weight: workgroups per slice, Cin · ceil(Cout / CO)
  per_slice: u32,   // weight: reduction positions per slice, a multiple of WG
  size: u32,        // weight: Cout · Cin · K², the entries of one slice of part
}

const K: i32 = ${K};
const S: i32 = ${S};
const WG: u32 = ${WG};
const CO: u32 = 4u;                 // output channels per workgroup (weight) or invocation (forward)
const KK: u32 = u32(K * K);
const SUMS: u32 = CO * KK;          // dW sums per workgroup
const MAX_SUBGROUPS: u32 = WG / 4u; // WebGPU subgroups have at least 4 lanes
const Q: i32 = (K + S - 1) / S;     // forward: lanes a row's taps are spread over

@group(0) @binding(0) var<uniform> p: Params;

// ---------------------------------------------------------------- weight: dy@1, x@2 → part@3

@group(0) @binding(1) var<storage, read> wdy: array<f32>;
@group(0) @binding(2) var<storage, read> wx: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

var<workgroup> totals: array<f32, MAX_SUBGROUPS * SUMS>;   // [subgroup slot][co][tap]
var<workgroup> slots: atomic<u32>;                         // subgroups that have taken a slot

// Workgroups: (x, y) the (ci, block of CO output channels) pair, folded past 65535; z the slice.
@compute @workgroup_size(WG)
fn weight(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
          @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) sg_id: u32) {
  let pair = wid.x + wid.y * nwg.x;
  if (pair >= p.pairs) { return; }   // the same in every lane of the workgroup
  let ci = pair % p.cin;
  let co0 = (pair / p.cin) * CO;
  let first = wid.z * p.per_slice;
  let end = min(first + p.per_slice, p.pixels);
  let plane = p.oh * p.ow;
  let h = i32(p.h);
  let w = i32(p.w);
  var acc: array<f32, SUMS>;
  for (var at = first; at < first + p.per_slice; at += WG) {   // the same trips in every lane
    let q = at + lid;
    let valid = q < end;
    let qc = min(q, p.pixels - 1u);
    let ox = qc % p.ow;
    let oy = (qc / p.ow) % p.oh;
    let n = qc / plane;
    var g: array<f32, CO>;
    for (var c = 0u; c < CO; c++) {
      let co = min(co0 + c, p.cout - 1u);
      g[c] = select(0.0, wdy[(n * p.cout + co) * plane + oy * p.ow + ox], valid);
    }
    let xplane = (n * p.cin + ci) * p.h * p.w;
    for (var ky = 0; ky < K; ky++) {
      let iy = i32(oy) * S - p.pad + ky;
      for (var kx = 0; kx < K; kx++) {
        let ix = i32(ox) * S - p.pad + kx;
        let inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
        let v = select(0.0, wx[xplane + u32(clamp(iy, 0, h - 1) * w + clamp(ix, 0, w - 1))], inside);
        let tap = u32(ky * K + kx);
        for (var c = 0u; c < CO; c++) { acc[c * KK + tap] += g[c] * v; }
      }
    }
  }
  // Lanes → subgroup totals (subgroupAdd, in every lane), subgroups → the workgroup's (memory).
  var slot = 0u;
  if (sg_id == 0u) { slot = min(atomicAdd(&slots, 1u), MAX_SUBGROUPS - 1u); }
  for (var j = 0u; j < SUMS; j++) {
    let total = subgroupAdd(acc[j]);
    if (sg_id == 0u) { totals[slot * SUMS + j] = total; }
  }
  workgroupBarrier();
  let subgroups = min(atomicLoad(&slots), MAX_SUBGROUPS);
  for (var j = lid; j < SUMS; j += WG) {
    let co = co0 + j / KK;
    if (co >= p.cout) { continue; }
    var total = 0.0;
    for (var s = 0u; s < subgroups; s++) { total += totals[s * SUMS + j]; }
    part[wid.z * p.size + (co * p.cin + ci) * KK + j % KK] = total;
  }
}

// ---------------------------------------------------------------- forward: x@1, w@2 → y@3 (+ b@4)

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;
#if ${BIAS}
@group(0) @binding(4) var<storage, read> fb: array<f32>;
#endif

// Workgroups: (x, y) blocks of WG output pixels (N·OH·OW, folded past 65535); z the block of CO
// output channels.
@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
           @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) sg_id: u32,
           @builtin(subgroup_size) sg_size: u32) {
  let i = gid.x + gid.y * nwg.x * WG;
  let pc = min(i, p.pixels - 1u);
  let ox = pc % p.ow;
  let oy = (pc / p.ow) % p.oh;
  let n = pc / (p.oh * p.ow);
  let co0 = wid.z * CO;
  let h = i32(p.h);
  let w = i32(p.w);
  // Bit q: the lane q further on holds pixel i + q of the same row, so its taps 0 .. S-1 are this
  // pixel's taps q·S .. q·S + S - 1.
  var near = 1u;
  for (var q = 1; q < Q; q++) {
    let lane = sg_id + u32(q);
    let theirs = subgroupShuffle(i, min(lane, sg_size - 1u));
    if (lane < sg_size && theirs == i + u32(q) && ox + u32(q) < p.ow) { near |= 1u << u32(q); }
  }
  var co: array<u32, CO>;
  for (var c = 0u; c < CO; c++) { co[c] = min(co0 + c, p.cout - 1u); }
  var acc = vec4f();
  let x0 = i32(ox) * S - p.pad;   // column of tap 0
  for (var ci = 0u; ci < p.cin; ci++) {
    let xplane = (n * p.cin + ci) * p.h * p.w;
    for (var ky = 0; ky < K; ky++) {
      let iy = i32(oy) * S - p.pad + ky;
      let row_inside = iy >= 0 && iy < h;
      let row = xplane + u32(clamp(iy, 0, h - 1) * w);
      var own: array<f32, S>;   // this lane's taps 0 .. S-1 on row iy
      for (var s = 0; s < S; s++) {
        let ix = x0 + s;
        own[s] = select(0.0, fx[row + u32(clamp(ix, 0, w - 1))], row_inside && ix >= 0 && ix < w);
      }
      for (var kx = 0; kx < K; kx++) {
        let q = kx / S;
        var v = subgroupShuffle(own[kx % S], min(sg_id + u32(q), sg_size - 1u));
        if ((near & (1u << u32(q))) == 0u) {
          let ix = x0 + kx;
          v = select(0.0, fx[row + u32(clamp(ix, 0, w - 1))], row_inside && ix >= 0 && ix < w);
        }
        let tap = (ci * KK) + u32(ky * K + kx);
        let wv = vec4f(fw[co[0] * p.cin * KK + tap], fw[co[1] * p.cin * KK + tap],
                       fw[co[2] * p.cin * KK + tap], fw[co[3] * p.cin * KK + tap]);
        acc += v * wv;
      }
    }
  }
  if (i >= p.pixels) { return; }
#if ${BIAS}
  acc += vec4f(fb[co[0]], fb[co[1]], fb[co[2]], fb[co[3]]);
#endif
  let plane = p.oh * p.ow;
  let at = oy * p.ow + ox;
  for (var c = 0u; c < CO; c++) {
    if (co0 + c < p.cout) { fy[(n * p.cout + co0 + c) * plane + at] = acc[c]; }
  }
}

// ---------------------------------------------------------------- input gradient (S = 1): dy@1, w@2 → dx@3

@group(0) @binding(1) var<storage, read> idy: array<f32>;
@group(0) @binding(2) var<storage, read> iw: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<f32>;

// At stride 1, dx[n, ci, iy, ix] = Σ co, ky, kx  dy[n, co, iy + pad - ky, ix + pad - kx] · w[co, ci, ky, kx]
// (the terms in range). Pixel ix at tap kx reads the dy value that pixel ix + q reads at tap
// K - 1, q = K - 1 - kx: each lane loads that one value per dy row and takes the others from the
// lanes further on, as the forward pass does. Workgroups: (x, y) blocks of WG input pixels
// (N·H·W, folded), z the block of CO input channels.
@compute @workgroup_size(WG)
fn input(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
         @builtin(num_workgroups) nwg: vec3u, @builtin(subgroup_invocation_id) sg_id: u32,
         @builtin(subgroup_size) sg_size: u32) {
  let i = gid.x + gid.y * nwg.x * WG;
  let pc = min(i, p.pixels - 1u);
  let ix = pc % p.w;
  let iy = (pc / p.w) % p.h;
  let n = pc / (p.h * p.w);
  let ci0 = wid.z * CO;
  let oh = i32(p.oh);
  let ow = i32(p.ow);
  // Bit q: the lane q further on holds pixel i + q of the same row.
  var near = 1u;
  for (var q = 1; q < K; q++) {
    let lane = sg_id + u32(q);
    let theirs = subgroupShuffle(i, min(lane, sg_size - 1u));
    if (lane < sg_size && theirs == i + u32(q) && ix + u32(q) < p.w) { near |= 1u << u32(q); }
  }
  var ci: array<u32, CO>;
  for (var c = 0u; c < CO; c++) { ci[c] = min(ci0 + c, p.cin - 1u); }
  var acc = vec4f();
  let last = i32(ix) + p.pad - (K - 1);   // dy column of tap K - 1
  for (var co = 0u; co < p.cout; co++) {
    let dplane = (n * p.cout + co) * p.oh * p.ow;
    for (var ky = 0; ky < K; ky++) {
      let oy = i32(iy) + p.pad - ky;
      let row_inside = oy >= 0 && oy < oh;
      let row = dplane + u32(clamp(oy, 0, oh - 1) * ow);
      let own = select(0.0, idy[row + u32(clamp(last, 0, ow - 1))], row_inside && last >= 0 && last < ow);
      for (var kx = 0; kx < K; kx++) {
        let q = K - 1 - kx;
        var v = subgroupShuffle(own, min(sg_id + u32(q), sg_size - 1u));
        if ((near & (1u << u32(q))) == 0u) {
          let ox = last + q;
          v = select(0.0, idy[row + u32(clamp(ox, 0, ow - 1))], row_inside && ox >= 0 && ox < ow);
        }
        let tap = u32(ky * K + kx);
        let taps = co * p.cin * KK + tap;
        acc += v * vec4f(iw[taps + ci[0] * KK], iw[taps + ci[1] * KK], iw[taps + ci[2] * KK], iw[taps + ci[3] * KK]);
      }
    }
  }
  if (i >= p.pixels) { return; }
  let plane = p.h * p.w;
  let at = iy * p.w + ix;
  for (var c = 0u; c < CO; c++) {
    if (ci0 + c < p.cin) { idx[(n * p.cin + ci0 + c) * plane + at] = acc[c]; }
  }
}
