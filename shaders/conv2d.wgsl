// 2-D convolution, NCHW f32, square K×K kernel, stride S, zero padding `pad`.
//
// Written for lavapipe first (each workgroup runs on one CPU core, its invocations as SIMD lanes):
// no workgroup barriers in the hot kernels, several outputs per invocation accumulated in registers,
// and every weight read indexed only by workgroup-uniform values, so the driver loads it once and
// broadcasts it to all lanes instead of gathering per lane. No early returns before the loops: a
// lane past the end computes on clamped indices and just skips its store, which keeps the control
// flow uniform.
//
// Entry points:
//   conv        y@4 = x@1 ⊛ w@2 (+ bias@3)   forward, and with TRANSPOSED the input gradient
//                                           (dx = dy ⊛ᵀ w, the same loop with the roles swapped)
//   dw_partial  part@3 = Σ over a slice of the N·OH·OW pixels of dy@1 · x@2   (weight gradient)
//   dw_reduce   dw@2 = Σ over slices of part@1
//   db          db@2 = Σ over N, H, W of dy@1                              (bias gradient)

struct Params {
  batch: u32,
  in_c: u32,   // channels read (x's for the forward pass, dy's for TRANSPOSED)
  in_h: u32,
  in_w: u32,
  out_c: u32,  // channels written
  out_h: u32,
  out_w: u32,
  pad: u32,
  segs: u32,   // ceil(out_w / 4): each invocation writes 4 neighbouring pixels of one row
  total: u32,  // batch · out_h · segs
}

const K: i32 = ${K};
const S: i32 = ${S};

// ---------------------------------------------------------------- conv (forward, input gradient)
//
// One invocation: 4 neighbouring output pixels of a row × CB = 4·G output channels, kept as G
// mat4x4 accumulators (column = pixel, row = channel). The workgroup's lanes cover pixels; the
// channel block is uniform (workgroup z), so weights are broadcast loads. Loop order: tap outer,
// input channel inner, so the per-lane bounds and offsets are computed once per tap, not per MAC.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
#if ${HAS_BIAS}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;
#else
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;
#endif

// Source coordinate that output coordinate `o` reads at tap `k`, and whether it lies inside the
// source (outside is zero padding, or for the strided transposed pass a position no output hit).
struct Tap { at: i32, ok: bool }

fn source_tap(o: i32, k: i32, size: u32) -> Tap {
#if ${TRANSPOSED}
  // dx[i] gathers dy[o'] for every o' with o'·S - pad + k = i.
  let t = o + i32(p.pad) - k;
  let at = t / S;
  return Tap(at, t >= 0 && t % S == 0 && at < i32(size));
#else
  let at = o * S - i32(p.pad) + k;
  return Tap(at, at >= 0 && at < i32(size));
#endif
}

// Index of weight (output channel co, input channel 0, tap) and the step to the next input channel.
// The weight tensor is always [Cout, Cin, K, K] of the forward conv; TRANSPOSED reads it as
// [in_c = Cout][out_c = Cin].
fn weight_base(co: u32, tap: u32) -> u32 {
#if ${TRANSPOSED}
  return co * u32(K * K) + tap;
#else
  return co * p.in_c * u32(K * K) + tap;
#endif
}

fn weight_step() -> u32 {
#if ${TRANSPOSED}
  return p.out_c * u32(K * K);
#else
  return u32(K * K);
#endif
}

fn weights4(co: u32, tap: u32, ci: u32) -> vec4f {
  let last = p.out_c - 1u;
  let step = weight_step();
  return vec4f(
    weight[weight_base(min(co, last), tap) + ci * step],
    weight[weight_base(min(co + 1u, last), tap) + ci * step],
    weight[weight_base(min(co + 2u, last), tap) + ci * step],
    weight[weight_base(min(co + 3u, last), tap) + ci * step],
  );
}

fn store4(acc: mat4x4f, n: u32, co: u32, oy: u32, ox: u32, live: bool) {
  for (var c = 0u; c < 4u; c++) {
    if (!live || co + c >= p.out_c) { continue; }
#if ${HAS_BIAS}
    let b = bias[co + c];
#else
    let b = 0.0;
#endif
    let row = ((n * p.out_c + co + c) * p.out_h + oy) * p.out_w;
    for (var j = 0u; j < 4u; j++) {
      if (ox + j < p.out_w) { dst[row + ox + j] = acc[j][c] + b; }
    }
  }
}

@compute @workgroup_size(${WG})
fn conv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(workgroup_id) wid: vec3u) {
  let flat = gid.x + gid.y * nwg.x * ${WG}u;
  let live = flat < p.total;
  let i = min(flat, p.total - 1u);
  let seg = i % p.segs;
  let oy = (i / p.segs) % p.out_h;
  let n = i / (p.segs * p.out_h);
  let ox = seg * 4u;
  let co = wid.z * ${CB}u;

  let plane = p.in_h * p.in_w;
  let image = n * p.in_c * plane;
  var acc0 = mat4x4f();
#if ${G2}
  var acc1 = mat4x4f();
#endif
  for (var ky = 0; ky < K; ky++) {
    let ty = source_tap(i32(oy), ky, p.in_h);
    for (var kx = 0; kx < K; kx++) {
      let t0 = source_tap(i32(ox), kx, p.in_w);
      let t1 = source_tap(i32(ox) + 1, kx, p.in_w);
      let t2 = source_tap(i32(ox) + 2, kx, p.in_w);
      let t3 = source_tap(i32(ox) + 3, kx, p.in_w);
      let row = ty.at * i32(p.in_w);
      // Offsets within a channel plane, 0 where padded (the value is then masked to zero).
      let off = vec4u(
        u32(select(0, row + t0.at, ty.ok && t0.ok)),
        u32(select(0, row + t1.at, ty.ok && t1.ok)),
        u32(select(0, row + t2.at, ty.ok && t2.ok)),
        u32(select(0, row + t3.at, ty.ok && t3.ok)),
      ) + vec4u(image);
      let mask = vec4f(vec4<bool>(ty.ok && t0.ok, ty.ok && t1.ok, ty.ok && t2.ok, ty.ok && t3.ok));
      let tap = u32(ky * K + kx);
      for (var ci = 0u; ci < p.in_c; ci++) {
        let o = off + vec4u(ci * plane);
        let v = vec4f(src[o.x], src[o.y], src[o.z], src[o.w]) * mask;
        let w0 = weights4(co, tap, ci);
        acc0 += mat4x4f(w0 * v.x, w0 * v.y, w0 * v.z, w0 * v.w);
#if ${G2}
        let w1 = weights4(co + 4u, tap, ci);
        acc1 += mat4x4f(w1 * v.x, w1 * v.y, w1 * v.z, w1 * v.w);
#endif
      }
    }
  }
  store4(acc0, n, co, oy, ox, live);
#if ${G2}
  store4(acc1, n, co + 4u, oy, ox, live);
#endif
}
