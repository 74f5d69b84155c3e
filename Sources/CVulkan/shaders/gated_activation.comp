#version 450
// out[i] = act(gate[i]) · up[i],  act = gelu (tanh form) or silu
//   gelu(x) = ½x(1 + tanh(√(2/π)·x·(1 + 0.044715x²))),  silu(x) = x / (1 + e^−x)
//
// In f32 throughout: unlike the CPU path (which rounds gelu's input and output to f16, as
// llama.cpp's table does) this is the plain function. One invocation per element, 256 per
// workgroup; groups beyond the first dispatch dimension continue in the second.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint count;
    uint activation;  // 0: gelu, 1: silu
} shape;

float gelu(float x) {
    // tanh saturates to ±1 in f32 beyond |t| ≈ 9; clamping keeps drivers that build tanh from
    // exponentials away from inf/inf.
    const float t = clamp(0.7978845608028654 * x * (1.0 + 0.044715 * x * x), -10.0, 10.0);
    return 0.5 * x * (1.0 + tanh(t));
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
    y[i] = (shape.activation == 0u ? gelu(g) : silu(g)) * up[i];
}
