// Winograd F(2×2, 3×3) convolution (NCHW f32, 3×3 kernel, stride 1, zero padding): a 2×2 output
// tile from a 4×4 source tile with 16 multiplies per input–output channel pair instead of 36
// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
//
//   y_tile = Aᵀ [ Σ_ci (G g Gᵀ) ⊙ (Bᵀ d B) ] A      Bᵀ = | 1  0 -1  0 |   G = | 1    0    0  |   Aᵀ = | 1  1  1  0 |
//                                                         | 0  1  1  0 |       | ½    ½    ½  |        | 0  1 -1 -1 |
//                                                         | 0 -1  1  0 |       | ½   -½    ½  |
//                                                         | 0  1  0 -1 |       | 0    0    1  |
//
// The forward pass and the input gradient (a stride-1 convolution of dy with the weights
// transposed and rotated 180°) are both "a 3×3 convolution of a source with `pad` zeros around it",
// run as four passes (src/ops/conv2d/winograd.ts):
//   filters  U = G g Gᵀ per (out, in) channel pair: [ξ][block][in][CO] for the 16 positions ξ of
//            the 4×4 transformed tile and blocks of CO output channels (zeros past the last);
//   tiles    V = Bᵀ d B per source tile: [ξ][in][tile], tiles of the whole batch in a row (n
//            slowest), read straight from the unpadded source (out-of-range taps are selects of 0);
//   gemm     16 matrix products, one per ξ: M[ξ] = U[ξ] (out × in) · V[ξ] (in × tiles);
//   output   y = Aᵀ M A + bias per tile and output channel, stored as the 2×2 tile.
//
// Why this shape, on lavapipe (see conv2d.wgsl's header): it runs 8 invocations per SIMD vector;
// a storage load whose address differs between lanes is a loop over the lanes with a bounds check
// each (some 50 instructions), one whose address is the same in every lane is one scalar load and
// a broadcast, and an FMA for all 8 lanes is one instruction. So in `gemm` lanes are runs of P
// neighbouring tiles and the workgroup's z is (ξ, block of CO output channels): per input channel a
// lane loads its P transformed values as P/4 vec4 and the block's CO filter values lane-uniformly,
// and does CO·P FMAs on accumulators kept as CO vectors of P with constant indices (every loop over
// them unrolled, for SwiftShader). A first version that kept all 16 ξ of one tile per lane (so the
// output transform could follow in registers) loaded 16 uniform values per CO·16 FMAs and ran at a
// third of 'packed' on lavapipe. No barriers; no per-lane branches but the edge checks of the final
// stores (a lane past the end computes on clamped indices and skips its store).
//
// The weight gradient is F(3×3, 2×2), the transpose of the forward's algorithm: each 2×2 tile of dy
// is a "filter" over the 4×4 source tile, so
//
//   dW = Gᵀ [ Σ_tiles (A dy_tile Aᵀ) ⊙ (Bᵀ d B) ] G      (A = (Aᵀ)ᵀ, G as above)
//
// run as three passes after the source's tiles_transform (src/ops/conv2d/winograd.ts):
//   grad_tiles   D = A dy Aᵀ per 2×2 tile of dy: [ξ][out][tile], in the same columns as V;
//   weight_gemm  16 products M[ξ] = D[ξ] (out × tiles) · V[ξ]ᵀ (tiles × in), the sum over the
//                batch's tiles split into slices (WGSL has no float atomics): partial sums
//                [slice][ξ][out][in];
//   weight_output  dW = Gᵀ M G per (out, in) channel pair, the slices summed on the way.
// In weight_gemm lanes are runs of WCI input channels and the workgroup is (block of WCO output
// channels, ξ, slice): per 4 tiles a lane loads its WCI vec4 of V and the block's WCO vec4 of D
// lane-uniformly and does WCO·WCI vec4 FMAs; the loop bounds are the slice's, the same in every
// lane, and there are no barriers.

const CO: u32 = ${CO};   // output channels per gemm invocation (and per filter block)
const P: u32 = ${P};     // tiles per gemm invocation, a multiple of 4
const WCO: u32 = ${WCO}; // output channels per weight_gemm invocation
const WCI: u32 = ${WCI}; // input channels per weight_gemm invocation
// gemm's workgroup size (${GEMM_WG}): 8 to 64, no more lanes than a row of V has runs of P tiles.

// ---------------------------------------------------------------- filters

struct FilterParams {
  cout: u32,     // of the weights w [Cout, Cin, 3, 3]
  cin: u32,
  out_c: u32,    // of this convolution: Cout (forward) or Cin (input gradient, flip = 1)
  in_c: u32,
  flip: u32,     // 1: filter (out, in) is w[in, out] rotated 180°
  blocks: u32,   // ceil(out_c / CO)
  total: u32,    // blocks · CO · in_c
}

