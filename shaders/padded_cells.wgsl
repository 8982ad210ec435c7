// Included (`#include padded_cells`, src/gpu/shader.ts) by the passes that write a tensor
// zero-padded as a convolution reads it (src/ops/conv2d/packed.ts, src/autograd/padded-copies.ts):
// conv2d_layout.wgsl's pad, and batch norm, max-pool and the decoder's join, which write the copy
// beside their own output. No entry points.
//
// A padded plane is rows of `pw4` vec4 cells. Source row 0 lands on padded row `top` and source
// column 0 on padded column `left` (either negative where the source is cropped); with dilation `d`
// (the input gradient of a strided conv), d - 1 zeros sit between the source's pixels.

// The source coordinate of padded coordinate `at`, and 1 where there is one (0: the cell holds a zero).
fn padded_source(at: i32, origin: i32, size: u32, d: i32) -> vec2i {
  let t = at - origin;
  return vec2i(t / d, i32(t >= 0 && t % d == 0 && t / d < i32(size)));
}

// Where the 4 values of padded cell `cell` come from within an h × w source plane, -1 for a zero.
// A grid over the cells works this out once and reuses it for every plane (sample, channel).
fn padded_cell_sources(cell: u32, pw4: u32, top: i32, left: i32, h: u32, w: u32, d: i32) -> vec4i {
  let sy = padded_source(i32(cell / pw4), top, h, d);
  let col = i32(cell % pw4) * 4;
  let s0 = padded_source(col, left, w, d);
  let s1 = padded_source(col + 1, left, w, d);
  let s2 = padded_source(col + 2, left, w, d);
  let s3 = padded_source(col + 3, left, w, d);
  let ok = vec4<bool>(s0.y == 1, s1.y == 1, s2.y == 1, s3.y == 1) & vec4<bool>(sy.y == 1);
  let row = sy.x * i32(w);
  return select(vec4i(-1), vec4i(row + s0.x, row + s1.x, row + s2.x, row + s3.x), ok);
}
