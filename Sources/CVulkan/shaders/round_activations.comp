#version 450
#extension GL_GOOGLE_include_directive : require
// Quantizes f32 activations into the 8-bit blocks the CPU dots quantized weights with
// (CriaNumerics' ActivationQuantization), the input of the quantized matrix products
// (matvec_quantized.glsl has the layout):
//   Q8_0 (blocks of 32, format 0): a = max|x|, d = f16(a/127), q = roundEven(x·(127/a));
//     9 words: d as f32 bits, then q, 4 per word
//   Q8_K (blocks of 256, format 1): m = the first element of largest magnitude,
//     s = −127/m, q = min(127, roundEven(s·x)), d = 1/s; 81 words: d, q 4 per word, then the
//     16 sums of q over elements 16i…16i+15
// A block of zeros gives d = 0 and q = 0, as on the CPU. The divisions must be correctly rounded
// for the CPU's bits, which Vulkan does not promise: the `_f64` build divides exactly
// (rounded_once.glsl), for devices with shaderFloat64. Blocks never straddle rows (a quantized
// weight's width is a whole number of blocks), so the rows are one run of blocks. One invocation
// per block, 64 per workgroup; groups beyond the first dispatch dimension continue in the second.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { uint y[]; };

layout(push_constant) uniform Shape {
    uint blocks;
    uint format;  // 0: Q8_0, 1: Q8_K
} shape;

#include "rounded_once.glsl"

void main() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    const uint b = group * 64 + gl_LocalInvocationID.x;
    if (b >= shape.blocks) return;
    if (shape.format == 0u) {
        const uint base = b * 32, out_ = b * 9;
        float amax = 0.0;
        for (uint j = 0; j < 32; j++) amax = max(amax, abs(x[base + j]));
        // d as the CPU stores it: f16, rounded to nearest even.
        const float d = unpackHalf2x16(packHalf2x16(vec2(divide(amax, 127.0), 0.0))).x;
        const float id = amax != 0.0 ? divide(127.0, amax) : 0.0;
        y[out_] = floatBitsToUint(d);
        for (uint k = 0; k < 8; k++) {
            uint word = 0;
            for (uint j = 0; j < 4; j++) {
                const int q = clamp(int(roundEven(x[base + 4 * k + j] * id)), -127, 127);
                word |= (uint(q) & 0xFFu) << (8u * j);
            }
            y[out_ + 1 + k] = word;
        }
    } else {
        const uint base = b * 256, out_ = b * 81;
        float amax = 0.0, m = 0.0;
        for (uint j = 0; j < 256; j++) {
            const float a = abs(x[base + j]);
            if (a > amax) { amax = a; m = x[base + j]; }
        }
        if (amax == 0.0) {
            for (uint j = 0; j < 81; j++) y[out_ + j] = 0u;
            return;
        }
        const float s = divide(-127.0, m);
        y[out_] = floatBitsToUint(divide(1.0, s));
        for (uint g = 0; g < 16; g++) {
            int sum = 0;
            for (uint k = 0; k < 4; k++) {
                uint word = 0;
                for (uint j = 0; j < 4; j++) {
                    const int q = min(127, int(roundEven(s * x[base + 16 * g + 4 * k + j])));
                    sum += q;
                    word |= (uint(q) & 0xFFu) << (8u * j);
                }
                y[out_ + 1 + 4 * g + k] = word;
            }
            y[out_ + 65 + g] = uint(sum);
        }
    }
}
