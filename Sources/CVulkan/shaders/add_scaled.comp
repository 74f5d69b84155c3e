#version 450
// y[i] = y[i] + scale·a[i mod period]   (i < count; a: period f32, y: count f32)
//
// Residual adds (period = count) and per-row bias adds over rows of `period` (a is the bias).
// `precise` keeps the product and the sum two roundings, as the CPU's y + scale·a is, instead
// of letting the compiler or driver fuse them into one fma, so results match bit for bit.
// One invocation per element, 256 per workgroup; groups beyond the first dispatch dimension
// continue in the second.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer Addend { float a[]; };
layout(std430, set = 0, binding = 1) buffer Accumulator { float y[]; };

layout(push_constant) uniform Shape {
    uint count;
    uint period;  // 1...count
    float scale;
} shape;

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint i = group * 256 + gl_LocalInvocationID.x;
    if (i >= shape.count) return;
    precise float product = shape.scale * a[i % shape.period];
    precise float sum = y[i] + product;
    y[i] = sum;
}
