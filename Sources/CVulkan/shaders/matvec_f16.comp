#version 450
// y[r] = Σ_k W[r][k]·x[k]   (W: rows × columns f16, row-major; x: columns f32; y: rows f32)
//
// A batch of activation rows is the dispatch's z dimension: x holds batch × columns and y
// batch × rows, activation row z giving output row z. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// One workgroup per row: 64 invocations each sum a strided slice of the row, then a tree in
// shared memory adds the 64 partial sums. Rows beyond 65535 use the second dispatch dimension
// (row = group.y · groups.x + group.x), so the host can cover any row count.
layout(local_size_x = 64) in;

// Two f16 weights per 32-bit word, the lower-addressed in the low half (the host pads the
// buffer to a whole word); each is widened to f32 exactly before the product.
layout(std430, set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint columns;
} shape;

shared float partial[64];

void main() {
    const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    // Uniform across the workgroup, so no invocation skips a barrier another one reaches.
    if (row >= shape.rows) return;
    const uint lane = gl_LocalInvocationID.x;
    // Activation row gl_WorkGroupID.z: its input starts at z·columns, its outputs at z·rows.
    const uint xBase = gl_WorkGroupID.z * shape.columns;
    const uint base = row * shape.columns;
    float sum = 0.0;
    for (uint k = lane; k < shape.columns; k += 64) {
        const uint index = base + k;
        sum += unpackHalf2x16(w[index >> 1])[index & 1u] * x[xBase + k];
    }
    partial[lane] = sum;
    barrier();
    for (uint half_ = 32; half_ > 0; half_ >>= 1) {
        if (lane < half_) partial[lane] += partial[lane + half_];
        barrier();
    }
    if (lane == 0) y[gl_WorkGroupID.z * shape.rows + row] = partial[0];
}
