#version 450
// y[n][h] = Σ_c p_c·v_c / Σ_c p_c,  p_c = exp(s_c − max_c s_c),  s_c = scale·(q_{n,h}·k_c)
//   (with a soft cap: s_c = cap·tanh(scale/cap·(q_{n,h}·k_c))), over the cached cells c visible
//   from batch row n: position_c ≤ queryPosition_n, and queryPosition_n − position_c < window
//   when windowed.
//
// attention.comp for several query rows of one sequence (a prompt's rows against the cache they
// were just written into), with the same math in the same order. Row r of the dispatch is batch
// row n = firstRow + r: its queries are heads × headDim f32 at n·heads·headDim, its position is
// queryPositions[n], its output goes where its queries are. Query head h reads KV head
// h / (heads / kvHeads) (grouped-query attention), whose cell-c row starts at half
// c·stride + kvHead·headDim of keys and values (f16, two per word, the lower-addressed in the
// low half). One workgroup per (head, row) — x the head, y the row — in three passes over the
// cells: scores (into the `scores` scratch, rows × heads × cells) and their max, then the
// exponentials and their sum, then each invocation sums its output elements over the cells.
// All in f32; no visible cell gives zeros.
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
} shape;

shared float reduction[64];

float keyAt(uint index) { return unpackHalf2x16(keys[index >> 1])[index & 1u]; }
float valueAt(uint index) { return unpackHalf2x16(values[index >> 1])[index & 1u]; }

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

    // Pass 1: scores and their maximum.
    float localMax = negativeInfinity;
    for (uint c = lane; c < shape.cells; c += 64) {
        const int position = positions[c];
        const bool visible = position <= queryPosition
            && (shape.window == 0u || uint(queryPosition - position) < shape.window);
        float score = negativeInfinity;
        if (visible) {
            float dot = 0.0;
            const uint kBase = c * shape.stride + kvBase;
            for (uint i = 0; i < shape.headDim; i++) dot += keyAt(kBase + i) * q[qBase + i];
            score = dot * scale;
            // tanh is ±1 in f32 beyond |t| ≈ 9; the clamp keeps exp-built tanh finite.
            if (shape.softcap != 0.0) score = shape.softcap * tanh(clamp(score, -10.0, 10.0));
        }
        scores[sBase + c] = score;
        localMax = max(localMax, score);
    }
    reduction[lane] = localMax;
    barrier();
    for (uint half_ = 32; half_ > 0; half_ >>= 1) {
        if (lane < half_) reduction[lane] = max(reduction[lane], reduction[lane + half_]);
        barrier();
    }
    const float m = reduction[0];
    barrier();

    // Pass 2: p_c = exp(s_c − m) (0 for invisible cells), and their sum.
    float localSum = 0.0;
    for (uint c = lane; c < shape.cells; c += 64) {
        const float s = scores[sBase + c];
        const float p = s == negativeInfinity ? 0.0 : exp(s - m);
        scores[sBase + c] = p;
        localSum += p;
    }
    reduction[lane] = localSum;
    // Every invocation's p values must be visible to all before pass 3 reads them.
    memoryBarrierBuffer();
    barrier();
    for (uint half_ = 32; half_ > 0; half_ >>= 1) {
        if (lane < half_) reduction[lane] += reduction[lane + half_];
        barrier();
    }
    const float total = reduction[0];
    const float inverse = total == 0.0 ? 0.0 : 1.0 / total;

    // Pass 3: y[n][h][i] = Σ_c p_c·v_c[i] / total.
    for (uint i = lane; i < shape.headDim; i += 64) {
        float acc = 0.0;
        for (uint c = 0; c < shape.cells; c++) {
            const float p = scores[sBase + c];
            if (p != 0.0) acc += p * valueAt(c * shape.stride + kvBase + i);
        }
        y[qBase + i] = acc * inverse;
    }
}
