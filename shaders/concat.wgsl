// Channel concatenation out@3 = [a@1 ⊕ b@2] ([N,Ca,H,W] ⊕ [N,Cb,H,W] -> [N,Ca+Cb,H,W], the U-Net
// skip connections), and its backward, which splits dy@1 back into da@2 and db@3 (or, where only
// one input needs a gradient, concat_slice copies out that one's part).
// In NCHW each sample of the output is a run of Ca·H·W values of a followed by Cb·H·W values of b.
// The grid is (⌈run / WG⌉, ⌈N / SAMPLES⌉): invocation r copies position r of the run for SAMPLES
// samples (few, busy invocations and no integer divisions: what CPU drivers run fastest).
// Values are copied as V: vec4f when H·W is a multiple of 4 (about twice as fast on lavapipe), else
// f32; runs are counted in V.
alias V = ${V};
struct Params { n: u32, a_run: u32, b_run: u32 }   // n = N, a_run = Ca·H·W, b_run = Cb·H·W (in V)

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<V>;
@group(0) @binding(2) var<storage, read> b: array<V>;
@group(0) @binding(3) var<storage, read_write> out: array<V>;
@group(0) @binding(1) var<storage, read> dy: array<V>;
@group(0) @binding(2) var<storage, read_write> da: array<V>;
@group(0) @binding(3) var<storage, read_write> db: array<V>;

@compute @workgroup_size(${WG})
fn concat_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let run = p.a_run + p.b_run;
  if (r >= run) { return; }
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    if (r < p.a_run) {
      out[s * run + r] = a[s * p.a_run + r];
    } else {
      out[s * run + r] = b[s * p.b_run + r - p.a_run];
    }
  }
}

@compute @workgroup_size(${WG})
fn concat_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let run = p.a_run + p.b_run;
  if (r >= run) { return; }
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, p.n); s++) {
    if (r < p.a_run) {
      da[s * p.a_run + r] = dy[s * run + r];
    } else {
      db[s * p.b_run + r - p.a_run] = dy[s * run + r];
    }
  }
}

// The part of each sample's run that one input contributed: part@2 = dy@1[offset .. offset + len).
struct SliceParams { n: u32, run: u32, offset: u32, len: u32 }   // in V

@group(0) @binding(0) var<uniform> sp: SliceParams;
@group(0) @binding(2) var<storage, read_write> part: array<V>;

@compute @workgroup_size(${WG})
fn concat_slice(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= sp.len) { return; }
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, sp.n); s++) {
    part[s * sp.len + r] = dy[s * sp.run + sp.offset + r];
  }
}

// ---------------------------------------------------------------- upsample_concat
//
// The decoder's join: out@3 = [upsample×2(a@1) ⊕ b@2], a [N,Ca,H/2,W/2] upsampled nearest-neighbour
// ×2 to [N,Ca,H,W] as it is copied (no upsampled tensor of its own: one dispatch instead of two),
// and its backward, dy@1 -> da@2 (each a value the sum of the 4 it fed) and db@3. Scalars (f32);
// the grid is (⌈run / WG⌉, ⌈N / SAMPLES⌉) as above, runs counted in values: the forward's over the
// output's run, the backward's over a's run then b's, so that it gathers (no scatter).
struct UpParams {
  n: u32,
  h: u32,       // the output's (and b's) height and width; a's are half
  w: u32,
  a_run: u32,   // Ca·H·W: a's channels in the output
  b_run: u32,   // Cb·H·W
#if ${PADDED}
  // upsample_concat_forward_padded: channels Ca and Ca + Cb, the padded plane's row length and
  // size in vec4, where the output's (0, 0) lands
  ca: u32, channels: u32, pw4: u32, cells: u32, top: i32, left: i32,
#endif
}

