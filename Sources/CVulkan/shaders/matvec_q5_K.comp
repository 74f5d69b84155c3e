#version 450
#extension GL_GOOGLE_include_directive : require
// y[r] = Σ_blocks Σ_sub Σ_j ((d·sc_sub)·q_j − dmin·m_sub)·x̂[...]   (W: rows × columns in Q5_K; x̂: Q8_K activation blocks)
//
// A Q5_K super-block is 176 bytes (44 words, so blocks stay word-aligned) for 256 elements:
// f16 d and dmin (word 0), twelve bytes of 6-bit sub-block scales and mins for 8 sub-blocks of 32
// packed as in Q4_K (words 1–3), 32 bytes of high bits qh (words 4–11: bit s of byte j is the
// fifth bit of element j of sub-block s), then 128 bytes of low 4-bit quants (words 12–43):
// sub-blocks 2g and 2g+1 share bytes 32g…32g+31, low nibbles for the first, high for the
// second. So q_j of sub-block s is (nibble of byte j) | (bit s of qh byte j) << 4, in 0…31.
// Shared parts, the input's layout and the order of the sums: matvec_quantized.glsl and
// matvec_scale_min.glsl.
#include "matvec_quantized.glsl"

#define BLOCK_WORDS 44

uint quantWord(uint block, uint sub, uint k) {
    const uint low = (w[block + 12 + (sub / 2) * 8 + k] >> (4u * (sub % 2))) & 0x0F0F0F0Fu;
    // qh bytes 4k…4k+3 belong to the same elements as these quant bytes; bit `sub` of each.
    const uint high = (w[block + 4 + k] >> sub) & 0x01010101u;
    return low | (high << 4);
}

#include "matvec_scale_min.glsl"
