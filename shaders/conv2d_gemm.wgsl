// 2-D convolution as implicit GEMM (NCHW f32, square odd K×K kernel, stride S), the three passes of
// a conv2d layer each written as one matrix product C[M×N] = A[M×Kd] · B[Kd×N] whose operands are
// gathered from the tensors on the fly (no im2col buffer; padding is a bounds check that reads 0):
//
//   forward  y = x ⊛ w        M = batch·OH·OW output pixels, N = Cout, Kd = Cin·K·K
//            A[pixel, (ci, ky, kx)] = x[n, ci, oy·S - pad + ky, ox·S - pad + kx]
//            B[(ci, ky, kx), co]    = w[co, ci, ky, kx]                (plus bias[co] on store)
//   input    dx from dy       M = batch·H·W input pixels (of one stride phase, below), N = Cin,
//            Kd = Cout·(taps of the phase); A gathers dy, B the weights transposed (Cin ↔ Cout)
//            and indexed so that dx[n, ci, iy, ix] = Σ dy[n, co, oy, ox] · w[co, ci, ky, kx] over
//            iy = oy·S - pad + ky (same for x).
//   weight   dW from dy, x    M = Cout, N = Cin·K·K, Kd = batch·OH·OW (long): split into slices
//            of the reduction (workgroup z), each writing part[slice], summed afterwards by
//            dw_reduce (conv2d_weight.wgsl); one slice writes dW itself.
//
// Stride phases of the input gradient: with S = 2 only taps with (iy + pad - ky) divisible by S
// reach a given input row, and which taps those are depends on iy mod S alone. So workgroup z is
// the phase (iy mod S, ix mod S), each phase is its own GEMM over its pixels and its own taps
// (ky ≡ iy + pad mod S): no work is spent on the 3 in 4 taps a plain gather would skip. S = 1 is
// the one phase with every tap.
//
// Tiling (the layout of TensorFlow.js's and ONNX Runtime Web's WebGPU matmul-based conv2d): each
// workgroup computes a TM×TN tile of C with WG = (TM/4)·(TN/4) invocations, each holding a 4×4
// block of C in registers. Per step of TK along Kd, the workgroup loads the TM×TK slab of A and the
// TK×TN slab of B into var<workgroup> arrays (each lane TM·TK/WG and TK·TN/WG values, at fixed rows
// so that the index arithmetic of a gathered row is done once), waits at a barrier, and every lane
// does TK rank-1 updates of its 4×4 block from 4+4 neighbouring reads of the slabs (16-byte
// aligned, which GPU compilers may merge into one vector load; vec4 slabs with lanes storing single
// components ran 1.3-1.7× slower on lavapipe, so the slabs stay f32): 16 FMAs per 8 shared loads,
// and each value of A fetched from global memory once per workgroup instead of once for each of
// the TN columns that use it (B likewise for the TM rows). That reuse is the point on a real GPU,
// where shared memory is an on-chip scratchpad far faster than DRAM. On CPU drivers (lavapipe,
// SwiftShader) workgroup memory is ordinary memory, every lane's shared load is one more gather,
// and each barrier suspends and resumes all of the workgroup's SIMD batches (lavapipe runs them as
// coroutines), so this loses to the packed kernels there (2-4 GFLOP/s against 15-30 on lavapipe,
// bench/conv2d-variants.ts, batch 8); the tuner (src/gpu/tuner.ts) measures and decides. TM, TN, TK, K and S are defines (src/ops/conv2d/
// gemm.ts sets them); channel counts and sizes are uniforms, so one pipeline serves every layer
// with the same kernel size and stride.
//
// Workgroups (x, y) are the C tiles, flat index wid.x + wid.y·nwg.x (folded under 65535 per
// dimension), M tiles fastest; a workgroup past the end returns before any barrier (uniform: it
// depends on the workgroup id only). Lanes past the edge of M, N or Kd load zeros and skip stores.

const TM: u32 = ${TM};        // tile rows (M), a multiple of 4
const TN: u32 = ${TN};        // tile columns (N), a multiple of 4
const TK: u32 = ${TK};        // reduction depth per shared-memory step
const WG: u32 = ${WG};        // (TM / 4) · (TN / 4) invocations; a multiple of TM, TN and TK
const K: u32 = ${K};
const S: u32 = ${S};
const KK: u32 = K * K;
const LANES_N: u32 = TN / 4u;  // lanes along N in the compute layout (lane = row block · LANES_N + column block)