@group(0) @binding(0) var<uniform> fp: FilterParams;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read_write> filters: array<f32>;

// One invocation per (block, in, out within the block): its 3×3 filter g (zero past the last
// output channel), transformed to U = G g Gᵀ and scattered to the 16 ξ planes.
@compute @workgroup_size(64)
fn filters_transform(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= fp.total) { return; }
  let c = i % CO;
  let ci = (i / CO) % fp.in_c;
  let co = (i / (CO * fp.in_c)) * CO + c;
  let ok = co < fp.out_c;
  let oc = min(co, fp.out_c - 1u);
  // Tap (ky, kx) is at base + step·(3·ky + kx): step -1 reads the filter rotated 180°.
  var base = (oc * fp.cin + ci) * 9u;
  var step = 1;
  if (fp.flip == 1u) {
    base = (ci * fp.cin + oc) * 9u + 8u;
    step = -1;
  }
  var g: array<vec3f, 3>;
  for (var r = 0; r < 3; r++) {
    let at = i32(base) + step * 3 * r;
    g[r] = select(vec3f(0.0), vec3f(weights[u32(at)], weights[u32(at + step)], weights[u32(at + 2 * step)]), ok);
  }
  // G g: 4 rows of 3; then each row times Gᵀ: 4 values.
  let gg = array<vec3f, 4>(g[0], 0.5 * (g[0] + g[1] + g[2]), 0.5 * (g[0] - g[1] + g[2]), g[2]);
  let plane = fp.blocks * CO * fp.in_c;   // floats per ξ
  for (var r = 0u; r < 4u; r++) {
    let a = gg[r];
    let u = vec4f(a.x, 0.5 * (a.x + a.y + a.z), 0.5 * (a.x - a.y + a.z), a.z);
    for (var q = 0u; q < 4u; q++) { filters[(r * 4u + q) * plane + i] = u[q]; }
  }
}

// ---------------------------------------------------------------- tiles

struct TileParams {
  planes: u32,   // N · C of the source
  c: u32,        // C
  h: u32,        // source rows
  w: u32,        // source columns
  pad: i32,      // zeros before the first source row and column
  tiles_w: u32,  // tiles per tile row: ceil(out_w / 2)
  tiles: u32,    // tiles per plane: ceil(out_h / 2) · tiles_w
  row: u32,      // tiles in a row of V: N · tiles rounded up to a multiple of P
}

@group(0) @binding(0) var<uniform> tp: TileParams;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> tiles: array<f32>;

// Bᵀ applied to the 4 rows (or columns) of a tile: q0 - q2, q1 + q2, q2 - q1, q1 - q3.
fn bt_rows(q: array<vec4f, 4>) -> array<vec4f, 4> {
  return array<vec4f, 4>(q[0] - q[2], q[1] + q[2], q[2] - q[1], q[1] - q[3]);
}

// One invocation per tile position, for its share of the planes (every num_workgroups.y-th, as in
// conv2d_layout.wgsl's pad): the 16 source offsets and their in-range mask are computed once.
@compute @workgroup_size(64)
fn tiles_transform(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                   @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x;
  if (t >= tp.tiles) { return; }
  let y0 = i32((t / tp.tiles_w) * 2u) - tp.pad;
  let x0 = i32((t % tp.tiles_w) * 2u) - tp.pad;
  let ys = vec4i(y0, y0 + 1, y0 + 2, y0 + 3);
  let xs = vec4i(x0, x0 + 1, x0 + 2, x0 + 3);
  let y_ok = (ys >= vec4i(0)) & (ys < vec4i(i32(tp.h)));
  let x_ok = (xs >= vec4i(0)) & (xs < vec4i(i32(tp.w)));
  let cols = vec4u(clamp(xs, vec4i(0), vec4i(i32(tp.w) - 1)));
  let rows = vec4u(clamp(ys, vec4i(0), vec4i(i32(tp.h) - 1))) * tp.w;
  let plane_size = tp.h * tp.w;
  let xi_stride = tp.c * tp.row;   // floats per ξ
  for (var plane = wid.y; plane < tp.planes; plane += nwg.y) {
    let base = plane * plane_size;
    var d: array<vec4f, 4>;
#unroll r 4
    d[${r}] = select(vec4f(0.0), vec4f(source[base + rows[${r}] + cols.x], source[base + rows[${r}] + cols.y],
                                      source[base + rows[${r}] + cols.z], source[base + rows[${r}] + cols.w]),
                     x_ok & vec4<bool>(y_ok[${r}]));
#endunroll
    // Bᵀ d (rows), transposed, Bᵀ again (columns): the columns of V = Bᵀ d B.
    let bd = bt_rows(d);
    let m = transpose(mat4x4f(bd[0], bd[1], bd[2], bd[3]));
    let v = bt_rows(array<vec4f, 4>(m[0], m[1], m[2], m[3]));
    // Plane n·C + ci, tile t sits at column n·tiles + t of row ci.
    let at = (plane % tp.c) * tp.row + (plane / tp.c) * tp.tiles + t;
#unroll q 16
    tiles[${q}u * xi_stride + at] = v[${q % 4}][${q / 4}];
#endunroll
  }
}

