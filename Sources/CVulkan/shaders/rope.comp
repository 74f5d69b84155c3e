#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary position embedding, in place: for each row r, head h and pair i < dims/2,
//   (x_a, x_b) ← (x_a·c − x_b·s, x_a·s + x_b·c),  c = cs[r][2i], s = cs[r][2i+1]
// with (a, b) = (2i, 2i+1) in the normal layout, (i, i + dims/2) in the neox layout, each as
// fma(x_a, c, −(x_b·s)) and fma(x_a, s, x_b·c), the CPU's roundings — exactly so in the `_f64`
// build (rounded_once.glsl), which the host picks where the device has 64-bit floats.
//
// The cos/sin table (rows × dims floats: m·cos θ_i, m·sin θ_i per row's position) comes from
// the host, where RoPE.angles computes it as llama.cpp does (frequency factors, YaRN and all),
// so the shader only rotates. x is rows × heads × headDim f32; elements of a head beyond dims
// are left alone. One invocation per pair, 256 per workgroup, groups continuing in the second
// dispatch dimension.
layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) buffer Vectors { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Angles { float cs[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint heads;
    uint headDim;
    uint dims;    // rotated elements per head, even, at most headDim
    uint layout_; // 0: normal, 1: neox
} shape;

#include "rounded_once.glsl"

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint pair = group * 256 + gl_LocalInvocationID.x;
    const uint half_ = shape.dims / 2;
    if (pair >= shape.rows * shape.heads * half_) return;
    const uint i = pair % half_;
    const uint head = pair / half_;  // row · heads + h
    const uint row = head / shape.heads;
    const uint base = head * shape.headDim;
    const uint a = base + (shape.layout_ == 0u ? 2 * i : i);
    const uint b = base + (shape.layout_ == 0u ? 2 * i + 1 : i + half_);
    const float c = cs[row * shape.dims + 2 * i], s = cs[row * shape.dims + 2 * i + 1];
    const float x0 = x[a], x1 = x[b];
    // As RoPE.apply on the CPU: one product rounded, the other fused into the sum.
    precise float bs = x1 * s, bc = x1 * c;
    x[a] = fmaf(x0, c, -bs);
    x[b] = fmaf(x0, s, bc);
}
