// 2-D convolution, NCHW f32, square K×K kernel: the forward pass, and the input gradient run as a
// forward convolution of dy. Both go through the same steps:
//   pad        (conv2d_layout.wgsl) copies the source into a zero-bordered (and, for the strided
//              input gradient, zero-dilated) buffer whose rows are a multiple of 4 floats, so the
//              hot loop is a 'valid' convolution with no bounds checks and only vec4 loads;
//   repack     (conv2d_layout.wgsl) reorders the weights to [block of 8 out][in][ky][kx][8]
//              (flipped for the input gradient): 8 output channels are two vec4 loads, a kernel
//              row's taps are neighbours; one more row per block holds the bias (zeros if none);
//   conv       here.
//
// Why this shape, on the CPU drivers we measure on. lavapipe (Mesa, our CI's "GPU") runs 8
// invocations per SIMD vector, but each storage-buffer load is a loop over the lanes with a bounds
// check per lane: some 50 instructions where an FMA for all 8 lanes is one, even where every lane
// loads the same address (a uniform binding's load is one scalar load: so WT_UNIFORM, which
// 'packed' sets, 2.2× the kernel there; the block's rows are rounded up to 256 bytes so that any
// run of blocks can be bound from a block's start). SwiftShader (Chromium)
// gathers each loaded component lane by lane too, and its JIT keeps the accumulators in memory. So
// the kernel does as many FMAs per load as it can: each invocation keeps a tile of 8 output
// channels × P neighbouring output pixels (P = 16 on rows wider than 8), loads the source window of
// a kernel row once (5 vec4 for K=3, P=16) and 2 vec4 of weights per tap, and updates each
// accumulator once per ROWS kernel rows with their taps' products summed first: ROWS = 1 suits
// lavapipe, ROWS = K (written out with no row loop) suits SwiftShader, whose JIT also runs a body
// much slower inside a loop, and whose loops run as written: every tap loop here is unrolled so
// that private values are indexed by constants. No barriers, no early return (a lane past the end
// computes on clamped indices and skips its store).

struct ConvParams {
  in_c: u32,
  out_c: u32,
  out_h: u32,
  out_w: u32,
  ph: u32,       // padded source rows
  pw4: u32,      // padded source row length in vec4
  segs: u32,     // P-pixel row segments per output row: ceil(out_w / P)
  count: u32,    // batch · out_h · segs
  block4: u32,   // vec4 per packed block of 8 output channels (conv2d_layout.wgsl repack)
  block0: u32,   // the first block this dispatch's weights binding holds
}

const K: u32 = ${K};
const S: u32 = ${S};
const P: u32 = ${P};          // output pixels per invocation (a row segment): 8, 12 or 16
const ROWS: u32 = ${ROWS};    // kernel rows per accumulator update: 1 or K (see conv2d.ts)
const WIN4: u32 = ${WIN4};    // vec4 loads covering the P·S + K - S source values a segment reads
alias Acc = mat${P4}x4f;      // one output channel's P pixels

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(1) var<storage, read> src: array<vec4f>;
#if ${WT_UNIFORM}
// The blocks of this dispatch in a uniform binding: lavapipe then loads each weight once for all
// lanes (from storage, every load is a loop over the lanes), 2× the kernel's speed there.
@group(0) @binding(2) var<uniform> wt: array<vec4f, ${WT4}>;
#else
@group(0) @binding(2) var<storage, read> wt: array<vec4f>;
#endif
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

fn store_segment(acc: Acc, b: f32, n: u32, co: u32, oy: u32, ox: u32) {
  if (co >= p.out_c) { return; }
  let row = ((n * p.out_c + co) * p.out_h + oy) * p.out_w + ox;
#unroll j ${P}
  if (ox + ${j}u < p.out_w) { dst[row + ${j}u] = acc[${j}u / 4u][${j}u % 4u] + b; }
#endunroll
}

// Lanes (and workgroups x, y) are row segments; workgroup z is the block of 8 output channels.
@compute @workgroup_size(${WG})
fn conv(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let s = gid.x + gid.y * nwg.x * ${WG}u;
  let seg = min(s, p.count - 1u);
  let ox = (seg % p.segs) * P;
  let oy = (seg / p.segs) % p.out_h;
  let n = seg / (p.segs * p.out_h);
  let block = wid.z * p.block4;   // this block's weights, in vec4
  var a0 = Acc(); var a1 = Acc(); var a2 = Acc(); var a3 = Acc();
  var a4 = Acc(); var a5 = Acc(); var a6 = Acc(); var a7 = Acc();   // output channels co .. co+7
  for (var ci = 0u; ci < p.in_c; ci++) {
    // The source windows of ROWS kernel rows, and the 8 channels' weights at each of their taps
    // t = r·K + kx (row ky + r). All K rows at once are written out with no loop: SwiftShader runs
    // the same body 1.7× slower inside a one-trip loop.
#if ${ROW_LOOP}
    for (var ky = 0u; ky < K; ky++) {
#else
    {
      let ky = 0u;
#endif
      let row = ((n * p.in_c + ci) * p.ph + oy * S + ky) * p.pw4 + ox * S / 4u;
#unroll r ${ROWS}
#unroll v ${WIN4}
      let q${r}_${v} = src[row + ${r}u * p.pw4 + ${v}u];
#endunroll
#endunroll
      let taps = block + (ci * K + ky) * K * 2u;
#unroll t ${ROWS * K}
      let w${t} = mat2x4f(wt[taps + ${t * 2}u], wt[taps + ${t * 2 + 1}u]);
#endunroll
#unroll j ${P4}
      {
        // Pixels 4j .. 4j+3 at each tap: element kx + pixel·S of row r's window.
#unroll t ${ROWS * K}
        let px${t} = vec4f(q${t / K}_${(t % K + (4 * j) * S) / 4}[${(t % K + (4 * j) * S) % 4}],
                          q${t / K}_${(t % K + (4 * j + 1) * S) / 4}[${(t % K + (4 * j + 1) * S) % 4}],
                          q${t / K}_${(t % K + (4 * j + 2) * S) / 4}[${(t % K + (4 * j + 2) * S) % 4}],
                          q${t / K}_${(t % K + (4 * j + 3) * S) / 4}[${(t % K + (4 * j + 3) * S) % 4}]);
#endunroll
        // One update per accumulator for all ROWS·K taps, their products summed first.
#unroll c 8
        a${c}[${j}] += px0 * w0[${c / 4}][${c % 4}]
#unroll t ${ROWS * K - 1}
          + px${t + 1} * w${t + 1}[${c / 4}][${c % 4}]
#endunroll
          ;
#endunroll
      }
#endunroll
    }
  }
  if (s >= p.count) { return; }
  let co = (p.block0 + wid.z) * 8u;
  let bias_row = block + p.in_c * K * K * 2u;
  let b0 = wt[bias_row];
  let b1 = wt[bias_row + 1u];
  store_segment(a0, b0.x, n, co, oy, ox); store_segment(a1, b0.y, n, co + 1u, oy, ox);
  store_segment(a2, b0.z, n, co + 2u, oy, ox); store_segment(a3, b0.w, n, co + 3u, oy, ox);
  store_segment(a4, b1.x, n, co + 4u, oy, ox); store_segment(a5, b1.y, n, co + 5u, oy, ox);
  store_segment(a6, b1.z, n, co + 6u, oy, ox); store_segment(a7, b1.w, n, co + 7u, oy, ox);
}