// L applied to the 2 rows (or columns) of a dy tile: the 4 rows of A·q (A = (Aᵀ)ᵀ).
fn a_rows(q0: vec2f, q1: vec2f) -> array<vec2f, 4> {
  return array<vec2f, 4>(q0, q0 + q1, q0 - q1, -q1);
}

// The weight gradient's dy tiles: one invocation per 2×2 tile position of dy (tp.pad = 0, the
// tiling of the forward's output), for its share of the planes; D = A dy Aᵀ in the columns of V.
@compute @workgroup_size(64)
fn grad_tiles_transform(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                        @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x;
  if (t >= tp.tiles) { return; }
  let y0 = (t / tp.tiles_w) * 2u;
  let x0 = (t % tp.tiles_w) * 2u;
  let y_ok = y0 + 1u < tp.h;
  let x_ok = x0 + 1u < tp.w;
  let x1 = select(x0, x0 + 1u, x_ok);
  let row0 = y0 * tp.w;
  let row1 = select(y0, y0 + 1u, y_ok) * tp.w;
  let plane_size = tp.h * tp.w;
  let xi_stride = tp.c * tp.row;   // floats per ξ
  for (var plane = wid.y; plane < tp.planes; plane += nwg.y) {
    let base = plane * plane_size;
    let q0 = vec2f(source[base + row0 + x0], select(0.0, source[base + row0 + x1], x_ok));
    let q1 = select(vec2f(0.0), vec2f(source[base + row1 + x0], select(0.0, source[base + row1 + x1], x_ok)), y_ok);
    // A q (rows), then each row's 2 values times Aᵀ (columns): d[r][q] for ξ = 4r + q.
    let rows = a_rows(q0, q1);
    let at = (plane % tp.c) * tp.row + (plane / tp.c) * tp.tiles + t;
#unroll r 4
    {
      let e = rows[${r}];
      let d = vec4f(e.x, e.x + e.y, e.x - e.y, -e.y);
#unroll q 4
      tiles[${4 * r + q}u * xi_stride + at] = d[${q}];
#endunroll
    }
#endunroll
  }
}

// ---------------------------------------------------------------- gemm

struct GemmParams {
  in_c: u32,
  out_c: u32,
  blocks: u32,   // ceil(out_c / CO)
  row4: u32,     // vec4 per row of V and M (row / 4)
  chunks: u32,   // P-tile runs per row: row / P
}

@group(0) @binding(0) var<uniform> gp: GemmParams;
@group(0) @binding(1) var<storage, read> v_in: array<vec4f>;   // [ξ][in][row]
@group(0) @binding(2) var<storage, read> u_in: array<vec4f>;   // [ξ][block][in][CO]
@group(0) @binding(3) var<storage, read_write> m_out: array<vec4f>;   // [ξ][out][row]

alias Acc = mat${P / 4}x4f;   // one output channel's P tiles

