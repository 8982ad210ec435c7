// The mixing generator. `draw_mix` picks, for each sample, a random MNIST image and a random
// Fashion-MNIST image (independently, with replacement) by hashing (seed, step, sample, stream):
// every invocation hashes its own sample's pair (8 hashes, less than a dispatch of its own costs),
// and the first of each sample writes the pair out. `mix` takes the pairs given instead. Both pad the
// 28×28 images to 32×32 (2 zero pixels each side), scale them to [0, 1] and write the mixture
// (digit + item) / 2 with both targets. `draw_mix_padded` runs over the cells of the zero-padded
// layout [N, 1, ph, pw] that the first convolution reads (the mixture at (top, left)) and writes it
// too: no padding pass. Images are u8 pixels packed 4 per u32, little-endian (pixel k of a word is
// bits 8k..8k+7).
// draw_mix_padded's layout (PH, PW, TOP, LEFT) is compiled in: divisions by constants are a
// multiply and a shift, where a CPU driver divides by a uniform a lane at a time.
struct Params { n: u32, digit_count: u32, item_count: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> digits: array<u32>;
@group(0) @binding(2) var<storage, read> items: array<u32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;       // mix: digit, item per sample
@group(0) @binding(3) var<storage, read_write> drawn: array<u32>;   // draw_mix: digit, item per sample
@group(0) @binding(4) var<storage, read_write> mixture: array<f32>;
@group(0) @binding(5) var<storage, read_write> digit: array<f32>;
@group(0) @binding(6) var<storage, read_write> item: array<f32>;
@group(0) @binding(7) var<storage, read> key: array<u32>;            // draw_mix: seed, step
@group(0) @binding(8) var<storage, read_write> mixture_padded: array<f32>;

fn flat_index(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }

// lowbias32 (Chris Wellons' hash prospector): a bijection on u32 with good avalanche. The CPU twin
// in src/data/mixer.ts computes the same numbers.
fn hash(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

fn random(seed: u32, step: u32, sample: u32, stream: u32) -> u32 {
  return hash(hash(hash(hash(seed) ^ step) ^ sample) ^ stream);
}

// Pixel `k` (0..783) of an image, scaled to [0, 1]. Two copies because WGSL cannot pass a storage
// array to a function.
fn digit_pixel(image: u32, k: u32) -> f32 {
  let b = image * 784u + k;
  return f32((digits[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu) / 255.0;
}

fn item_pixel(image: u32, k: u32) -> f32 {
  let b = image * 784u + k;
  return f32((items[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu) / 255.0;
}

// Output value o (sample o / 1024, row, column) from the sample's (digit, item) image pair; returns
// the mixture's value.
fn mix_value(o: u32, pair: vec2u) -> f32 {
  let y = (o % 1024u) / 32u;
  let x = o % 32u;
  var d = 0.0;
  var i = 0.0;
  if (x >= 2u && x < 30u && y >= 2u && y < 30u) {
    let q = (y - 2u) * 28u + (x - 2u);
    d = digit_pixel(pair.x, q);
    i = item_pixel(pair.y, q);
  }
  digit[o] = d;
  item[o] = i;
  let m = (d + i) * 0.5;
  mixture[o] = m;
  return m;
}

// Sample s's (digit, item) pair: random, modulo bias below count / 2^32 (1.4e-5 for 60000 images).
fn draw(s: u32) -> vec2u {
  return vec2u(random(key[0], key[1], s, 0u) % p.digit_count, random(key[0], key[1], s, 1u) % p.item_count);
}

fn write_drawn(s: u32, pair: vec2u) {
  drawn[2u * s] = pair.x;
  drawn[2u * s + 1u] = pair.y;
}

@compute @workgroup_size(${WG})
fn mix(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  if (o >= p.n * 1024u) { return; }
  let s = o / 1024u;
  _ = mix_value(o, vec2u(indices[2u * s], indices[2u * s + 1u]));
}

@compute @workgroup_size(${WG})
fn draw_mix(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  if (o >= p.n * 1024u) { return; }
  let s = o / 1024u;
  let pair = draw(s);
  if (o % 1024u == 0u) { write_drawn(s, pair); }
  _ = mix_value(o, pair);
}

@compute @workgroup_size(${WG})
fn draw_mix_padded(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  let plane = ${PH}u * ${PW}u;
  if (o >= p.n * plane) { return; }
  let s = o / plane;
  // The cell's pixel in the 32×32 image (u32: a cell left of or above it wraps to a big value).
  let y = (o % plane) / ${PW}u - ${TOP}u;
  let x = o % ${PW}u - ${LEFT}u;
  var m = 0.0;
  if (y < 32u && x < 32u) {
    let pair = draw(s);
    if (y == 0u && x == 0u) { write_drawn(s, pair); }
    m = mix_value(s * 1024u + y * 32u + x, pair);
  }
  mixture_padded[o] = m;
}
