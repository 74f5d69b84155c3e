#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef F64
#extension GL_ARB_gpu_shader_fp64 : require
#endif
// y[r][i] = x[r][i] / sqrt(mean_i(x[r][i]²) + eps) · w[i]   (x, y: rows × count f32; w: count)
//
// One workgroup per row.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint count;
    float eps;
} shape;

#ifdef F64
// The `_f64` build (devices with shaderFloat64) computes the scale exactly as the CPU does
// (VectorMath.rmsNorm): each square rounded to f32 and summed in f64 in order by one invocation,
// mean = f32(sum / count), scale = 1 / sqrtf(mean + eps) with the square root and the division
// correctly rounded (done in f64, then rounded: for these two operations that gives the f32
// result). Then y = (x·scale)·w as on the CPU, so the output is the CPU's to the bit.
shared float rowScale;

#include "rounded_once.glsl"

void main() {
    const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= shape.rows) return;
    const uint lane = gl_LocalInvocationID.x;
    const uint base = row * shape.count;
    if (lane == 0u) {
        double sum = 0.0LF;
        for (uint i = 0; i < shape.count; i++) {
            precise float square = x[base + i] * x[base + i];
            sum += double(square);
        }
        precise float mean = float(sum / double(shape.count));
        precise float shifted = mean + shape.eps;
        const float root = float(sqrt(double(shifted)));
        rowScale = divide(1.0, root);
    }
    barrier();
    const float scale = rowScale;
    for (uint i = lane; i < shape.count; i += 64) {
        precise float scaled = x[base + i] * scale;
        y[base + i] = scaled * weight[i];
    }
}
#else
// Without 64-bit floats: 64 invocations sum strided squares in f32, a shared-memory tree adds
// them, then every invocation scales its slice (the CPU's result to within a few ulp).
shared float partial[64];

void main() {
    const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= shape.rows) return;
    const uint lane = gl_LocalInvocationID.x;
    const uint base = row * shape.count;
    float sum = 0.0;
    for (uint i = lane; i < shape.count; i += 64) {
        sum += x[base + i] * x[base + i];
    }
    partial[lane] = sum;
    barrier();
    for (uint half_ = 32; half_ > 0; half_ >>= 1) {
        if (lane < half_) partial[lane] += partial[lane + half_];
        barrier();
    }
    const float scale = inversesqrt(partial[0] / float(shape.count) + shape.eps);
    for (uint i = lane; i < shape.count; i += 64) {
        y[base + i] = x[base + i] * scale * weight[i];
    }
}
#endif