// Lanes (and workgroups x, y) are runs of P tiles; workgroup z is (ξ, block of CO output channels).
@compute @workgroup_size(${GEMM_WG})
fn gemm(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let s = gid.x + gid.y * nwg.x * ${GEMM_WG}u;
  let chunk = min(s, gp.chunks - 1u);
  let xi = wid.z / gp.blocks;
  let block = wid.z % gp.blocks;
#unroll c ${CO}
  var a${c} = Acc();
#endunroll
  var v_at = xi * gp.in_c * gp.row4 + chunk * (P / 4u);
  var u_at = ((xi * gp.blocks + block) * gp.in_c) * (CO / 4u);
  var ci = 0u;
#if ${CI4}
  // Four input channels summed per accumulator update: SwiftShader's JIT keeps the accumulators in
  // memory (a load and a store each per update, as many as the FMAs at one channel per update);
  // lavapipe's LLVM keeps them in registers, and the 24 loaded vec4 live at once spill there.
  for (; ci + 4u <= gp.in_c; ci += 4u) {
#unroll k 4
#unroll j ${P / 4}
    let v${k}_${j} = v_in[v_at + ${k}u * gp.row4 + ${j}u];
#endunroll
#unroll q ${CO / 4}
    let u${k}_${q} = u_in[u_at + ${k * (CO / 4) + q}u];
#endunroll
#endunroll
#unroll c ${CO}
#unroll j ${P / 4}
    a${c}[${j}] += v0_${j} * u0_${c / 4}[${c % 4}] + v1_${j} * u1_${c / 4}[${c % 4}] + v2_${j} * u2_${c / 4}[${c % 4}] + v3_${j} * u3_${c / 4}[${c % 4}];
#endunroll
#endunroll
    v_at += 4u * gp.row4;
    u_at += CO;
  }
#endif
  for (; ci < gp.in_c; ci++) {
#unroll j ${P / 4}
    let v${j} = v_in[v_at + ${j}u];
#endunroll
#unroll q ${CO / 4}
    let u${q} = u_in[u_at + ${q}u];
#endunroll
#unroll c ${CO}
#unroll j ${P / 4}
    a${c}[${j}] += v${j} * u${c / 4}[${c % 4}];
#endunroll
#endunroll
    v_at += gp.row4;
    u_at += CO / 4u;
  }
  if (s >= gp.chunks) { return; }
  let co = block * CO;
  let at = (xi * gp.out_c + co) * gp.row4 + chunk * (P / 4u);
#unroll c ${CO}
  if (co + ${c}u < gp.out_c) {
#unroll j ${P / 4}
    m_out[at + ${c}u * gp.row4 + ${j}u] = a${c}[${j}];
#endunroll
  }
#endunroll
}

// ---------------------------------------------------------------- output

struct OutputParams {
  out_c: u32,
  out_h: u32,
  out_w: u32,
  tiles_w: u32,  // ceil(out_w / 2)
  tiles: u32,    // tiles per plane
  row: u32,      // tiles in a row of M
  count: u32,    // out_c · N · tiles
}

@group(0) @binding(0) var<uniform> op: OutputParams;
@group(0) @binding(1) var<storage, read> m_in: array<f32>;   // [ξ][out][row]
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
#if ${BIAS}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif

// One invocation per output channel and tile: y = Aᵀ M A (+ bias), stored where inside the output.
@compute @workgroup_size(64)
fn output_transform(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= op.count) { return; }
  let batch_tiles = op.count / op.out_c;
  let co = i / batch_tiles;
  let tile = i % batch_tiles;
  let at = co * op.row + tile;
  let xi_stride = op.out_c * op.row;
  var m: array<vec4f, 4>;   // rows of M
#unroll r 4
  m[${r}] = vec4f(m_in[${r * 4}u * xi_stride + at], m_in[${r * 4 + 1}u * xi_stride + at],
                  m_in[${r * 4 + 2}u * xi_stride + at], m_in[${r * 4 + 3}u * xi_stride + at]);
#endunroll
  let t0 = m[0] + m[1] + m[2];
  let t1 = m[1] - m[2] - m[3];
#if ${BIAS}
  let b = bias[co];
#else
  let b = 0.0;
#endif
  let n = tile / op.tiles;
  let t = tile % op.tiles;
  let oy = (t / op.tiles_w) * 2u;
  let ox = (t % op.tiles_w) * 2u;
  let row = ((n * op.out_c + co) * op.out_h + oy) * op.out_w + ox;
  let right = ox + 1u < op.out_w;
  dst[row] = t0.x + t0.y + t0.z + b;
  if (right) { dst[row + 1u] = t0.y - t0.z - t0.w + b; }
  if (oy + 1u < op.out_h) {
    dst[row + op.out_w] = t1.x + t1.y + t1.z + b;
    if (right) { dst[row + op.out_w + 1u] = t1.y - t1.z - t1.w + b; }
  }
}

// ---------------------------------------------------------------- weight gemm

struct WeightGemmParams {
  in_c: u32,
  out_c: u32,
  count: u32,      // tiles summed: N · tiles per plane (columns of D and V past it are unset)
  row4: u32,       // vec4 per row of D and V
  per_slice: u32,  // vec4 of a row per slice
  slices: u32,
}

@group(0) @binding(0) var<uniform> wp: WeightGemmParams;
@group(0) @binding(1) var<storage, read> d_in: array<vec4f>;   // [ξ][out][row]
@group(0) @binding(2) var<storage, read> x_tiles: array<vec4f>;   // [ξ][in][row]
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;   // [slice][ξ][out][in]

