#version 450
#extension GL_GOOGLE_include_directive : require
// y[r] = Σ_blocks Σ_sub Σ_j ((d·sc_sub)·q_j − dmin·m_sub)·x̂[...]   (W: rows × columns in Q4_K; x̂: Q8_K activation blocks)
//
// A Q4_K super-block is 144 bytes (36 words, so blocks stay word-aligned) for 256 elements:
// f16 d and dmin (word 0), twelve bytes of 6-bit sub-block scales and mins for 8 sub-blocks of 32
// (words 1–3: bytes 0–3 scales 0–3, 4–7 mins 0–3, 8–11 the low 4 bits of scales and mins 4–7,
// whose top 2 bits sit in the spare bits of bytes 0–7), then 128 bytes of 4-bit quants (words
// 4–35): sub-blocks 2g and 2g+1 share bytes 32g…32g+31, low nibbles for the first, high for the
// second. Shared parts, the input's layout and the order of the sums: matvec_quantized.glsl and
// matvec_scale_min.glsl.
#include "matvec_quantized.glsl"

#define BLOCK_WORDS 36

uint quantWord(uint block, uint sub, uint k) {
    return (w[block + 4 + (sub / 2) * 8 + k] >> (4u * (sub % 2))) & 0x0F0F0F0Fu;
}

#include "matvec_scale_min.glsl"
