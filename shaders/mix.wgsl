// The mixing generator. `draw` picks, for each sample, a random MNIST image and a random
// Fashion-MNIST image (independently, with replacement) by hashing (seed, step, sample, stream);
// `mix` pads both 28×28 images to 32×32 (2 zero pixels each side), scales them to [0, 1] and writes
// the mixture (digit + item) / 2 with both targets. Images are u8 pixels packed 4 per u32,
// little-endian (pixel k of a word is bits 8k..8k+7).
struct DrawParams { n: u32, digit_count: u32, item_count: u32 }
struct MixParams { n: u32 }

@group(0) @binding(0) var<uniform> dp: DrawParams;
@group(0) @binding(1) var<storage, read> key: array<u32>;            // seed, step
@group(0) @binding(2) var<storage, read_write> drawn: array<u32>;    // digit, item per sample

@group(0) @binding(0) var<uniform> mp: MixParams;
@group(0) @binding(1) var<storage, read> digits: array<u32>;
@group(0) @binding(2) var<storage, read> items: array<u32>;
@group(0) @binding(3) var<storage, read> indices: array<u32>;       // digit, item per sample
@group(0) @binding(4) var<storage, read_write> mixture: array<f32>;
@group(0) @binding(5) var<storage, read_write> digit: array<f32>;
@group(0) @binding(6) var<storage, read_write> item: array<f32>;

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

@compute @workgroup_size(${WG})
fn draw(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let s = flat_index(gid, nwg);
  if (s >= dp.n) { return; }
  // Modulo bias is below count / 2^32 (1.4e-5 for 60000 images).
  drawn[2u * s] = random(key[0], key[1], s, 0u) % dp.digit_count;
  drawn[2u * s + 1u] = random(key[0], key[1], s, 1u) % dp.item_count;
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

@compute @workgroup_size(${WG})
fn mix(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = flat_index(gid, nwg);
  if (o >= mp.n * 1024u) { return; }
  let s = o / 1024u;
  let y = (o % 1024u) / 32u;
  let x = o % 32u;
  var d = 0.0;
  var i = 0.0;
  if (x >= 2u && x < 30u && y >= 2u && y < 30u) {
    let p = (y - 2u) * 28u + (x - 2u);
    d = digit_pixel(indices[2u * s], p);
    i = item_pixel(indices[2u * s + 1u], p);
  }
  digit[o] = d;
  item[o] = i;
  mixture[o] = (d + i) * 0.5;
}
