// The mixing generator. `draw_mix` picks, for each sample, a random MNIST image and a random
// Fashion-MNIST image (independently, with replacement) by hashing (seed, step, sample, stream):
// every invocation hashes its own sample's pair (8 hashes, less than a dispatch of its own costs),
// and the first of each sample writes the pair out. `mix` takes the pairs given instead. Both pad the
// 28×28 images to 32×32 (2 zero pixels each side), scale them to [0, 1] and write the mixture
// (digit + item) / 2 with both targets. Images are u8 pixels packed 4 per u32, little-endian (pixel k
// of a word is bits 8k..8k+7).
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

// Pixel `p` (0..783) of an image, scaled to [0, 1]. Two copies because WGSL cannot pass a storage
// array to a function.
fn digit_pixel(image: u32, p: u32) -> f32 {
  let b = image * 784u + p;
  return f32((digits[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu) / 255.0;
}

fn item_pixel(image: u32, p: u32) -> f32 {
  let b = image * 784u + p;
  return f32((items[b >> 2u] >> ((b & 3u) * 8u)) & 0xffu) / 255.0;
}

// Output value o (sample o / 1024, row, column) from the sample's (digit, item) image pair.
fn mix_value(o: u32, pair: vec2u) {
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
  mixture[o] = (d + i) * 0.5;
}

@compute @workgroup_size(${WG})
fn mix(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  if (o >= p.n * 1024u) { return; }
  let s = o / 1024u;
  mix_value(o, vec2u(indices[2u * s], indices[2u * s + 1u]));
}

@compute @workgroup_size(${WG})
fn draw_mix(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  if (o >= p.n * 1024u) { return; }
  let s = o / 1024u;
  // Modulo bias is below count / 2^32 (1.4e-5 for 60000 images).
  let pair = vec2u(random(key[0], key[1], s, 0u) % p.digit_count, random(key[0], key[1], s, 1u) % p.item_count);
  if (o % 1024u == 0u) {
    drawn[2u * s] = pair.x;
    drawn[2u * s + 1u] = pair.y;
  }
  mix_value(o, pair);
}
