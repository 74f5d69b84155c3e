#version 450
// y[r] = Σ_k W[r][k]·x[k]   (W: rows × columns f32, row-major; x: columns; y: rows)
//
// A batch of activation rows is the dispatch's z dimension, NB rows per z: x holds
// batch × columns and y batch × rows. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// One workgroup per row: 64 invocations each sum a strided slice of the row, then a tree in
// shared memory adds the 64 partial sums. Rows beyond 65535 use the second dispatch dimension
// (row = group.y · groups.x + group.x), so the host can cover any row count.
layout(local_size_x = 64) in;

// LANES invocations share one row: 64 (the default) is one workgroup per row, its partial sums
// added in shared memory, for GPUs; 1 (the `_rowwise` builds of this file, scripts/build-shaders)
// is one invocation per row with no barrier at all, for Vulkan devices that run on the CPU
// (lavapipe), where a barrier costs far more than the arithmetic.
#ifndef LANES
#define LANES 64
#endif

// NB activation rows per invocation (1 here; the `_rowwise8` build takes 8): each weight is
// decoded once and dotted with all of them, each row's sum in the same order as alone. Rows past
// the batch read its last row again and write nothing.
#ifndef NB
#define NB 1
#endif
#if LANES > 1 && NB > 1
#error "the shared-memory reduction sums one activation row"
#endif
#define EACH for (uint n = 0; n < NB; n++)
#define X(i) x[xRow[n] + (i)]

layout(std430, set = 0, binding = 0) readonly buffer Weights { float w[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint columns;
    uint batch;    // activation rows
} shape;

#if LANES > 1
shared float partial[64];
#endif

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint lane = gl_LocalInvocationID.x % LANES;
    const uint row = group * (64 / LANES) + gl_LocalInvocationID.x / LANES;
    // (no early return: with LANES > 1 every invocation must reach the barriers)
    const bool valid = row < shape.rows;
    // Activation rows z·NB … z·NB + NB − 1 (z = gl_WorkGroupID.z): row a's input starts at
    // a·columns, its outputs at a·rows.
    const uint firstX = gl_WorkGroupID.z * NB;
    uint xRow[NB];
    EACH xRow[n] = min(firstX + n, shape.batch - 1) * shape.columns;
    const uint base = row * shape.columns;
    float sum[NB];
    EACH sum[n] = 0.0;
    for (uint k = lane; valid && k < shape.columns; k += LANES) {
        const float wv = w[base + k];
        EACH sum[n] += wv * X(k);
    }
#if LANES > 1
    const uint slot = gl_LocalInvocationID.x;
    partial[slot] = sum[0];
    barrier();
    for (uint half_ = LANES / 2; half_ > 0; half_ >>= 1) {
        if (lane < half_) partial[slot] += partial[slot + half_];
        barrier();
    }
    sum[0] = partial[slot];
#endif
    if (valid && lane == 0) {
        EACH if (firstX + n < shape.batch) y[(firstX + n) * shape.rows + row] = sum[n];
    }
}