var<workgroup> ta: array<f32, TK * TM>;   // A slab, [k][m]
var<workgroup> tb: array<f32, TK * TN>;   // B slab, [k][n]

alias Acc = array<vec4f, 4>;   // a lane's 4×4 block of C: [row][column]

// TK rank-1 updates of this lane's block from the slabs in shared memory.
fn multiply(lid: u32, acc: ptr<function, Acc>) {
  let am = (lid / LANES_N) * 4u;
  let bn = (lid % LANES_N) * 4u;
  for (var kk = 0u; kk < TK; kk++) {
    let ra = kk * TM + am;
    let rb = kk * TN + bn;
    let a = vec4f(ta[ra], ta[ra + 1u], ta[ra + 2u], ta[ra + 3u]);
    let b = vec4f(tb[rb], tb[rb + 1u], tb[rb + 2u], tb[rb + 3u]);
    (*acc)[0] += a.x * b;
    (*acc)[1] += a.y * b;
    (*acc)[2] += a.z * b;
    (*acc)[3] += a.w * b;
  }
}

// ---------------------------------------------------------------- forward

struct ForwardParams {
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  ohw: u32,      // OH · OW
  ow: u32,
  pad: u32,
  m: u32,        // batch · OH · OW
  kdim: u32,     // Cin · K · K
  tiles_m: u32,  // ceil(m / TM)
  tiles: u32,    // tiles_m · ceil(cout / TN)
}

@group(0) @binding(0) var<uniform> fp: ForwardParams;
@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;
#if ${BIAS}
@group(0) @binding(4) var<storage, read> fbias: array<f32>;
#endif

@compute @workgroup_size(WG)
fn gemm_forward(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
                @builtin(num_workgroups) nwg: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= fp.tiles) { return; }
  let m0 = (t % fp.tiles_m) * TM;
  let n0 = (t / fp.tiles_m) * TN;
  // A loads: the lane's pixel is fixed (m fastest across lanes), its k rows step by WG / TM.
  let al = lid % TM;
  let am = m0 + al;
  let a_ok = am < fp.m;
  let a_pix = am % fp.ohw;
  let iy0 = i32((a_pix / fp.ow) * S) - i32(fp.pad);
  let ix0 = i32((a_pix % fp.ow) * S) - i32(fp.pad);
  let a_base = (am / fp.ohw) * fp.cin * fp.h * fp.w;
  let ak = lid / TM;
  // B loads: k fastest across lanes (w rows are contiguous in k), output channels step by WG / TK.
  let bk = lid % TK;
  let bn = lid / TK;
  var acc = Acc();
  let steps = (fp.kdim + TK - 1u) / TK;
  for (var st = 0u; st < steps; st++) {
    let k0 = st * TK;
#unroll j ${TM * TK / WG}
    {
      let kl = ak + ${j}u * (WG / TM);
      let k = k0 + kl;
      let tap = k % KK;
      let iy = iy0 + i32(tap / K);
      let ix = ix0 + i32(tap % K);
      var v = 0.0;
      if (a_ok && k < fp.kdim && iy >= 0 && iy < i32(fp.h) && ix >= 0 && ix < i32(fp.w)) {
        v = fx[a_base + ((k / KK) * fp.h + u32(iy)) * fp.w + u32(ix)];
      }
      ta[kl * TM + al] = v;
    }
#endunroll
#unroll j ${TN * TK / WG}
    {
      let nl = bn + ${j}u * (WG / TK);
      let co = n0 + nl;
      let k = k0 + bk;
      var v = 0.0;
      if (co < fp.cout && k < fp.kdim) { v = fw[co * fp.kdim + k]; }
      tb[bk * TN + nl] = v;
    }
#endunroll
    workgroupBarrier();
    multiply(lid, &acc);
    workgroupBarrier();
  }
  let om = m0 + (lid / LANES_N) * 4u;
  let on = n0 + (lid % LANES_N) * 4u;
  for (var r = 0u; r < 4u; r++) {
    let m = om + r;
    if (m >= fp.m) { break; }
    let row = (m / fp.ohw) * fp.cout * fp.ohw + m % fp.ohw;
    for (var c = 0u; c < 4u; c++) {
      let co = on + c;
      if (co >= fp.cout) { break; }
#if ${BIAS}
      fy[row + co * fp.ohw] = acc[r][c] + fbias[co];
#else
      fy[row + co * fp.ohw] = acc[r][c];
#endif
    }
  }
}

