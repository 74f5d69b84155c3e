#version 450
// out[i] = act(gate[i]) · up[i],  act = gelu (tanh form) or silu
//   gelu(x) = ½x(1 + tanh(√(2/π)·x·(1 + 0.044715x²))),  silu(x) = x / (1 + e^−x)
//
// gelu as the CPU engine evaluates it (VectorMath.gegluF16, llama.cpp's f16 table): 0 for
// gate ≤ −10, the gate itself from 10 up, else f16(gelu(f16(gate))) with 1 + 0.044715x·x fused;
// silu in f32. One invocation per element, 256 per workgroup; groups beyond the first dispatch
// dimension continue in the second.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint count;
    uint activation;  // 0: gelu, 1: silu
} shape;

float toHalf(float x) { return unpackHalf2x16(packHalf2x16(vec2(x, 0.0))).x; }

float gelu(float x) {
    if (x <= -10.0) return 0.0;
    if (x >= 10.0) return x;
    const float h = toHalf(x);
    // tanh saturates to ±1 in f32 beyond |t| ≈ 9; clamping keeps drivers that build tanh from
    // exponentials away from inf/inf.
    const float t = clamp(0.7978845608028654 * h * fma(0.044715 * h, h, 1.0), -10.0, 10.0);
    return toHalf(0.5 * h * (1.0 + tanh(t)));
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
