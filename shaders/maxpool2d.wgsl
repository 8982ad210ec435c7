// 2×2 max-pooling with stride 2 over NCHW (H, W even), and its backward. The backward recomputes
// each window's argmax instead of saving it and writes all four dx values of its window (windows
// tile the input, so every dx is written exactly once: no scatter); with PRIOR it adds x's gradient
// from its other consumers as it writes, sparing autograd a separate sum.
// Grid (⌈Ho·Wo / WG⌉, C, ⌈N / SAMPLES⌉): an invocation handles one output position of one channel
// for SAMPLES samples, so its single integer division (slow on CPU drivers) is amortised.
struct Params {
  n: u32, c: u32, ho: u32, wo: u32,
#if ${PADDED}
  // maxpool_forward_padded: the padded plane's row length and size in vec4, where y's (0, 0) lands
  pw4: u32, cells: u32, top: i32, left: i32,
#endif
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#if ${PADDED}
@group(0) @binding(3) var<storage, read_write> padded_y: array<vec4f>;
#endif
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
#if ${PRIOR}
// x's gradient from its other consumers (e.g. a skip connection), added as dx is written.
@group(0) @binding(4) var<storage, read> prior: array<f32>;
#endif

/** Input indices of a window in row-major order, from the index of its top-left element. */
fn window(top: u32) -> array<u32, 4> {
  let w = 2u * p.wo;
  return array<u32, 4>(top, top + 1u, top + w, top + w + 1u);
}

/** Position (0..3) of the window's maximum; ties go to the first, as in PyTorch. */
fn argmax(win: array<u32, 4>) -> u32 {
  var best = 0u;
  var m = x[win[0]];
  for (var k = 1u; k < 4u; k++) {
    let v = x[win[k]];
    if (v > m) { m = v; best = k; }
  }
  return best;
}

@compute @workgroup_size(${WG})
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.ho * p.wo) { return; }
  let oy = r / p.wo;
  let ox = r - oy * p.wo;
  let first = gid.z * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    let plane = s * p.c + gid.y;
    let win = window(plane * 4u * p.ho * p.wo + 2u * oy * 2u * p.wo + 2u * ox);
    y[plane * p.ho * p.wo + r] = x[win[argmax(win)]];
  }
}

#if ${PADDED}
#include padded_cells

// y as maxpool_forward writes it, and beside it y zero-padded as the conv after the pool reads its
// input (src/autograd/padded-copies.ts), in one dispatch. Grid (⌈cells / WG⌉, plane groups), as
// conv2d_layout.wgsl's pad: an invocation owns 4 padded columns of one padded row, works out which
// outputs they hold once, and pools them for every num_workgroups.y-th plane.
@compute @workgroup_size(${WG})
fn maxpool_forward_padded(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                          @builtin(num_workgroups) nwg: vec3u) {
  let cell = gid.x;
  if (cell >= p.cells) { return; }
  let source = padded_cell_sources(cell, p.pw4, p.top, p.left, p.ho, p.wo, 1);
  let ok = source >= vec4i(0);
  let out_at = vec4u(max(source, vec4i(0)));   // within a plane of y
  let window_at = 4u * (out_at / p.wo) * p.wo + 2u * (out_at % p.wo);   // its window's top left in x's plane
  for (var plane = wid.y; plane < p.n * p.c; plane += nwg.y) {
    var v = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      if (ok[k]) {
        let win = window(plane * 4u * p.ho * p.wo + window_at[k]);
        v[k] = x[win[argmax(win)]];
        y[plane * p.ho * p.wo + out_at[k]] = v[k];
      }
    }
    padded_y[plane * p.cells + cell] = v;
  }
}
#endif

@compute @workgroup_size(${WG})
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.ho * p.wo) { return; }
  let oy = r / p.wo;
  let ox = r - oy * p.wo;
  let first = gid.z * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    let plane = s * p.c + gid.y;
    let win = window(plane * 4u * p.ho * p.wo + 2u * oy * 2u * p.wo + 2u * ox);
    let best = argmax(win);
    let g = dy[plane * p.ho * p.wo + r];
    for (var k = 0u; k < 4u; k++) {
#if ${PRIOR}
      dx[win[k]] = select(0.0, g, k == best) + prior[win[k]];
#else
      dx[win[k]] = select(0.0, g, k == best);
#endif
    }
  }
}