@group(0) @binding(0) var<uniform> up: UpParams;
@group(0) @binding(1) var<storage, read> up_a: array<f32>;
@group(0) @binding(2) var<storage, read> up_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> up_out: array<f32>;
#if ${PADDED}
@group(0) @binding(4) var<storage, read_write> up_padded: array<vec4f>;
#endif
@group(0) @binding(1) var<storage, read> up_dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> up_da: array<f32>;
@group(0) @binding(3) var<storage, read_write> up_db: array<f32>;

@compute @workgroup_size(${WG})
fn upsample_concat_forward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let run = up.a_run + up.b_run;
  if (r >= run) { return; }
  // Where output value r of a's part comes from in a's run (integer divisions once, for SAMPLES).
  let hw = up.h * up.w;
  let ch = r / hw;
  let oy = (r - ch * hw) / up.w;
  let ox = r - ch * hw - oy * up.w;
  let source = ch * (hw / 4u) + (oy / 2u) * (up.w / 2u) + ox / 2u;
  let a_small = up.a_run / 4u;
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, up.n); s++) {
    if (r < up.a_run) {
      up_out[s * run + r] = up_a[s * a_small + source];
    } else {
      up_out[s * run + r] = up_b[s * up.b_run + r - up.a_run];
    }
  }
}

#if ${PADDED}
#include padded_cells

// The forward's output, and beside it that output zero-padded as the conv after the join reads its
// input (src/autograd/padded-copies.ts), in one dispatch. Grid (⌈cells / WG⌉, plane groups), as
// conv2d_layout.wgsl's pad: an invocation owns 4 padded columns of one padded row, works out which
// outputs they hold once, and joins them for every num_workgroups.y-th plane (sample, channel).
@compute @workgroup_size(${WG})
fn upsample_concat_forward_padded(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                                  @builtin(num_workgroups) nwg: vec3u) {
  let cell = gid.x;
  if (cell >= up.cells) { return; }
  let source = padded_cell_sources(cell, up.pw4, up.top, up.left, up.h, up.w, 1);
  let ok = source >= vec4i(0);
  let at = vec4u(max(source, vec4i(0)));   // within a plane of the output
  let half_at = (at / up.w / 2u) * (up.w / 2u) + (at % up.w) / 2u;   // within a plane of a
  let hw = up.h * up.w;
  for (var plane = wid.y; plane < up.n * up.channels; plane += nwg.y) {
    let s = plane / up.channels;
    let ch = plane - s * up.channels;
    var v = vec4f(0.0);
    for (var k = 0u; k < 4u; k++) {
      if (ok[k]) {
        if (ch < up.ca) {
          v[k] = up_a[(s * up.ca + ch) * (hw / 4u) + half_at[k]];
        } else {
          v[k] = up_b[(s * (up.channels - up.ca) + ch - up.ca) * hw + at[k]];
        }
        up_out[plane * hw + at[k]] = v[k];
      }
    }
    up_padded[plane * up.cells + cell] = v;
  }
}
#endif

@compute @workgroup_size(${WG})
fn upsample_concat_backward(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let a_small = up.a_run / 4u;
  if (r >= a_small + up.b_run) { return; }
  let run = up.a_run + up.b_run;
  // For a's part: the top-left of the 2×2 outputs a's value r fed.
  let half_w = up.w / 2u;
  let small_hw = up.h * up.w / 4u;
  let ch = r / small_hw;
  let iy = (r - ch * small_hw) / half_w;
  let ix = r - ch * small_hw - iy * half_w;
  let top = ch * up.h * up.w + 2u * iy * up.w + 2u * ix;
  let first = gid.y * ${SAMPLES}u;
  for (var s = first; s < min(first + ${SAMPLES}u, up.n); s++) {
    if (r < a_small) {
      let o = s * run + top;
      up_da[s * a_small + r] = up_dy[o] + up_dy[o + 1u] + up_dy[o + up.w] + up_dy[o + up.w + 1u];
    } else {
      up_db[s * up.b_run + r - a_small] = up_dy[s * run + up.a_run + r - a_small];
    }
  }
}
