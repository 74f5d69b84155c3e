#version 450
// y = x as the CPU sees it through the 8-bit activation blocks it dots quantized weights with
// (CriaNumerics' ActivationQuantization), written back as floats, so that a float product with
// y equals the CPU's integer-per-block dot up to the order of the f32 additions:
//   Q8_0 (blocks of 32, format 0): a = max|x|, d = f16(a/127), q = roundEven(x·(127/a)), y = d·q
//   Q8_K (blocks of 256, format 1): m = the first element of largest magnitude,
//     s = −127/m, q = min(127, roundEven(s·x)), y = (1/s)·q
// A block of zeros gives zeros; q = 0 gives +0, as the CPU's integer q does. Blocks never straddle rows (a quantized weight's width is a
// whole number of blocks), so the rows are one run of blocks. One invocation per block, 64 per
// workgroup; groups beyond the first dispatch dimension continue in the second.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint blocks;
    uint format;  // 0: Q8_0, 1: Q8_K
} shape;

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint b = group * 64 + gl_LocalInvocationID.x;
    if (b >= shape.blocks) return;
    if (shape.format == 0u) {
        const uint base = b * 32;
        float amax = 0.0;
        for (uint j = 0; j < 32; j++) amax = max(amax, abs(x[base + j]));
        // d as the CPU stores it: f16, rounded to nearest even.
        const float d = unpackHalf2x16(packHalf2x16(vec2(amax / 127.0, 0.0))).x;
        const float id = amax != 0.0 ? 127.0 / amax : 0.0;
        for (uint j = 0; j < 32; j++) y[base + j] = d * float(clamp(int(roundEven(x[base + j] * id)), -127, 127));
    } else {
        const uint base = b * 256;
        float amax = 0.0, m = 0.0;
        for (uint j = 0; j < 256; j++) {
            const float a = abs(x[base + j]);
            if (a > amax) { amax = a; m = x[base + j]; }
        }
        if (amax == 0.0) {
            for (uint j = 0; j < 256; j++) y[base + j] = 0.0;
            return;
        }
        const float s = -127.0 / m;
        const float d = 1.0 / s;
        for (uint j = 0; j < 256; j++) y[base + j] = d * float(min(127, int(roundEven(s * x[base + j]))));
    }
}
