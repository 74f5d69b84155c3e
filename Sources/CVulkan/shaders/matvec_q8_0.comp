#version 450
#extension GL_GOOGLE_include_directive : require
// y[r] = Σ_b d_b · Σ_i q_b[i]·x̂[32b + i]   (W: rows × columns in Q8_0 blocks; x̂: Q8_0 activation blocks)
//
// A Q8_0 block is 34 bytes: an f16 scale d, then 32 signed 8-bit quants. Blocks are not 4-byte
// aligned, so the matrix is read as 32-bit words and bytes extracted from them (the host pads the
// buffer to a whole word). Shared parts, the input's layout and the order of the sums:
// matvec_quantized.glsl and matvec_q0.glsl.
#include "matvec_quantized.glsl"

float weightBlock(uint block, out int q[32]) {
    const uint start = block * 34;
    for (uint i = 0; i < 32; i++) q[i] = bitfieldExtract(int(byteAt(start + 2 + i)), 0, 8);
    return unpackHalf2x16(byteAt(start) | (byteAt(start + 1) << 8)).x;
}

#include "matvec_q0.glsl"
