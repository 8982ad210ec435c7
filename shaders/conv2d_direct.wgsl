// The plain direct 2-D convolution, NCHW f32, square odd K×K kernel, stride S, zero padding `pad`:
// the reference every other conv2d kernel variant is measured against, and the baseline of the
// benchmark ("kernel 1"). One invocation per output element, each summing its defining sum with
// straightforward loops and a bounds check per tap for the padding:
//
//   forward  y[n, co, oy, ox]  = b[co] + Σ ci, ky, kx   x[n, ci, oy·S - pad + ky, ox·S - pad + kx] · w[co, ci, ky, kx]
//   input    dx[n, ci, iy, ix] = Σ co, ky, kx  dy[n, co, oy, ox] · w[co, ci, ky, kx]
//                                  over the taps with oy·S = iy + pad - ky (and the same for x) in range
//   weight   dW[co, ci, ky, kx] = Σ n, oy, ox  dy[n, co, oy, ox] · x[n, ci, oy·S - pad + ky, ox·S - pad + kx]
//
// No padding copies, no repacking, no tiling, no shared memory: it reads the tensors as they are,
// so it is the simplest kernel that is obviously correct. K and S are constants (their loops have
// fixed trip counts); every size is a uniform, so one pipeline serves every layer of a given K, S.
// The index is folded into 2-D past 65535 workgroups (grid1d in src/gpu/gpu.ts).

struct DirectParams {
  n: u32,
  cin: u32,
  h: u32,
  w: u32,
  cout: u32,
  oh: u32,
  ow: u32,
  pad: i32,
  total: u32,   // elements of this pass's output
}

const K: i32 = ${K};
const S: i32 = ${S};
const WG: u32 = ${WG};

@group(0) @binding(0) var<uniform> p: DirectParams;

// ---------------------------------------------------------------- forward: x@1, w@2 → y@3 (+ b@4)

@group(0) @binding(1) var<storage, read> fx: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read_write> fy: array<f32>;
#if ${BIAS}
@group(0) @binding(4) var<storage, read> fb: array<f32>;
#endif

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let ox = i32(i % p.ow);
  let oy = i32((i / p.ow) % p.oh);
  let co = (i / (p.ow * p.oh)) % p.cout;
  let n = i / (p.ow * p.oh * p.cout);
  let h = i32(p.h);
  let w = i32(p.w);
#if ${BIAS}
  var sum = fb[co];
#else
  var sum = 0.0;
#endif
  for (var ci = 0u; ci < p.cin; ci++) {
    let plane = (n * p.cin + ci) * p.h * p.w;
    let taps = (co * p.cin + ci) * u32(K * K);
    for (var ky = 0; ky < K; ky++) {
      let iy = oy * S - p.pad + ky;
      if (iy < 0 || iy >= h) { continue; }
      for (var kx = 0; kx < K; kx++) {
        let ix = ox * S - p.pad + kx;
        if (ix < 0 || ix >= w) { continue; }
        sum += fx[plane + u32(iy * w + ix)] * fw[taps + u32(ky * K + kx)];
      }
    }
  }
  fy[i] = sum;
}

// ---------------------------------------------------------------- input gradient: dy@1, w@2 → dx@3

@group(0) @binding(1) var<storage, read> idy: array<f32>;
@group(0) @binding(2) var<storage, read> iw: array<f32>;
@group(0) @binding(3) var<storage, read_write> idx: array<f32>;

@compute @workgroup_size(WG)
fn input(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let ix = i32(i % p.w);
  let iy = i32((i / p.w) % p.h);
  let ci = (i / (p.w * p.h)) % p.cin;
  let n = i / (p.w * p.h * p.cin);
  let oh = i32(p.oh);
  let ow = i32(p.ow);
  var sum = 0.0;
  for (var co = 0u; co < p.cout; co++) {
    let plane = (n * p.cout + co) * p.oh * p.ow;
    let taps = (co * p.cin + ci) * u32(K * K);
    for (var ky = 0; ky < K; ky++) {
      // Output row oy reads this input row at tap ky when oy·S - pad + ky = iy.
      let ty = iy + p.pad - ky;
      if (ty < 0 || ty % S != 0 || ty / S >= oh) { continue; }
      let oy = ty / S;
      for (var kx = 0; kx < K; kx++) {
        let tx = ix + p.pad - kx;
        if (tx < 0 || tx % S != 0 || tx / S >= ow) { continue; }
        let ox = tx / S;
        sum += idy[plane + u32(oy * ow + ox)] * iw[taps + u32(ky * K + kx)];
      }
    }
  }
  idx[i] = sum;
}

// ---------------------------------------------------------------- weight gradient: dy@1, x@2 → dW@3

@group(0) @binding(1) var<storage, read> wdy: array<f32>;
@group(0) @binding(2) var<storage, read> wx: array<f32>;
@group(0) @binding(3) var<storage, read_write> wdw: array<f32>;

@compute @workgroup_size(WG)
fn weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.total) { return; }
  let kx = i32(i % u32(K));
  let ky = i32((i / u32(K)) % u32(K));
  let ci = (i / u32(K * K)) % p.cin;
  let co = i / (u32(K * K) * p.cin);
  let h = i32(p.h);
  let w = i32(p.w);
  var sum = 0.0;
  for (var n = 0u; n < p.n; n++) {
    let dplane = (n * p.cout + co) * p.oh * p.ow;
    let xplane = (n * p.cin + ci) * p.h * p.w;
    for (var oy = 0u; oy < p.oh; oy++) {
      let iy = i32(oy) * S - p.pad + ky;
      if (iy < 0 || iy >= h) { continue; }
      for (var ox = 0u; ox < p.ow; ox++) {
        let ix = i32(ox) * S - p.pad + kx;
        if (ix < 0 || ix >= w) { continue; }
        sum += wdy[dplane + oy * p.ow + ox] * wx[xplane + u32(iy * w + ix)];
      }
    }
  }
  wdw[i] = sum;
}
