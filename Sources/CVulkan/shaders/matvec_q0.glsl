// The product for 32-element weight blocks with one f16 scale (Q4_0, Q5_0, Q8_0) against Q8_0
// activation blocks, in the CPU's order (QuantizedDot.q0): lane j of block b is the exact
// Σ q_w·q_a over elements 4j…4j+3, fused-multiply-added with d_w·d_a into lane accumulator j,
// block after block; then laneSum. The including shader defines
//   float weightBlock(uint block, out int q[32])
// which writes block `block` of the matrix (counted from the first row) as 32 signed values and
// returns its scale d_w.
void main() {
    locate();
    const uint blocks = shape.columns / 32;
    float acc[NB][8];
    EACH for (uint j = 0; j < 8; j++) acc[n][j] = 0.0;
    for (uint b = lane; valid && b < blocks; b += LANES) {
        int q[32];
        const float dw = weightBlock(row * blocks + b, q);
        EACH {
            const uint a = activationBlock(n, b, 32, 9);
            precise float scale = dw * uintBitsToFloat(xa[a]);
            for (uint j = 0; j < 8; j++) {
                const uint word = xa[a + 1 + j];
                const int sum = q[4 * j] * signedByte(word, 0) + q[4 * j + 1] * signedByte(word, 1)
                              + q[4 * j + 2] * signedByte(word, 2) + q[4 * j + 3] * signedByte(word, 3);
                acc[n][j] = fmaf(float(sum), scale, acc[n][j]);
            }
        }
    }
    float sum[NB];
    EACH sum[n] = laneSum(acc[n]);
    finish(sum);
}
