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

const CO: u32 = ${CO};   // output channels per gemm invocation (and per filter block)
const P: u32 = ${P};     // tiles per gemm invocation, a multiple of 4
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
  for (var ci = 0u; ci < gp.in_c; ci++) {
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
