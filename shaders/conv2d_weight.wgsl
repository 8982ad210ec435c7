#if ${DY_BROADCAST}
enable subgroups;
// Every lane of a workgroup reads the same dy rows when DY_BROADCAST is set (see dw_partial), so
// the loops that hold subgroupBroadcast are uniform, which the analysis cannot see.
diagnostic(off, subgroup_uniformity);
#endif
// Parameter gradients of the 2-D convolution (see conv2d.wgsl): dW and dB, NCHW f32.
//
//   dw_partial  part@3[slice] = Σ over one slice of the N·OH output rows of dy@1 · x@2
//               with BIAS_SUM, also bias_part@4[slice] = Σ over the same rows of dy@1
//   dw_reduce   dw@2 = Σ over slices of part@1 (skipped when there is one slice)
//               with BIAS_SUM, also bias_grad@4 = Σ over slices of bias_part@3
//   db          dbias@2 = Σ over N, OH, OW of dy@1 (for weight kernels that do not sum it)
//
// dw_partial reads x zero-padded exactly as the forward pass does (conv2d_layout.wgsl: rows a
// multiple of 4 floats, so an 8-pixel segment's window is whole vec4 loads) and dy padded on the
// right to whole 8-pixel segments. Each invocation owns 8 output channels × CI input channels × all
// K² taps (144 accumulators for K=3, CI=2). Per output row segment it loads 16 vec4 of dy (the same
// in every lane) and CI·K windows of x, and does CI·8·K²·8 FMAs: on lavapipe, where each load that
// differs between lanes is a loop over the SIMD lanes, FMAs per such load is what counts. CI=2 (define CI2) runs about 1.4× faster than CI=1 but takes 2-4×
// longer to compile (5 s for K=3 on lavapipe), so conv2d.ts uses it only for the hot 3×3 stride-1
// case. The reduction is split over row slices into a partial buffer, not atomics (WGSL has no
// float atomics), then summed by dw_reduce. BIAS_SUM folds dB into the same passes: dw_partial
// already loads every dy value of its rows, so summing them per output channel costs 16 vec4 adds
// per segment beside its 576 FMAs, and saves the layer a dB dispatch.

struct Params {
  in_c: u32,     // Cin
  out_c: u32,    // Cout
  out_h: u32,
  segs: u32,     // 8-pixel segments per output row (dy rows hold segs·8 floats)
  ph: u32,       // padded x rows
  pw4: u32,      // padded x row length in vec4
  rows: u32,     // batch · out_h
  rows_per_slice: u32,
  slices: u32,
  size: u32,     // Cout · Cin · K · K, entries of dW
}

const K: u32 = ${K};
const S: u32 = ${S};
const WIN4: u32 = ${WIN4};   // ceil((7·S + K) / 4)
#if ${DY_BROADCAST}
const SHARERS: u32 = ${SHARERS};
#endif
#if ${CI2}
const CI: u32 = 2u;
#else
const CI: u32 = 1u;
#endif

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<vec4f>;
@group(0) @binding(2) var<storage, read> x: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
#if ${BIAS_SUM}
@group(0) @binding(4) var<storage, read_write> bias_part: array<f32>;   // [slices][Cout]
#endif

// Workgroup (x, y, z) = (block of CI_LANES input-channel groups, block of 8 output channels, block
// of WG / CI_LANES row slices), lane = (input-channel group, slice) with the input channel fastest.
// With CI_LANES = WG (any layer with 8 or more input-channel groups) only the input channels differ
// between lanes, so every dy load (output channels, rows) has the same address in all lanes, which
// lavapipe then loads once instead of lane by lane; fewer input channels leave the rest of the lanes
// to row slices rather than idle. Yet on lavapipe such a load still cost as much as the FMAs it feeds
// (cut, timing only: 22 -> 40 GFLOP/s), so with DY_BROADCAST (CI_LANES = WG: every lane reads the
// same dy) the first SHARERS lanes of a subgroup (4 or 8) share the loads: lane L loads output
// channels L % SHARERS + k·SHARERS (2 vec4 each) and subgroupBroadcast hands each channel's to all,
// 16 / SHARERS loads per lane where there were 16.
const CI_LANES: u32 = ${CI_LANES};
const SLICE_LANES: u32 = ${WG}u / CI_LANES;

