#version 450
// y[r] = Σ_blocks Σ_g (d·s_g) · Σ_i (q_i − 32)·x[...]   (W: rows × columns in Q6_K; x, y: f32)
//
// A batch of activation rows is the dispatch's z dimension, NB rows per z: x holds
// batch × columns and y batch × rows. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// A Q6_K super-block is 210 bytes for 256 elements: ql (128 bytes of low nibbles), qh (64 bytes
// of 2-bit high parts), sixteen signed 8-bit scales (one per 16 elements), then an f16 d. For
// element i, with group = i / 128 and k = i % 128: the low nibble is in ql[64·group + k % 64]
// (high nibble when k ≥ 64), the two high bits in qh[32·group + k % 32] at bit 2·(k / 32).
// Blocks are not word-aligned: the matrix is read as words and bytes extracted (the host pads
// the buffer to a whole word). Activations stay f32 (dequantize-then-dot). One workgroup per
// row; its 64 invocations take the row's 16-element sub-blocks in turn.
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
    uint columns;  // a multiple of 256
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
    const uint blocks = shape.columns / 256;
    float sum[NB];
    EACH sum[n] = 0.0;
    for (uint s = lane; valid && s < blocks * 16; s += LANES) {
        const uint b = s / 16, g = s % 16;
        const uint start = (row * blocks + b) * 210;
        const float d = unpackHalf2x16(byteAt(start + 208) | (byteAt(start + 209) << 8)).x;
        const float scale = d * float(bitfieldExtract(int(byteAt(start + 192 + g)), 0, 8));
        float subSum[NB];
        EACH subSum[n] = 0.0;
        for (uint j = 0; j < 16; j++) {
            const uint i = g * 16 + j;
            const uint group = i / 128, k = i % 128;
            const uint low = (byteAt(start + 64 * group + k % 64) >> (4u * (k / 64))) & 0xFu;
            const uint high = (byteAt(start + 128 + 32 * group + k % 32) >> (2u * (k / 32))) & 3u;
            const float q = float(int(low | (high << 4)) - 32);
            EACH subSum[n] += q * X(b * 256 + i);
        }
        EACH sum[n] += scale * subSum[n];
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
