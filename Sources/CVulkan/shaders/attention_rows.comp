#version 450
#extension GL_GOOGLE_include_directive : require
#ifdef F64
#extension GL_ARB_gpu_shader_fp64 : require
#endif
// y[n][h] = Σ_c p_c·v_c / Σ_c p_c over the cached cells c visible from batch row n
//   (position_c ≤ queryPosition_n, and queryPosition_n − position_c < window when windowed),
//   in the numerics of the CPU engine's one-row attention (CriaNumerics' Attention.attendHeads,
//   itself llama.cpp's CPU flash attention with an f16 cache), so offloaded layers agree with it:
//   - the query is scaled by queryScale (models that scale queries before attention; else 1)
//     and rounded to f16;
//   - q·k over the head as ggml_vec_dot_f16 orders it: 64 partial sums (element e of every
//     64-element step into sum e), then sums e and e+32, e+16 and e+48 paired as
//     (s_e + s_{e+32}) + (s_{e+16} + s_{e+48}) for e < 16, then halves added (8, 4), then
//     (s0 + s2) + (s1 + s3); the f16·f16 products are exact in f32, so only these additions
//     round. Elements past the last whole 64 are added in order in f64, as on the CPU (in f32 in the
//     build without 64-bit floats);
//   - score = dot·scale, or cap·tanh(dot·(scale/cap)) with a soft cap;
//   - the cells in order with a running max M, sum S and an f16 accumulator a: when the score
//     grows M, ms = exp(M − score) rescales a as f16(a·ms) and vs = 1, else vs = exp(score − M);
//     then a = f16(fma(v, vs, a)) and S = fma(S, ms, vs); y = a·(1/S) (zeros when nothing is
//     visible).
//
// Row r of the dispatch is batch row n = firstRow + r: its queries are heads × headDim f32 at
// n·heads·headDim, its position is queryPositions[n], its output goes where its queries are.
// Query head h reads KV head h / (heads / kvHeads), whose cell-c row starts at half
// c·stride + kvHead·headDim of keys and values (f16, two per word, the lower-addressed in the
// low half). One workgroup per (head, row) — x the head, y the row. Pass 1: each invocation
// scores every 64th cell into the `scores` scratch (rows × heads × cells; −inf for hidden
// cells). Pass 2: one invocation runs the running max and takes each cell's exp once. Pass 3:
// each invocation accumulates its output elements (up to 8 at a time) over the cells.
layout(local_size_x = 64) in;

layout(std430, set = 0, binding = 0) readonly buffer Queries { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Keys { uint keys[]; };
layout(std430, set = 0, binding = 2) readonly buffer Values { uint values[]; };
layout(std430, set = 0, binding = 3) readonly buffer Positions { int positions[]; };
layout(std430, set = 0, binding = 4) readonly buffer QueryPositions { int queryPositions[]; };
layout(std430, set = 0, binding = 5) buffer Scores { float scores[]; };
layout(std430, set = 0, binding = 6) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint heads;
    uint kvHeads;        // divides heads
    uint headDim;
    uint cells;
    uint stride;         // halves from one cell's row to the next
    uint firstRow;       // batch row of dispatch row 0
    uint window;         // 0: no window
    float scale;
    float softcap;       // 0: none
    float queryScale;
} shape;

#ifdef F64
// The `_f64` build (devices with shaderFloat64): exp as the CPU's libm computes it (cpu_expf.glsl),
// and the reciprocal and fma rounded once like the CPU's (rounded_once.glsl), where a device's
// own exp may be off by an ulp or two and its fma may round the product first.
#include "cpu_expf.glsl"

float expf(float x) { return cpuExpf(x); }
#else
float expf(float x) { return exp(x); }
#endif

#include "rounded_once.glsl"

float keyAt(uint index) { return unpackHalf2x16(keys[index >> 1])[index & 1u]; }
float valueAt(uint index) { return unpackHalf2x16(values[index >> 1])[index & 1u]; }
float toHalf(float x) { return unpackHalf2x16(packHalf2x16(vec2(x, 0.0))).x; }

