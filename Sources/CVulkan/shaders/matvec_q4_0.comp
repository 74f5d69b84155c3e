#version 450
#extension GL_GOOGLE_include_directive : require
// y[r] = Σ_b d_b · Σ_i (q_b[i] − 8)·x̂[32b + i]   (W: rows × columns in Q4_0 blocks; x̂: Q8_0 activation blocks)
//
// A Q4_0 block is 18 bytes for 32 elements: an f16 scale d, then 16 bytes whose low nibbles
// are elements 0–15 and high nibbles elements 16–31. Blocks are not word-aligned, so the matrix
// is read as words and bytes extracted (the host pads the buffer to a whole word). Shared parts,
// the input's layout and the order of the sums: matvec_quantized.glsl and matvec_q0.glsl.
#include "matvec_quantized.glsl"

float weightBlock(uint block, out int q[32]) {
    const uint start = block * 18;
    for (uint i = 0; i < 16; i++) {
        const uint byte_ = byteAt(start + 2 + i);
        q[i] = int(byte_ & 0xFu) - 8;
        q[i + 16] = int(byte_ >> 4) - 8;
    }
    return unpackHalf2x16(byteAt(start) | (byteAt(start + 1) << 8)).x;
}

#include "matvec_q0.glsl"
