#version 450
// y[r] = Σ_blocks Σ_sub Σ_j ((d·sc_sub)·q_j − dmin·m_sub)·x[...]   (W: rows × columns in Q4_K; x, y: f32)
//
// A batch of activation rows is the dispatch's z dimension, NB rows per z: x holds
// batch × columns and y batch × rows. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// A Q4_K super-block is 144 bytes (36 words, so blocks stay word-aligned) for 256 elements:
// f16 d and dmin (word 0), twelve bytes of 6-bit scales and mins for its eight sub-blocks of 32
// (words 1–3: bytes 0–3 scales 0–3, 4–7 mins 0–3, 8–11 the low 4 bits of scales and mins 4–7,
// whose top 2 bits sit in the spare bits of bytes 0–7), then 128 bytes of 4-bit quants (words
// 4–35): sub-blocks 2g and 2g+1 share bytes 32g…32g+31, low nibbles for the first, high for the
// second. Activations stay f32 (dequantize-then-dot). One workgroup per row; its 64 invocations
// take the row's sub-blocks in turn, and a shared-memory tree adds their sums.
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

// Byte `i` (0…11) of the block's scales, which start at word 1.
uint scaleByte(uint block, uint i) {
    return (w[block + 1 + (i >> 2)] >> ((i & 3u) * 8u)) & 0xFFu;
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
    for (uint s = lane; valid && s < blocks * 8; s += LANES) {
        const uint b = s / 8, sub = s % 8;
        const uint block = (row * blocks + b) * 36;  // word index of the block
        const vec2 dm = unpackHalf2x16(w[block]);    // (d, dmin)
        uint sc, m;
        if (sub < 4) {
            sc = scaleByte(block, sub) & 63u;
            m = scaleByte(block, sub + 4) & 63u;
        } else {
            sc = (scaleByte(block, sub + 4) & 0xFu) | ((scaleByte(block, sub - 4) >> 6) << 4);
            m = (scaleByte(block, sub + 4) >> 4) | ((scaleByte(block, sub) >> 6) << 4);
        }
        const float scale = dm.x * float(sc), minimum = dm.y * float(m);
        const uint shift = 4u * (sub % 2);
        const uint quants = block + 4 + (sub / 2) * 8;  // word index of the 32 bytes
        const uint xStart = b * 256 + sub * 32;
        float dot[NB], xSum[NB];
        EACH { dot[n] = 0.0; xSum[n] = 0.0; }
        for (uint k = 0; k < 8; k++) {
            const uint word = w[quants + k] >> shift;
            for (uint j = 0; j < 4; j++) {
                const float q = float((word >> (8u * j)) & 0xFu);
                EACH {
                    const float xv = X(xStart + 4 * k + j);
                    dot[n] += q * xv;
                    xSum[n] += xv;
                }
            }
        }
        // Σ_j (scale·q_j − minimum)·x_j = scale·Σ q_j·x_j − minimum·Σ x_j
        EACH sum[n] += scale * dot[n] - minimum * xSum[n];
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
