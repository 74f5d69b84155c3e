#version 450
// y[r] = Σ_b d_b · Σ_i q_b[i]·x[32b + i]   (W: rows × columns in Q8_0 blocks; x, y: f32)
//
// A batch of activation rows is the dispatch's z dimension: x holds batch × columns and y
// batch × rows, activation row z giving output row z. Each activation row reads the weights
// again: correct for prompts, not yet fast (a tiled many-row kernel would reuse them).
//
// A Q8_0 block is 34 bytes: an f16 scale d, then 32 signed 8-bit quants. Blocks are not 4-byte
// aligned, so the matrix is read as 32-bit words and bytes are extracted from them (the host
// pads the buffer to a whole word). Activations stay f32: this is dequantize-then-dot, not the
// CPU's 8-bit activation product. One workgroup per row, 64 invocations over the row's blocks,
// a shared-memory tree for the partial sums.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint columns;  // a multiple of 32
} shape;

shared float partial[64];

uint byteAt(uint offset) {
    return (w[offset >> 2] >> ((offset & 3u) * 8u)) & 0xFFu;
}

void main() {
    const uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (row >= shape.rows) return;
    const uint lane = gl_LocalInvocationID.x;
    // Activation row gl_WorkGroupID.z: its input starts at z·columns, its outputs at z·rows.
    const uint xBase = gl_WorkGroupID.z * shape.columns;
    const uint blocks = shape.columns / 32;
    const uint rowStart = row * blocks * 34;
    float sum = 0.0;
    for (uint b = lane; b < blocks; b += 64) {
        const uint start = rowStart + b * 34;
        const float d = unpackHalf2x16(byteAt(start) | (byteAt(start + 1) << 8)).x;
        float blockSum = 0.0;
        for (uint i = 0; i < 32; i++) {
            // Sign-extend the stored byte.
            const int q = bitfieldExtract(int(byteAt(start + 2 + i)), 0, 8);
            blockSum += float(q) * x[xBase + b * 32 + i];
        }
        sum += d * blockSum;
    }
    partial[lane] = sum;
    barrier();
    for (uint half_ = 32; half_ > 0; half_ >>= 1) {
        if (lane < half_) partial[lane] += partial[lane + half_];
        barrier();
    }
    if (lane == 0) y[gl_WorkGroupID.z * shape.rows + row] = partial[0];
}
