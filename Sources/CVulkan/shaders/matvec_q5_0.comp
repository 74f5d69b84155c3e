#version 450
#extension GL_GOOGLE_include_directive : require
// y[r] = Σ_b d_b · Σ_i (q_b[i] − 16)·x̂[32b + i]   (W: rows × columns in Q5_0 blocks; x̂: Q8_0 activation blocks)
//
// A Q5_0 block is 22 bytes for 32 elements: an f16 scale d, 4 bytes qh whose bit i is the fifth
// bit of element i, then 16 bytes whose low nibbles are elements 0–15 and high nibbles 16–31.
// Blocks are not word-aligned, so the matrix is read as words and bytes extracted (the host pads
// the buffer to a whole word). Shared parts, the input's layout and the order of the sums:
// matvec_quantized.glsl and matvec_q0.glsl (with the CPU's invariant order for Q5_0, block totals).
#define BLOCK_TOTALS
#include "matvec_quantized.glsl"

float weightBlock(uint block, out int q[32]) {
    const uint start = block * 22;
    const uint qh = byteAt(start + 2) | (byteAt(start + 3) << 8) | (byteAt(start + 4) << 16) | (byteAt(start + 5) << 24);
    for (uint i = 0; i < 16; i++) {
        const uint byte_ = byteAt(start + 6 + i);
        q[i] = int((byte_ & 0xFu) | (((qh >> i) & 1u) << 4)) - 16;
        q[i + 16] = int((byte_ >> 4) | (((qh >> (i + 16)) & 1u) << 4)) - 16;
    }
    return unpackHalf2x16(byteAt(start) | (byteAt(start + 1) << 8)).x;
}

#include "matvec_q0.glsl"
