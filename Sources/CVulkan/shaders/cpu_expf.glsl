// expf(x) as the CPU engine gets it from glibc's libm on x86-64 with FMA (glibc 2.27 and later,
// the `__expf_fma` build its ifunc picks; read from its disassembly; scripts/check-cpu-expf.py
// checks these steps against libm bit for bit): with z = x·32/ln2 in f64, k = z rounded to the nearest integer, r = z − k,
//   e^x = 2^(k/32) · (1 + r·C2 + r²·(r·C0 + C1)),  rounded once to f32,
// where 2^(k/32) = 2^(k mod 32 / 32)·2^⌊k/32⌋ from a table of 32 doubles and C0…C2 are glibc's
// polynomial for 2^(r/32). Its f64 steps are fused multiply-adds there; here the first two (k and
// r) are exact — the product z is split exactly (Veltkamp, Dekker) — and the polynomial's are
// two-product/two-sum emulations, which round like a fused operation but in rare cases that move
// the f64 result by an ulp, 2⁻²⁹ of an f32 ulp. Needs 64-bit floats (the `_f64` builds).
// Special cases as glibc: −inf gives 0, NaN and +inf themselves, above 88.72 +inf, below −103.97 0.

const uvec2 expfTable[32] = uvec2[32](
    uvec2(0x00000000u, 0x3ff00000u), uvec2(0xd3158574u, 0x3ff059b0u),
    uvec2(0x6cf9890fu, 0x3ff0b558u), uvec2(0xd0125b51u, 0x3ff11301u),
    uvec2(0x3c7d517bu, 0x3ff172b8u), uvec2(0x3168b9aau, 0x3ff1d487u),
    uvec2(0x6e756238u, 0x3ff2387au), uvec2(0xf51fdee1u, 0x3ff29e9du),
    uvec2(0x0a31b715u, 0x3ff306feu), uvec2(0x373aa9cbu, 0x3ff371a7u),
    uvec2(0x4c123422u, 0x3ff3dea6u), uvec2(0x6061892du, 0x3ff44e08u),
    uvec2(0xd5362a27u, 0x3ff4bfdau), uvec2(0x569d4f82u, 0x3ff5342bu),
    uvec2(0xdd485429u, 0x3ff5ab07u), uvec2(0xb03a5585u, 0x3ff6247eu),
    uvec2(0x667f3bcdu, 0x3ff6a09eu), uvec2(0xe8ec5f74u, 0x3ff71f75u),
    uvec2(0x73eb0187u, 0x3ff7a114u), uvec2(0x994cce13u, 0x3ff82589u),
    uvec2(0x422aa0dbu, 0x3ff8ace5u), uvec2(0xb0cdc5e5u, 0x3ff93737u),
    uvec2(0x82a3f090u, 0x3ff9c491u), uvec2(0xb23e255du, 0x3ffa5503u),
    uvec2(0x995ad3adu, 0x3ffae89fu), uvec2(0xf2fb5e47u, 0x3ffb7f76u),
    uvec2(0xdd85529cu, 0x3ffc199bu), uvec2(0xdcef9069u, 0x3ffcb720u),
    uvec2(0xdcfba487u, 0x3ffd5818u), uvec2(0x337b9b5fu, 0x3ffdfc97u),
    uvec2(0xa2a490dau, 0x3ffea4afu), uvec2(0x5b6e4540u, 0x3fff5076u)
);

// (high, low) with high + low = a·b exactly (no overflow or underflow in our range).
dvec2 twoProduct(double a, double b) {
    const double split = 134217729.0LF;  // 2^27 + 1
    precise double ca = split * a, ah = ca - (ca - a), al = a - ah;
    precise double cb = split * b, bh = cb - (cb - b), bl = b - bh;
    precise double p = a * b;
    precise double e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    return dvec2(p, e);
}

// a·b + c rounded as one fused operation but for the rare cases the comment above names.
double fmaDouble(double a, double b, double c) {
    const dvec2 p = twoProduct(a, b);
    precise double s = p.x + c;
    precise double t = s - p.x;
    precise double e = (p.x - (s - t)) + (c - t);
    precise double result = s + (e + p.y);
    return result;
}

float cpuExpf(float x) {
    const uint bits = floatBitsToUint(x);
    const uint top = (bits >> 20) & 0x7FFu;
    if (top > 0x42Au) {
        if (bits == 0xFF800000u) return 0.0;
        if (top > 0x7F7u) return x + x;
        if (x > uintBitsToFloat(0x42B17217u)) return uintBitsToFloat(0x7F800000u);
        if (x < uintBitsToFloat(0xC2CFF1B4u)) return 0.0;
    }
    const double invLn2N = packDouble2x32(uvec2(0x652b82feu, 0x40471547u));
    const double c0 = packDouble2x32(uvec2(0x4b912394u, 0x3ebc6af8u));
    const double c1 = packDouble2x32(uvec2(0x50fac4f3u, 0x3f2ebfceu));
    const double c2 = packDouble2x32(uvec2(0xff0c52d6u, 0x3f962e42u));
    // z = zh + zl exactly; k = z rounded to nearest, ties to even (what adding 1.5·2^52 does)
    const dvec2 z = twoProduct(invLn2N, double(x));
    double k = roundEven(z.x);
    if (k - z.x == 0.5LF && z.y < 0.0LF) k -= 1.0LF;       // zh is a tie: the exact z is below it
    else if (z.x - k == 0.5LF && z.y > 0.0LF) k += 1.0LF;  // or above it
    precise double head = z.x - k;  // exact
    precise double r = head + z.y;
    const int ki = int(k);
    const double s = ldexp(packDouble2x32(expfTable[ki & 31]), ki >> 5);
    const double poly = fmaDouble(r, c0, c1);
    precise double r2 = r * r;
    const double y = fmaDouble(r, c2, 1.0LF);
    precise double result = fmaDouble(poly, r2, y) * s;
    return float(result);
}
