// Layout passes that run before the convolution kernels of conv2d.wgsl: zero padding (and dilation)
// of the source, and the weight reordering. Both are cheap next to the convolution they feed.

// ---------------------------------------------------------------- pad

struct PadParams {
  planes: u32,   // N · C
  h: u32,
  w: u32,
  ph: u32,       // padded size
  pw: u32,
  top: i32,      // where source row 0 lands (may be negative: rows cropped)
  left: i32,
  dilation: u32, // 1, or the stride for the input gradient (zeros between dy's pixels)
  total: u32,    // planes · ph · pw
}

@group(0) @binding(0) var<uniform> pp: PadParams;
@group(0) @binding(1) var<storage, read> unpadded: array<f32>;
@group(0) @binding(2) var<storage, read_write> padded: array<f32>;

fn unpadded_coord(at: u32, origin: i32, size: u32) -> vec2i {
  let t = i32(at) - origin;
  let d = i32(pp.dilation);
  return vec2i(t / d, i32(t >= 0 && t % d == 0 && t / d < i32(size)));
}

@compute @workgroup_size(${WG})
fn pad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= pp.total) { return; }
  let c = i % pp.pw;
  let r = (i / pp.pw) % pp.ph;
  let plane = i / (pp.pw * pp.ph);
  let sy = unpadded_coord(r, pp.top, pp.h);
  let sx = unpadded_coord(c, pp.left, pp.w);
  var v = 0.0;
  if (sy.y == 1 && sx.y == 1) { v = unpadded[(plane * pp.h + u32(sy.x)) * pp.w + u32(sx.x)]; }
  padded[i] = v;
}

// ---------------------------------------------------------------- repack

struct RepackParams {
  cout: u32,     // of the forward weight [Cout, Cin, K, K]
  cin: u32,
  taps: u32,     // K · K
  flip: u32,     // 1: for the input gradient: out = Cin, in = Cout, taps reversed (180° rotation)
  out_pad: u32,  // packed row length: out channels rounded up to 8 (zeros past the end)
  total: u32,    // in · taps · out_pad
}

@group(0) @binding(0) var<uniform> rp: RepackParams;
@group(0) @binding(1) var<storage, read> w_forward: array<f32>;
@group(0) @binding(2) var<storage, read_write> w_packed: array<f32>;

// w_packed[in][tap][out] from w_forward[co][ci][tap].
@compute @workgroup_size(${WG})
fn repack(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * ${WG}u;
  if (i >= rp.total) { return; }
  let o = i % rp.out_pad;
  let tap = (i / rp.out_pad) % rp.taps;
  let inner = i / (rp.out_pad * rp.taps);
  var v = 0.0;
  if (rp.flip == 0u && o < rp.cout) {
    v = w_forward[(o * rp.cin + inner) * rp.taps + tap];
  } else if (rp.flip == 1u && o < rp.cin) {
    v = w_forward[(inner * rp.cin + o) * rp.taps + rp.taps - 1u - tap];
  }
  w_packed[i] = v;
}