// ---------------------------------------------------------------- input gradient

struct InputParams {
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  oh: u32,
  ow: u32,
  pad: u32,
  batch: u32,
  tiles_m: u32,  // ceil(pixels of phase 0, the largest / TM)
  tiles: u32,    // tiles_m · ceil(cin / TN)
}

@group(0) @binding(0) var<uniform> ip: InputParams;
@group(0) @binding(1) var<storage, read> idy: array<f32>;
@group(0) @binding(2) var<storage, read> iw: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<f32>;

// Workgroup z is the stride phase (py, px) = (iy mod S, ix mod S). Its pixels are iy = py + S·jy,
// ix = px + S·jx; its taps are ky = ky0 + S·ty (ky0 ≡ py + pad mod S), and a tap reads dy row
// oy = (iy + pad - ky) / S = jy + oyb - ty, with oyb = (py + pad - ky0) / S. The same for x.
@compute @workgroup_size(WG)
fn gemm_input(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
              @builtin(num_workgroups) nwg: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= ip.tiles) { return; }
  let py = wid.z / S;
  let px = wid.z % S;
  let hc = (ip.h - py + S - 1u) / S;   // rows and columns of the phase (0 if the image is smaller)
  let wc = (ip.w - px + S - 1u) / S;
  let ky0 = (py + ip.pad) % S;
  let kx0 = (px + ip.pad) % S;
  let kyc = (K - ky0 + S - 1u) / S;    // taps of the phase per kernel row and column (may be 0)
  let kxc = (K - kx0 + S - 1u) / S;
  let oyb = (py + ip.pad - ky0) / S;
  let oxb = (px + ip.pad - kx0) / S;
  let taps = kyc * kxc;
  let mc = ip.batch * hc * wc;
  let kdim = ip.cout * taps;
  let m0 = (t % ip.tiles_m) * TM;
  let n0 = (t / ip.tiles_m) * TN;
  // A loads (gathered dy): the lane's pixel is fixed, its k rows step by WG / TM.
  let al = lid % TM;
  let am = m0 + al;
  let a_ok = am < mc;
  let a_pix = am % max(hc * wc, 1u);
  let a_y = i32(a_pix / max(wc, 1u) + oyb);
  let a_x = i32(a_pix % max(wc, 1u) + oxb);
  let a_base = (am / max(hc * wc, 1u)) * ip.cout * ip.oh * ip.ow;
  let ak = lid / TM;
  // B loads (weights, transposed): input channels fastest across lanes, k rows step by WG / TN.
  let bl = lid % TN;
  let ci = n0 + bl;
  let b_ok = ci < ip.cin;
  let bk = lid / TN;
  var acc = Acc();
  let steps = (kdim + TK - 1u) / TK;
  for (var st = 0u; st < steps; st++) {
    let k0 = st * TK;
#unroll j ${TM * TK / WG}
    {
      let kl = ak + ${j}u * (WG / TM);
      let k = k0 + kl;
      let tt = k % taps;
      let oy = a_y - i32(tt / kxc);
      let ox = a_x - i32(tt % kxc);
      var v = 0.0;
      if (a_ok && k < kdim && oy >= 0 && oy < i32(ip.oh) && ox >= 0 && ox < i32(ip.ow)) {
        v = idy[a_base + ((k / taps) * ip.oh + u32(oy)) * ip.ow + u32(ox)];
      }
      ta[kl * TM + al] = v;
    }
#endunroll
#unroll j ${TN * TK / WG}
    {
      let kl = bk + ${j}u * (WG / TN);
      let k = k0 + kl;
      var v = 0.0;
      if (b_ok && k < kdim) {
        let tt = k % taps;
        let ky = ky0 + S * (tt / kxc);
        let kx = kx0 + S * (tt % kxc);
        v = iw[(((k / taps) * ip.cin + ci) * K + ky) * K + kx];
      }
      tb[kl * TN + bl] = v;
    }
#endunroll
    workgroupBarrier();
    multiply(lid, &acc);
    workgroupBarrier();
  }
  let om = m0 + (lid / LANES_N) * 4u;
  let on = n0 + (lid % LANES_N) * 4u;
  for (var r = 0u; r < 4u; r++) {
    let m = om + r;
    if (m >= mc) { break; }
    let pix = m % (hc * wc);
    let iy = py + S * (pix / wc);
    let ix = px + S * (pix % wc);
    let row = ((m / (hc * wc)) * ip.cin * ip.h + iy) * ip.w + ix;
    for (var c = 0u; c < 4u; c++) {
      let co = on + c;
      if (co >= ip.cin) { break; }
      idx[row + co * ip.h * ip.w] = acc[r][c];
    }
  }
}

