// ALU ceiling, as vkpeak measures a GPU: CHAINS independent chains of vec4 multiply-adds per
// invocation, unrolled 4 deep, nothing loaded in the loop, so nothing but arithmetic bounds it.
// Independent chains hide each multiply-add's latency; the iteration count is a uniform, so the
// compiler cannot fold the loop away, and the chains' sum is stored, so it cannot drop it either;
// scale and shift are uniforms too, so no constant folding can merge steps. With scale 0.999 and
// shift 1e-3, acc stays near 1: no overflow, no denormals.
struct Params { iterations: u32, scale: f32, shift: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64)
fn alu(@builtin(global_invocation_id) gid: vec3u) {
  let seed = vec4f(f32(gid.x & 255u) * 1e-4);
#unroll j CHAINS
  var acc${j} = seed + vec4f(f32(${j}) * 1e-3, 0.25, 0.5, 0.75);
#endunroll
  let scale = vec4f(p.scale);
  let shift = vec4f(p.shift);
  for (var i = 0u; i < p.iterations; i++) {
#unroll u 4
#unroll j CHAINS
    acc${j} = acc${j} * scale + shift;
#endunroll
#endunroll
  }
  var total = vec4f(0.0);
#unroll j CHAINS
  total += acc${j};
#endunroll
  out[gid.x] = total;
}
