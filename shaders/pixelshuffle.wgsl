// Pixel shuffle (depth to space) and unshuffle (space to depth) by a factor R, NCHW, as PyTorch's
// F.pixel_shuffle and F.pixel_unshuffle: channel c·R² + i·R + j at (y, x) of the deep tensor
// [N, C·R², H/R, W/R] is pixel (y·R + i, x·R + j) of channel c of the wide tensor [N, C, H, W].
// Each is a permutation, so each entry point is the other's backward. Both gather, one invocation
// per output element, src@1 -> dst@2.
struct Params { count: u32, c: u32, h: u32, w: u32 }   // elements; the wide tensor's C, H, W

const R: u32 = ${R};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

// Deep [N, C·R², H/R, W/R] -> wide [N, C, H, W]: dst is wide.
@compute @workgroup_size(${WG})
fn shuffle(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = index(gid, nwg);
  if (o >= p.count) { return; }
  let x = o % p.w;
  let y = (o / p.w) % p.h;
  let plane = o / (p.w * p.h);   // n·C + c
  let deep = plane * R * R + (y % R) * R + x % R;
  dst[o] = src[(deep * (p.h / R) + y / R) * (p.w / R) + x / R];
}

// Wide [N, C, H, W] -> deep [N, C·R², H/R, W/R]: dst is deep.
@compute @workgroup_size(${WG})
fn unshuffle(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = index(gid, nwg);
  if (o >= p.count) { return; }
  let dw = p.w / R;
  let dh = p.h / R;
  let x = o % dw;
  let y = (o / dw) % dh;
  let deep = o / (dw * dh);      // (n·C + c)·R² + i·R + j
  let plane = deep / (R * R);
  let i = (deep / R) % R;
  let j = deep % R;
  dst[o] = src[(plane * p.h + y * R + i) * p.w + x * R + j];
}
