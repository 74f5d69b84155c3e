// The product for 32-element weight blocks with one f16 scale (Q4_0, Q5_0, Q8_0) against Q8_0
// activation blocks, in the CPU's invariant order (QuantizedDot): lane j of block b is the exact
// Σ q_w·q_a over elements 4j…4j+3, fused-multiply-added with d_w·d_a into lane accumulator j,
// block after block; then laneSum. With BLOCK_TOTALS defined (Q5_0, QuantizedDot.q5_0Totals) the
// block's exact Σ over all 32 elements times d_w·d_a is added to one accumulator instead: in f64
// where the device has it (the `_f64` builds; every product exact, as on the CPU), else in f32
// with fma (close, not the CPU's bits).
// The including shader defines
//   float weightBlock(uint block, out int q[32])
// which writes block `block` of the matrix (counted from the first row) as 32 signed values and
// returns its scale d_w.
void main() {
    locate();
    const uint blocks = shape.columns / 32;
#if defined(BLOCK_TOTALS) && defined(F64)
    precise double acc[NB];
    EACH acc[n] = 0.0LF;
#elif defined(BLOCK_TOTALS)
    float acc[NB];
    EACH acc[n] = 0.0;
#else
    float acc[NB][8];
    EACH for (uint j = 0; j < 8; j++) acc[n][j] = 0.0;
#endif
    for (uint b = lane; valid && b < blocks; b += LANES) {
        int q[32];
        const float dw = weightBlock(row * blocks + b, q);
        EACH {
            const uint a = activationBlock(n, b, 32, 9);
            precise float scale = dw * uintBitsToFloat(xa[a]);
#ifdef BLOCK_TOTALS
            int total = 0;
#endif
            for (uint j = 0; j < 8; j++) {
                const uint word = xa[a + 1 + j];
                const int sum = q[4 * j] * signedByte(word, 0) + q[4 * j + 1] * signedByte(word, 1)
                              + q[4 * j + 2] * signedByte(word, 2) + q[4 * j + 3] * signedByte(word, 3);
#ifdef BLOCK_TOTALS
                total += sum;
#else
                acc[n][j] = fmaf(float(sum), scale, acc[n][j]);
#endif
            }
#if defined(BLOCK_TOTALS) && defined(F64)
            precise double term = double(total) * double(scale);
            acc[n] += term;
#elif defined(BLOCK_TOTALS)
            acc[n] = fmaf(float(total), scale, acc[n]);
#endif
        }
    }
    float sum[NB];
#ifdef BLOCK_TOTALS
    EACH sum[n] = float(acc[n]);
#else
    EACH sum[n] = laneSum(acc[n]);
#endif
    finish(sum);
}
