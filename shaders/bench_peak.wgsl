// The adapter's "peak", for bench/: a register-tiled f32 matmul and a vec4 copy (the ALU ceiling is
// shaders/bench_alu.wgsl). Kernel timings in bench/ are reported as fractions of what these reach on
// the same adapter.

struct MatmulParams {
  m: u32,
  n: u32,
  k: u32,
}

@group(0) @binding(0) var<uniform> p: MatmulParams;
// C = A·B, all row-major and read as vec4 rows: A is M×K, B is K×N, C is M×N; K and N are
// multiples of 4 and the grid covers C exactly (bench/peak.ts picks such sizes).
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;

// Each invocation owns a block of C in registers, as 4×4 sub-blocks held in mat4x4f accumulators
// whose columns are rows of C. Per four steps of k, sub-block (i, j) gains B_j · A_i, where A_i's
// columns are 4 rows of A (one vec4 of k each) and B_j's columns are 4 rows of B (k .. k+3, one
// vec4 of columns each): 64 multiply-adds per 8 loads for a 4×4 block, 512 per 24 for 8×16.
// No workgroup memory, so no barriers: on CPU drivers such as lavapipe a barrier, and each storage
// load, costs many FMAs, so big register blocks win. Separate named accumulators, because lavapipe
// keeps private arrays in memory.

// Rows row .. row+3 of A at k = 4·kk .. 4·kk+3.
fn a_block(row: u32, kk: u32) -> mat4x4f {
  let k4 = p.k / 4u;
  return mat4x4f(a[row * k4 + kk], a[(row + 1u) * k4 + kk], a[(row + 2u) * k4 + kk], a[(row + 3u) * k4 + kk]);
}

// Rows 4·kk .. 4·kk+3 of B at columns 4·col4 .. 4·col4+3.
fn b_block(kk: u32, col4: u32) -> mat4x4f {
  let n4 = p.n / 4u;
  let r = kk * 4u * n4 + col4;
  return mat4x4f(b[r], b[r + n4], b[r + 2u * n4], b[r + 3u * n4]);
}

fn store(block: mat4x4f, row: u32, col4: u32) {
  let n4 = p.n / 4u;
  for (var i = 0u; i < 4u; i++) {
    c[(row + i) * n4 + col4] = block[i];
  }
}

// 4 rows × 4 columns per invocation.
@compute @workgroup_size(${WG_X}, ${WG_Y})
fn matmul_4x4(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y * 4u;
  let col4 = gid.x;
  var c00 = mat4x4f();
  for (var kk = 0u; kk < p.k / 4u; kk++) {
    c00 += b_block(kk, col4) * a_block(row, kk);
  }
  store(c00, row, col4);
}

// 8 rows × 8 columns per invocation.
@compute @workgroup_size(${WG_X}, ${WG_Y})
fn matmul_8x8(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y * 8u;
  let col4 = gid.x * 2u;
  var c00 = mat4x4f();
  var c01 = mat4x4f();
  var c10 = mat4x4f();
  var c11 = mat4x4f();
  for (var kk = 0u; kk < p.k / 4u; kk++) {
    let b0 = b_block(kk, col4);
    let b1 = b_block(kk, col4 + 1u);
    let a0 = a_block(row, kk);
    let a1 = a_block(row + 4u, kk);
    c00 += b0 * a0;
    c01 += b1 * a0;
    c10 += b0 * a1;
    c11 += b1 * a1;
  }
  store(c00, row, col4);
  store(c01, row, col4 + 1u);
  store(c10, row + 4u, col4);
  store(c11, row + 4u, col4 + 1u);
}

// 8 rows × 16 columns per invocation.
@compute @workgroup_size(${WG_X}, ${WG_Y})
fn matmul_8x16(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.y * 8u;
  let col4 = gid.x * 4u;
  var c00 = mat4x4f();
  var c01 = mat4x4f();
  var c02 = mat4x4f();
  var c03 = mat4x4f();
  var c10 = mat4x4f();
  var c11 = mat4x4f();
  var c12 = mat4x4f();
  var c13 = mat4x4f();
  for (var kk = 0u; kk < p.k / 4u; kk++) {
    let b0 = b_block(kk, col4);
    let b1 = b_block(kk, col4 + 1u);
    let b2 = b_block(kk, col4 + 2u);
    let b3 = b_block(kk, col4 + 3u);
    let a0 = a_block(row, kk);
    let a1 = a_block(row + 4u, kk);
    c00 += b0 * a0;
    c01 += b1 * a0;
    c02 += b2 * a0;
    c03 += b3 * a0;
    c10 += b0 * a1;
    c11 += b1 * a1;
    c12 += b2 * a1;
    c13 += b3 * a1;
  }
  store(c00, row, col4);
  store(c01, row, col4 + 1u);
  store(c02, row, col4 + 2u);
  store(c03, row, col4 + 3u);
  store(c10, row + 4u, col4);
  store(c11, row + 4u, col4 + 1u);
  store(c12, row + 4u, col4 + 2u);
  store(c13, row + 4u, col4 + 3u);
}

// Copy: each invocation moves COPY_PER vec4s, one per pass over the grid (lanes of a pass touch
// neighbouring vec4s): few, busy invocations are what CPU drivers run fastest.
const COPY_PER: u32 = 8u;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * 256u;
  let len = arrayLength(&dst);
  for (var j = 0u; j < COPY_PER; j++) {
    let i = gid.x + j * stride;
    if (i < len) {
      dst[i] = src[i];
    }
  }
}