@compute @workgroup_size(${WG})
fn dw_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u
#if ${DY_BROADCAST}
              , @builtin(subgroup_invocation_id) subgroup_lane: u32
#endif
              ) {
  let ci_blocks = (p.in_c + CI - 1u) / CI;
  let ci_block = wid.x * CI_LANES + lid % CI_LANES;
  let ci = min(ci_block, ci_blocks - 1u) * CI;
  let co = wid.y * 8u;
  let slice = wid.z * SLICE_LANES + lid / CI_LANES;
  let last_co = p.out_c - 1u;
  let seg4 = p.segs * 2u;   // dy row length in vec4
  var acc: array<mat2x4f, K * K>;    // [tap], channels co..co+7, input channel ci
#if ${CI2}
  var acc1: array<mat2x4f, K * K>;   // the same for input channel ci + 1
#endif
#if ${BIAS_SUM}
  var dy_sum = mat2x4f();            // Σ dy of channels co..co+7
#endif
  let first = min(slice * p.rows_per_slice, p.rows);
  let end = min(first + p.rows_per_slice, p.rows);
  // Walk the slice's rows as (image n, row oy) without a division per row (slow on a CPU).
  var n = first / p.out_h;
  var oy = first % p.out_h;
  for (var r = first; r < end; r++) {
    // dy rows of the 8 output channels (DY_BROADCAST: of this lane's one), and the first padded x
    // row this output row reads.
#if ${DY_BROADCAST}
#unroll k ${8 / SHARERS}
    let d_lane${k} = ((n * p.out_c + min(co + subgroup_lane % SHARERS + ${k}u * SHARERS, last_co)) * p.out_h + oy) * seg4;
#endunroll
#else
#unroll c 8
    let d${c} = ((n * p.out_c + min(co + ${c}u, last_co)) * p.out_h + oy) * seg4;
#endunroll
#endif
    let x0 = ((n * p.in_c + ci) * p.ph + oy * S) * p.pw4;
#if ${CI2}
    let x1 = ((n * p.in_c + min(ci + 1u, p.in_c - 1u)) * p.ph + oy * S) * p.pw4;
#endif
    for (var sg = 0u; sg < p.segs; sg++) {
#if ${DY_BROADCAST}
#unroll k ${8 / SHARERS}
      let mine${k} = mat2x4f(dy[d_lane${k} + 2u * sg], dy[d_lane${k} + 2u * sg + 1u]);
#endunroll
#unroll c 8
      let g${c} = mat2x4f(subgroupBroadcast(mine${c / SHARERS}[0], ${c % SHARERS}u),
                          subgroupBroadcast(mine${c / SHARERS}[1], ${c % SHARERS}u));
#endunroll
#else
#unroll c 8
      let g${c} = mat2x4f(dy[d${c} + 2u * sg], dy[d${c} + 2u * sg + 1u]);
#endunroll
#endif
#if ${BIAS_SUM}
      dy_sum += mat2x4f(vec4f(row_sum(g0), row_sum(g1), row_sum(g2), row_sum(g3)),
                        vec4f(row_sum(g4), row_sum(g5), row_sum(g6), row_sum(g7)));
#endif
#unroll ky ${K}
      {
        let w0 = window(x0 + ${ky}u * p.pw4 + sg * 2u * S);
#if ${CI2}
        let w1 = window(x1 + ${ky}u * p.pw4 + sg * 2u * S);
#endif
#unroll kx ${K}
        {
          // the segment's 8 pixels at tap (ky, kx): window elements kx + i·S
          let p0 = vec4f(w0[${kx}u], w0[${kx}u + S], w0[${kx}u + 2u * S], w0[${kx}u + 3u * S]);
          let p1 = vec4f(w0[${kx}u + 4u * S], w0[${kx}u + 5u * S], w0[${kx}u + 6u * S], w0[${kx}u + 7u * S]);
          acc[${ky}u * K + ${kx}u] += mat2x4f(taps(g0, g1, g2, g3, p0, p1), taps(g4, g5, g6, g7, p0, p1));
#if ${CI2}
          let r0 = vec4f(w1[${kx}u], w1[${kx}u + S], w1[${kx}u + 2u * S], w1[${kx}u + 3u * S]);
          let r1 = vec4f(w1[${kx}u + 4u * S], w1[${kx}u + 5u * S], w1[${kx}u + 6u * S], w1[${kx}u + 7u * S]);
          acc1[${ky}u * K + ${kx}u] += mat2x4f(taps(g0, g1, g2, g3, r0, r1), taps(g4, g5, g6, g7, r0, r1));
#endif
        }
#endunroll
      }
#endunroll
    }
    let wrap = oy + 1u == p.out_h;
    oy = select(oy + 1u, 0u, wrap);
    n = select(n, n + 1u, wrap);
  }
  if (ci_block >= ci_blocks || slice >= p.slices) { return; }
#if ${BIAS_SUM}
  // Every lane of an output-channel block summed the same dy; the first input-channel lane writes it.
  if (ci_block == 0u) {
    for (var c = 0u; c < 8u; c++) {
      if (co + c < p.out_c) { bias_part[slice * p.out_c + co + c] = dy_sum[c / 4u][c % 4u]; }
    }
  }
#endif
  for (var c = 0u; c < 8u; c++) {
    if (co + c >= p.out_c) { break; }
    for (var tap = 0u; tap < K * K; tap++) {
      part[slice * p.size + ((co + c) * p.in_c + ci) * K * K + tap] = acc[tap][c / 4u][c % 4u];
#if ${CI2}
      if (ci + 1u < p.in_c) { part[slice * p.size + ((co + c) * p.in_c + ci + 1u) * K * K + tap] = acc1[tap][c / 4u][c % 4u]; }
#endif
    }
  }
}

