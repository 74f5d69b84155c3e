#version 450
// y[r][i] = x[r][i] / sqrt(mean_i(x[r][i]²) + eps) · w[i]   (x, y: rows × count f32; w: count)
//
// One workgroup per row: 64 invocations sum strided squares, a shared-memory tree adds them,
// then every invocation scales its slice.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Weight { float weight[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint count;
    float eps;
} shape;

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
