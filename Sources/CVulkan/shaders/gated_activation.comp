#version 450
// out[i] = act(gate[i]) · up[i],  act = gelu (tanh form) or silu
//   gelu(x) = ½x(1 + tanh(√(2/π)·x·(1 + 0.044715x²))),  silu(x) = x / (1 + e^−x)
//
// gelu as the CPU engine evaluates it (VectorMath.gegluF16, llama.cpp's f16 table): 0 for
// gate ≤ −10, the gate itself from 10 up, else the CPU's own table (65536 f16 values, two per
// word, indexed by the f16 bits of the gate: f16(gelu(f16(gate)))), so the device's tanh does
// not enter; silu in f32. One invocation per element, 256 per workgroup; groups beyond the first dispatch
// dimension continue in the second.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };
layout(std430, set = 0, binding = 3) readonly buffer GeluTable { uint table[]; };

layout(push_constant) uniform Shape {
    uint count;
    uint activation;  // 0: gelu, 1: silu
} shape;

float gelu(float x) {
    if (x <= -10.0) return 0.0;
    if (x >= 10.0) return x;
    const uint h = packHalf2x16(vec2(x, 0.0)) & 0xFFFFu;
    return unpackHalf2x16(table[h >> 1] >> ((h & 1u) * 16u)).x;
}

float silu(float x) {
    // exp(−x) overflows to inf for x < −88: x / inf is −0, the limit.
    return x / (1.0 + exp(-x));
}

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint i = group * 256 + gl_LocalInvocationID.x;
    if (i >= shape.count) return;
    const float g = gate[i];
    // (+0 where the gate is at or below −10 whatever up's sign, as the CPU gives it)
    y[i] = shape.activation == 0u ? (g <= -10.0 ? 0.0 : gelu(g) * up[i]) : silu(g) * up[i];
}
