// The product for the 256-element super-blocks with eight 6-bit scales and mins (Q4_K, Q5_K)
// against Q8_K activation blocks, in the CPU's invariant order (QuantizedDot.scaleMinDot,
// `chains`): per super-block the exact isum = Σ_s sc_s·Σ q·q_a and msum = Σ_s m_s·(the sums of
// sub-block s's activation quants), fused-multiply-added with d·d_a and dmin·d_a into two
// accumulators that are subtracted at the end. The including shader defines BLOCK_WORDS (the
// super-block's size in words; it begins with d, dmin as f16 and the 12 scale bytes) and
//   uint quantWord(uint block, uint sub, uint k)
// which returns elements 4k…4k+3 of sub-block `sub` of the super-block at word `block` as four
// bytes, each 0…31.

// Byte `i` (0…11) of the super-block's scales, which start at word 1.
uint scaleByte(uint block, uint i) {
    return (w[block + 1 + (i >> 2)] >> ((i & 3u) * 8u)) & 0xFFu;
}

void main() {
    locate();
    const uint blocks = shape.columns / 256;
    float scaled[NB], mins[NB];
    EACH { scaled[n] = 0.0; mins[n] = 0.0; }
    for (uint b = lane; valid && b < blocks; b += LANES) {
        const uint block = (row * blocks + b) * BLOCK_WORDS;
        const vec2 dm = unpackHalf2x16(w[block]);  // (d, dmin)
        int sc[8], m[8];
        uint quants[64];
        for (uint sub = 0; sub < 8; sub++) {
            if (sub < 4) {
                sc[sub] = int(scaleByte(block, sub) & 63u);
                m[sub] = int(scaleByte(block, sub + 4) & 63u);
            } else {
                sc[sub] = int((scaleByte(block, sub + 4) & 0xFu) | ((scaleByte(block, sub - 4) >> 6) << 4));
                m[sub] = int((scaleByte(block, sub + 4) >> 4) | ((scaleByte(block, sub) >> 6) << 4));
            }
            for (uint k = 0; k < 8; k++) quants[sub * 8 + k] = quantWord(block, sub, k);
        }
        EACH {
            const uint a = activationBlock(n, b, 256, 81);
            int isum = 0, msum = 0;
            for (uint sub = 0; sub < 8; sub++) {
                msum += m[sub] * (int(xa[a + 65 + 2 * sub]) + int(xa[a + 66 + 2 * sub]));
                int s = 0;
                for (uint k = 0; k < 8; k++) s += dot4(quants[sub * 8 + k], xa[a + 1 + sub * 8 + k]);
                isum += sc[sub] * s;
            }
            const float da = uintBitsToFloat(xa[a]);
            precise float scale = dm.x * da, minimum = dm.y * da;
            scaled[n] = fmaf(float(isum), scale, scaled[n]);
            mins[n] = fmaf(float(msum), minimum, mins[n]);
        }
    }
    float sum[NB];
    EACH {
        precise float difference = scaled[n] - mins[n];
        sum[n] = difference;
    }
    finish(sum);
}
