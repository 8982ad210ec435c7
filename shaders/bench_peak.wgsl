// The adapter's "peak", for bench/: a register-tiled f32 matmul and a vec4 copy. Kernel timings in
// bench/ are reported as fractions of what these reach on the same adapter.

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

// Each invocation owns a 4 × 4 block of C (or 4 × 8 when WIDE) in named vec4 registers. Per four
// steps of k it loads 4 vec4s of A and 4 (or 8) vec4s of B and does 16 (or 32) vec4 multiply-adds.
// No workgroup memory, so no barriers: they are what costs most on CPU drivers such as lavapipe.
// The block is written out by hand because lavapipe keeps private arrays in memory.
@compute @workgroup_size(${WG_X}, ${WG_Y})
fn matmul(@builtin(global_invocation_id) gid: vec3u) {
  let n4 = p.n / 4u;
  let k4 = p.k / 4u;
#if ${WIDE}
  let col = gid.x * 2u;
#else
  let col = gid.x;
#endif
  let row = gid.y * 4u;
  var c0 = vec4f();
  var c1 = vec4f();
  var c2 = vec4f();
  var c3 = vec4f();
#if ${WIDE}
  var d0 = vec4f();
  var d1 = vec4f();
  var d2 = vec4f();
  var d3 = vec4f();
#endif
  for (var kk = 0u; kk < k4; kk++) {
    let r0 = kk * 4u * n4 + col;
    let r1 = r0 + n4;
    let r2 = r1 + n4;
    let r3 = r2 + n4;
    let b0 = b[r0];
    let b1 = b[r1];
    let b2 = b[r2];
    let b3 = b[r3];
    let a0 = a[row * k4 + kk];
    let a1 = a[(row + 1u) * k4 + kk];
    let a2 = a[(row + 2u) * k4 + kk];
    let a3 = a[(row + 3u) * k4 + kk];
    c0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
    c1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
    c2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
    c3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
#if ${WIDE}
    let e0 = b[r0 + 1u];
    let e1 = b[r1 + 1u];
    let e2 = b[r2 + 1u];
    let e3 = b[r3 + 1u];
    d0 += a0.x * e0 + a0.y * e1 + a0.z * e2 + a0.w * e3;
    d1 += a1.x * e0 + a1.y * e1 + a1.z * e2 + a1.w * e3;
    d2 += a2.x * e0 + a2.y * e1 + a2.z * e2 + a2.w * e3;
    d3 += a3.x * e0 + a3.y * e1 + a3.z * e2 + a3.w * e3;
#endif
  }
  c[row * n4 + col] = c0;
  c[(row + 1u) * n4 + col] = c1;
  c[(row + 2u) * n4 + col] = c2;
  c[(row + 3u) * n4 + col] = c3;
#if ${WIDE}
  c[row * n4 + col + 1u] = d0;
  c[(row + 1u) * n4 + col + 1u] = d1;
  c[(row + 2u) * n4 + col + 1u] = d2;
  c[(row + 3u) * n4 + col + 1u] = d3;
#endif
}

// Copy: one vec4 per invocation, flat index folded over a 2-D grid (grid1d).
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i < arrayLength(&dst)) {
    dst[i] = src[i];
  }
}
