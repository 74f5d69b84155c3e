#version 450
// y[r] = Σ_b d_b · Σ_i (q_b[i] − 8)·x[32b + i]   (W: rows × columns in Q4_0 blocks; x, y: f32)
//
// A batch of activation rows is the dispatch's z dimension, NB rows per z: x holds
// batch × columns and y batch × rows. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// A Q4_0 block is 18 bytes for 32 elements: an f16 scale d, then 16 bytes whose low nibbles
// are elements 0–15 and high nibbles elements 16–31. Blocks are not word-aligned, so the matrix
// is read as words and bytes extracted (the host pads the buffer to a whole word). Activations
// stay f32 (dequantize-then-dot). One workgroup per row, 64 invocations over the row's blocks,
// a shared-memory tree for the partial sums.
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

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint columns;  // a multiple of 32
    uint batch;    // activation rows
} shape;

#if LANES > 1
shared float partial[64];
#endif

uint byteAt(uint offset) {
    return (w[offset >> 2] >> ((offset & 3u) * 8u)) & 0xFFu;
}

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
    const uint blocks = shape.columns / 32;
    const uint rowStart = row * blocks * 18;
    float sum[NB];
    EACH sum[n] = 0.0;
    for (uint b = lane; valid && b < blocks; b += LANES) {
        const uint start = rowStart + b * 18;
        const float d = unpackHalf2x16(byteAt(start) | (byteAt(start + 1) << 8)).x;
        float blockSum[NB];
        EACH blockSum[n] = 0.0;
        for (uint i = 0; i < 16; i++) {
            const uint byte_ = byteAt(start + 2 + i);
            const float low = float(int(byte_ & 0xFu) - 8), high = float(int(byte_ >> 4) - 8);
            EACH blockSum[n] += low * X(b * 32 + i) + high * X(b * 32 + 16 + i);
        }
        EACH sum[n] += d * blockSum[n];
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
