#version 450
#extension GL_GOOGLE_include_directive : require
// y[r] = Σ_blocks Σ_g (d·s_g) · Σ_i (q_i − 32)·x̂[...]   (W: rows × columns in Q6_K; x̂: Q8_K activation blocks)
//
// A Q6_K super-block is 210 bytes for 256 elements: ql (128 bytes of low nibbles), qh (64 bytes
// of 2-bit high parts), sixteen signed 8-bit scales (one per 16 elements), then an f16 d. For
// element i, with group = i / 128 and k = i % 128: the low nibble is in ql[64·group + k % 64]
// (high nibble when k ≥ 64), the two high bits in qh[32·group + k % 32] at bit 2·(k / 32).
// Blocks are not word-aligned: the matrix is read as words and bytes extracted (the host pads
// the buffer to a whole word).
//
// The CPU's order (QuantizedDot.q6_K, llama.cpp's x86 vec_dot): per super-block eight integer
// lanes, lane m = Σ over elements e with e mod 32 in 4m…4m+3 of s·u·q_a (u = q_e + 32, 0…63)
// minus 32·(s_2m·bsum_2m + s_2m+1·bsum_2m+1) (bsum_i: the sum of activation quants 16i…16i+15),
// fused-multiply-added with d_a·d into eight lane accumulators, then laneSum. Shared parts and the
// input's layout: matvec_quantized.glsl.
#include "matvec_quantized.glsl"

void main() {
    locate();
    const uint blocks = shape.columns / 256;
    float acc[NB][8];
    EACH for (uint j = 0; j < 8; j++) acc[n][j] = 0.0;
    for (uint b = lane; valid && b < blocks; b += LANES) {
        const uint start = (row * blocks + b) * 210;
        const float d = unpackHalf2x16(byteAt(start + 208) | (byteAt(start + 209) << 8)).x;
        int scales[16];
        for (uint g = 0; g < 16; g++) scales[g] = bitfieldExtract(int(byteAt(start + 192 + g)), 0, 8);
        // u for elements 4k…4k+3, one byte each
        uint quants[64];
        for (uint k = 0; k < 64; k++) {
            const uint e = 4 * k, group = e / 128, r = e % 128;
            const uint lowStart = start + 64 * group + r % 64, lowShift = 4u * (r / 64);
            const uint highStart = start + 128 + 32 * group + r % 32, highShift = 2u * (r / 32);
            uint word = 0;
            for (uint j = 0; j < 4; j++) {
                const uint u = ((byteAt(lowStart + j) >> lowShift) & 0xFu) | (((byteAt(highStart + j) >> highShift) & 3u) << 4);
                word |= u << (8u * j);
            }
            quants[k] = word;
        }
        EACH {
            const uint a = activationBlock(n, b, 256, 81);
            int lanes[8];
            for (uint m = 0; m < 8; m++) lanes[m] = 0;
            for (uint k = 0; k < 64; k++) lanes[k % 8] += scales[k / 4] * dot4(quants[k], xa[a + 1 + k]);
            for (uint m = 0; m < 8; m++) {
                lanes[m] -= 32 * (int(xa[a + 65 + 2 * m]) * scales[2 * m] + int(xa[a + 66 + 2 * m]) * scales[2 * m + 1]);
            }
            precise float scale = uintBitsToFloat(xa[a]) * d;
            for (uint m = 0; m < 8; m++) acc[n][m] = fmaf(float(lanes[m]), scale, acc[n][m]);
        }
    }
    float sum[NB];
    EACH sum[n] = laneSum(acc[n]);
    finish(sum);
}
