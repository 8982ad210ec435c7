// 2×2 max-pooling with stride 2 over NCHW (H, W even), and its backward. One invocation per output
// element, i.e. per 2×2 window. The backward recomputes the window's argmax instead of saving it
// and writes all four dx values of its window (windows tile the input, so every dx is written once).
struct Params { n: u32, ho: u32, wo: u32 }   // n = N·C·Ho·Wo outputs

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

/** Input indices of output i's window, in row-major order. */
fn window(i: u32) -> array<u32, 4> {
  let plane = i / (p.ho * p.wo);
  let r = i - plane * p.ho * p.wo;
  let oy = r / p.wo;
  let ox = r - oy * p.wo;
  let w = 2u * p.wo;
  let top = plane * 4u * p.ho * p.wo + 2u * oy * w + 2u * ox;
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
fn maxpool_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let win = window(i);
  y[i] = x[win[argmax(win)]];
}

@compute @workgroup_size(${WG})
fn maxpool_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = index(gid, nwg);
  if (i >= p.n) { return; }
  let win = window(i);
  let best = argmax(win);
  for (var k = 0u; k < 4u; k++) {
    dx[win[k]] = select(0.0, dy[i], k == best);
  }
}
