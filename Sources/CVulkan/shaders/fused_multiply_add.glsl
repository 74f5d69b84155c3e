// fmaf(a, b, c): a·b + c rounded once to f32, as the CPU's fused multiply-add (Swift's
// addingProduct, C's fmaf) rounds it. GLSL's fma() does not promise that — Vulkan lets a device
// round the product first, and lavapipe does — so where the device has 64-bit floats (the `_f64`
// builds, F64 defined) it is computed exactly: the product of two f32 is exact in f64, the f64
// sum's rounding error is recovered (Knuth's two-sum), and the sum is rounded to odd before it is
// rounded to f32, which makes the two roundings one (53 bits ≥ 24 + 2). Without F64 it is the
// device's fma().
#ifdef F64
float fmaf(float a, float b, float c) {
    precise double p = double(a) * double(b);
    precise double z = double(c);
    precise double s = p + z;
    precise double t = s - p;
    precise double error = (p - (s - t)) + (z - t);
    if (error != 0.0LF) {
        // s is inexact (and then not 0): make its last bit 1 by stepping toward the exact sum
        // where it is 0.
        uvec2 bits = unpackDouble2x32(s);
        if ((bits.x & 1u) == 0u) {
            if ((error > 0.0LF) == (s > 0.0LF)) {
                bits.x |= 1u;
            } else {
                if (bits.x == 0u) bits.y -= 1u;
                bits.x -= 1u;
            }
            s = packDouble2x32(bits);
        }
    }
    return float(s);
}
#else
float fmaf(float a, float b, float c) { return fma(a, b, c); }
#endif