// Workgroup (x, y, z) = (block of WEIGHT_WG lanes of WCI input channels, block of WCO output
// channels, ξ · slices + slice); past the last input channel a lane computes on clamped indices and
// skips its store.
@compute @workgroup_size(${WEIGHT_WG})
fn weight_gemm(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3u) {
  let ci = (wid.x * ${WEIGHT_WG}u + lid) * WCI;
  let co = wid.y * WCO;
  let xi = wid.z / wp.slices;
  let slice = wid.z % wp.slices;
  let first = slice * wp.per_slice;
  let whole = wp.count / 4u;   // vec4 whose 4 tiles all count
  let end = min(first + wp.per_slice, whole);
#unroll c ${WCO}
  let d${c} = (xi * wp.out_c + min(co + ${c}u, wp.out_c - 1u)) * wp.row4;
#endunroll
#unroll i ${WCI}
  let x${i} = (xi * wp.in_c + min(ci + ${i}u, wp.in_c - 1u)) * wp.row4;
#endunroll
#unroll c ${WCO}
#unroll i ${WCI}
  var a${c}_${i} = vec4f(0.0);
#endunroll
#endunroll
  for (var t = first; t < end; t++) {
#unroll i ${WCI}
    let v${i} = x_tiles[x${i} + t];
#endunroll
#unroll c ${WCO}
    {
      let d = d_in[d${c} + t];
#unroll i ${WCI}
      a${c}_${i} = fma(d, v${i}, a${c}_${i});
#endunroll
    }
#endunroll
  }
  // The row's last vec4 when it is partial, in the slice that holds it: its unset tiles masked out.
  if (whole * 4u < wp.count && whole >= first && whole < first + wp.per_slice) {
    let keep = vec4u(whole * 4u) + vec4u(0u, 1u, 2u, 3u) < vec4u(wp.count);
#unroll i ${WCI}
    let v${i} = x_tiles[x${i} + whole];
#endunroll
#unroll c ${WCO}
    {
      let d = d_in[d${c} + whole];
#unroll i ${WCI}
      a${c}_${i} += select(vec4f(0.0), d * v${i}, keep);
#endunroll
    }
#endunroll
  }
  let at = ((slice * 16u + xi) * wp.out_c + co) * wp.in_c + ci;
#unroll c ${WCO}
#unroll i ${WCI}
  if (co + ${c}u < wp.out_c && ci + ${i}u < wp.in_c) { partial[at + ${c}u * wp.in_c + ${i}u] = dot(a${c}_${i}, vec4f(1.0)); }
#endunroll
#endunroll
}

// ---------------------------------------------------------------- weight output

struct WeightOutputParams {
  pairs: u32,    // out_c · in_c
  slices: u32,
}

@group(0) @binding(0) var<uniform> wo: WeightOutputParams;
@group(0) @binding(1) var<storage, read> partial_in: array<f32>;   // [slice][ξ][out][in]
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;     // [out][in][3][3]

// Gᵀ applied to the 4 rows (or columns) of M: the 3 rows of Gᵀ M.
fn gt_rows(m0: vec4f, m1: vec4f, m2: vec4f, m3: vec4f) -> array<vec4f, 3> {
  let s = 0.5 * (m1 + m2);
  return array<vec4f, 3>(m0 + s, 0.5 * (m1 - m2), s + m3);
}

// One invocation per (out, in) channel pair: M summed over the slices, dW = Gᵀ M G.
@compute @workgroup_size(64)
fn weight_output(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= wo.pairs) { return; }
  var m: array<vec4f, 4>;   // rows of M
  for (var s = 0u; s < wo.slices; s++) {
    let at = s * 16u * wo.pairs + i;
#unroll r 4
    m[${r}] += vec4f(partial_in[at + ${4 * r}u * wo.pairs], partial_in[at + ${4 * r + 1}u * wo.pairs],
                     partial_in[at + ${4 * r + 2}u * wo.pairs], partial_in[at + ${4 * r + 3}u * wo.pairs]);
#endunroll
  }
  // Gᵀ M (rows), transposed, Gᵀ again (columns): dW's 3 rows are the columns of the second.
  let gm = gt_rows(m[0], m[1], m[2], m[3]);
  let t = transpose(mat3x4f(gm[0], gm[1], gm[2]));   // 4 columns of 3 (as rows)
  let w = gt_rows(vec4f(t[0], 0.0), vec4f(t[1], 0.0), vec4f(t[2], 0.0), vec4f(t[3], 0.0));
#unroll ky 3
#unroll kx 3
  dw[i * 9u + ${3 * ky + kx}u] = w[${kx}][${ky}];
#endunroll
#endunroll
}