// ---------------------------------------------------------------- weight gradient

struct WeightParams {
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  ohw: u32,     // OH · OW
  ow: u32,
  pad: u32,
  kdim: u32,    // batch · OH · OW, the reduction
  cols: u32,    // Cin · K · K
  tiles_m: u32, // ceil(cout / TM)
  tiles: u32,   // tiles_m · ceil(cols / TN)
  steps_per_slice: u32,  // TK steps of the reduction per slice
  size: u32,    // Cout · Cin · K · K
}

@group(0) @binding(0) var<uniform> wp: WeightParams;
@group(0) @binding(1) var<storage, read> wdy: array<f32>;
@group(0) @binding(2) var<storage, read> wx: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;

// Workgroup z is the slice. Both slabs are loaded with the reduction index (an output pixel p)
// fastest across lanes: a lane's p is the same for all its loads of a step, so it is split into
// (n, oy, ox) once per step, and its rows (output channels; input channel and tap columns) are
// fixed, so their index arithmetic is done once.
@compute @workgroup_size(WG)
fn gemm_weight(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u,
               @builtin(num_workgroups) nwg: vec3u) {
  let t = wid.x + wid.y * nwg.x;
  if (t >= wp.tiles) { return; }
  let m0 = (t % wp.tiles_m) * TM;
  let n0 = (t / wp.tiles_m) * TN;
  let kl = lid % TK;
  let rl = lid / TK;
  // The lane's B columns: input channel plane offset and tap offsets.
#unroll j ${TN * TK / WG}
  let col${j} = n0 + rl + ${j}u * (WG / TK);
  let plane${j} = (col${j} / KK) * wp.h * wp.w;
  let ky${j} = i32((col${j} % KK) / K) - i32(wp.pad);
  let kx${j} = i32(col${j} % K) - i32(wp.pad);
#endunroll
  var acc = Acc();
  let steps = (wp.kdim + TK - 1u) / TK;
  let first = min(wid.z * wp.steps_per_slice, steps);
  let end = min(first + wp.steps_per_slice, steps);
  for (var st = first; st < end; st++) {
    let p = st * TK + kl;
    let p_ok = p < wp.kdim;
    let img = p / wp.ohw;
    let pix = p % wp.ohw;
    let iy0 = i32((pix / wp.ow) * S);
    let ix0 = i32((pix % wp.ow) * S);
    let dy_base = img * wp.cout * wp.ohw + pix;
    let x_base = img * wp.cin * wp.h * wp.w;
#unroll j ${TM * TK / WG}
    {
      let ml = rl + ${j}u * (WG / TK);
      let co = m0 + ml;
      var v = 0.0;
      if (p_ok && co < wp.cout) { v = wdy[dy_base + co * wp.ohw]; }
      ta[kl * TM + ml] = v;
    }
#endunroll
#unroll j ${TN * TK / WG}
    {
      let iy = iy0 + ky${j};
      let ix = ix0 + kx${j};
      var v = 0.0;
      if (p_ok && col${j} < wp.cols && iy >= 0 && iy < i32(wp.h) && ix >= 0 && ix < i32(wp.w)) {
        v = wx[x_base + plane${j} + u32(iy) * wp.w + u32(ix)];
      }
      tb[kl * TN + rl + ${j}u * (WG / TK)] = v;
    }
#endunroll
    workgroupBarrier();
    multiply(lid, &acc);
    workgroupBarrier();
  }
  let om = m0 + (lid / LANES_N) * 4u;
  let on = n0 + (lid % LANES_N) * 4u;
  let slice_base = wid.z * wp.size;
  for (var r = 0u; r < 4u; r++) {
    let co = om + r;
    if (co >= wp.cout) { break; }
    for (var c = 0u; c < 4u; c++) {
      let col = on + c;
      if (col >= wp.cols) { break; }
      part[slice_base + co * wp.cols + col] = acc[r][c];
    }
  }
}