// The source values an 8-pixel segment reads along one padded x row, from vec4 index `row`.
fn window(row: u32) -> array<f32, WIN4 * 4u> {
  var win: array<f32, WIN4 * 4u>;
#unroll v ${WIN4}
  let q${v} = x[row + ${v}u];
  win[4u * ${v}u] = q${v}.x; win[4u * ${v}u + 1u] = q${v}.y; win[4u * ${v}u + 2u] = q${v}.z; win[4u * ${v}u + 3u] = q${v}.w;
#endunroll
  return win;
}

// Σ of one channel's dy over the segment's 8 pixels.
fn row_sum(g: mat2x4f) -> f32 {
  return dot(g[0] + g[1], vec4f(1.0));
}

// Σ over the segment's 8 pixels (p0, p1) of dy · x at one tap, for 4 output channels.
fn taps(g0: mat2x4f, g1: mat2x4f, g2: mat2x4f, g3: mat2x4f, p0: vec4f, p1: vec4f) -> vec4f {
  return vec4f(dot(g0[0], p0) + dot(g0[1], p1), dot(g1[0], p0) + dot(g1[1], p1),
               dot(g2[0], p0) + dot(g2[1], p1), dot(g3[0], p0) + dot(g3[1], p1));
}

// ---------------------------------------------------------------- dw_reduce

// One invocation per entry of dW, then (BIAS_SUM) per entry of dB: rp.size + rp.out_c in all.
struct ReduceParams { size: u32, slices: u32, out_c: u32 }

@group(0) @binding(0) var<uniform> rp: ReduceParams;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
#if ${BIAS_SUM}
@group(0) @binding(3) var<storage, read> bias_partials: array<f32>;
@group(0) @binding(4) var<storage, read_write> bias_grad: array<f32>;
#endif

@compute @workgroup_size(${WG})
fn dw_reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i < rp.size) {
    var s = 0.0;
    for (var k = 0u; k < rp.slices; k++) { s += partials[k * rp.size + i]; }
    dw[i] = s;
  }
#if ${BIAS_SUM}
  let c = i - rp.size;
  if (i >= rp.size && c < rp.out_c) {
    var s = 0.0;
    for (var k = 0u; k < rp.slices; k++) { s += bias_partials[k * rp.out_c + c]; }
    bias_grad[c] = s;
  }
#endif
}

// ---------------------------------------------------------------- db

struct BiasParams { batch: u32, channels: u32, plane: u32 }

@group(0) @binding(0) var<uniform> bp: BiasParams;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> dbias: array<f32>;

var<workgroup> sums: array<f32, ${WG}>;

// One workgroup per channel, of one subgroup where known (src/gpu/gpu.ts reductionWorkgroup): lanes
// stride over the plane (contiguous loads), then a tree sum.
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
