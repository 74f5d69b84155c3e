#version 450
// y[r] = Σ_b d_b · Σ_i (q_b[i] − 8)·x[32b + i]   (W: rows × columns in Q4_0 blocks; x, y: f32)
//
// A batch of activation rows is the dispatch's z dimension: x holds batch × columns and y
// batch × rows, activation row z giving output row z. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// A Q4_0 block is 18 bytes for 32 elements: an f16 scale d, then 16 bytes whose low nibbles
// are elements 0–15 and high nibbles elements 16–31. Blocks are not word-aligned, so the matrix
// is read as words and bytes extracted (the host pads the buffer to a whole word). Activations
// stay f32 (dequantize-then-dot). One workgroup per row, 64 invocations over the row's blocks,
// a shared-memory tree for the partial sums.
layout(local_size_x = 64) in;

// LANES invocations share one row: 64 (the default) is one workgroup per row, its partial sums
// added in shared memory, for GPUs; 1 (the `_rowwise` build of this file, scripts/build-shaders)
// is one invocation per row with no barrier at all, for Vulkan devices that run on the CPU
// (lavapipe), where a barrier costs far more than the arithmetic.
#ifndef LANES
#define LANES 64
#endif

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint columns;  // a multiple of 32
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
    // Activation row gl_WorkGroupID.z: its input starts at z·columns, its outputs at z·rows.
    const uint xBase = gl_WorkGroupID.z * shape.columns;
    const uint blocks = shape.columns / 32;
    const uint rowStart = row * blocks * 18;
    float sum = 0.0;
    for (uint b = lane; valid && b < blocks; b += LANES) {
        const uint start = rowStart + b * 18;
        const float d = unpackHalf2x16(byteAt(start) | (byteAt(start + 1) << 8)).x;
        float blockSum = 0.0;
        for (uint i = 0; i < 16; i++) {
            const uint byte_ = byteAt(start + 2 + i);
            blockSum += float(int(byte_ & 0xFu) - 8) * x[xBase + b * 32 + i]
                      + float(int(byte_ >> 4) - 8) * x[xBase + b * 32 + 16 + i];
        }
        sum += d * blockSum;
    }
#if LANES > 1
    const uint slot = gl_LocalInvocationID.x;
    partial[slot] = sum;
    barrier();
    for (uint half_ = LANES / 2; half_ > 0; half_ >>= 1) {
        if (lane < half_) partial[slot] += partial[slot + half_];
        barrier();
    }
    sum = partial[slot];
#endif
    if (valid && lane == 0) y[gl_WorkGroupID.z * shape.rows + row] = sum;
}
