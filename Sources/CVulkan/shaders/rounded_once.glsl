// f32 operations rounded once, as the CPU rounds them: fmaf(a, b, c) = a·b + c (Swift's
// addingProduct, C's fmaf) and divide(a, b) = a / b. Vulkan promises neither — a device may
// round an fma()'s product first (lavapipe does) and divide through a reciprocal (lavapipe's f32
// division was an ulp off now and then) — so where the device has 64-bit floats (the `_f64`
// builds, F64 defined) both are computed exactly:
// - fmaf: the product of two f32 is exact in f64, the f64 sum's rounding error is recovered
//   (Knuth's two-sum), and the sum is rounded to odd before it is rounded to f32, which makes the
//   two roundings one (53 bits ≥ 24 + 2);
// - divide: the f64 quotient rounded to f32 is the correctly rounded f32 quotient (53 ≥ 2·24 + 2).
// Both assume the device's own f64 additions and divisions are correctly rounded (lavapipe's are).
// Without F64 they are the device's fma() and division.
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

float divide(float a, float b) { return float(double(a) / double(b)); }
#else
float fmaf(float a, float b, float c) { return fma(a, b, c); }
float divide(float a, float b) { return a / b; }
#endif