void main() {
    const uint h = gl_WorkGroupID.x, r = gl_WorkGroupID.y;
    if (h >= shape.heads) return;
    const uint lane = gl_LocalInvocationID.x;
    const uint n = shape.firstRow + r;
    const int queryPosition = queryPositions[n];
    const uint kvHead = h / (shape.heads / shape.kvHeads);
    const uint qBase = (n * shape.heads + h) * shape.headDim;
    const uint sBase = (r * shape.heads + h) * shape.cells;
    const uint kvBase = kvHead * shape.headDim;
    const float negativeInfinity = uintBitsToFloat(0xFF800000u);
    const float scale = shape.softcap != 0.0 ? shape.scale / shape.softcap : shape.scale;
    const uint main64 = shape.headDim / 64 * 64;

    // Pass 1: scores.
    for (uint c = lane; c < shape.cells; c += 64) {
        const int position = positions[c];
        const bool visible = position <= queryPosition
            && (shape.window == 0u || uint(queryPosition - position) < shape.window);
        precise float score = negativeInfinity;
        if (visible) {
            const uint kBase = c * shape.stride + kvBase;
            precise float s[64];
            for (uint e = 0; e < 64; e++) s[e] = 0.0;
            for (uint i = 0; i < main64; i += 64) {
                for (uint e = 0; e < 64; e++) {
                    s[e] += keyAt(kBase + i + e) * toHalf(q[qBase + i + e] * shape.queryScale);
                }
            }
            for (uint e = 0; e < 16; e++) s[e] = (s[e] + s[e + 32]) + (s[e + 16] + s[e + 48]);
            for (uint e = 0; e < 8; e++) s[e] = s[e] + s[e + 8];
            for (uint e = 0; e < 4; e++) s[e] = s[e] + s[e + 4];
            precise float dot = (s[0] + s[2]) + (s[1] + s[3]);
#ifdef F64
            // Elements past the last whole 64 are added in f64, as the CPU adds them.
            precise double wide = double(dot);
            for (uint i = main64; i < shape.headDim; i++) {
                wide += double(keyAt(kBase + i) * toHalf(q[qBase + i] * shape.queryScale));
            }
            dot = float(wide);
#else
            for (uint i = main64; i < shape.headDim; i++) {
                dot += keyAt(kBase + i) * toHalf(q[qBase + i] * shape.queryScale);
            }
#endif
            score = dot * scale;
            // tanh is ±1 in f32 beyond |t| ≈ 9; the clamp keeps exp-built tanh finite.
            if (shape.softcap != 0.0) score = shape.softcap * tanh(clamp(score, -10.0, 10.0));
        }
        scores[sBase + c] = score;
    }
    // Every invocation's scores must be visible to all before pass 2 reads them.
    memoryBarrierBuffer();
    barrier();

    // Pass 2: one invocation runs the softmax's running max M over the cells in order and leaves,
    // per visible cell, the one factor that is not 1 — vs = exp(s − M) as +vs, or, where the
    // score raises M, ms = exp(M − s) as −ms (−0 when M was −inf) — so each exp is taken once,
    // as on the CPU, rather than once per invocation.
    if (lane == 0u) {
        float m = negativeInfinity;
        for (uint c = 0; c < shape.cells; c++) {
            const float score = scores[sBase + c];
            if (score == negativeInfinity) continue;
            if (score > m) {
                scores[sBase + c] = -expf(m - score);
                m = score;
            } else {
                scores[sBase + c] = expf(score - m);
            }
        }
    }
    memoryBarrierBuffer();
    barrier();

    // Pass 3: the accumulators, for elements first, first + 64, … (8 of them) of this lane.
    for (uint first = lane; first < shape.headDim; first += 64 * 8) {
        precise float acc[8];
        for (uint j = 0; j < 8; j++) acc[j] = 0.0;
        precise float total = 0.0;
        for (uint c = 0; c < shape.cells; c++) {
            const float factor = scores[sBase + c];
            if (factor == negativeInfinity) continue;
            const bool grows = (floatBitsToUint(factor) >> 31) != 0u;
            const float ms = grows ? -factor : 1.0, vs = grows ? 1.0 : factor;
            const uint vBase = c * shape.stride + kvBase;
            for (uint j = 0; j < 8; j++) {
                const uint i = first + 64 * j;
                if (i >= shape.headDim) break;
                if (grows) acc[j] = toHalf(acc[j] * ms);
                acc[j] = toHalf(fmaf(valueAt(vBase + i), vs, acc[j]));
            }
            total = fmaf(total, ms, vs);
        }
        const float inverse = total == 0.0 ? 0.0 : divide(1.0, total);
        for (uint j = 0; j < 8; j++) {
            const uint i = first + 64 * j;
            if (i >= shape.headDim) break;
            y[qBase + i] = acc[j] * inverse;
        }
    }
}
