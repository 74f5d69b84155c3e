// What the quantized matrix products (matvec_q*.comp) share: bindings, the batch's geometry,
// reading bytes of unaligned weight blocks and of the 8-bit activation blocks, and the end of a
// row (the shared-memory tree where several invocations share it, then the store).
//
// y[a][r] = Σ_k W[r][k]·x̂[a][k] for activation rows a < batch, where x̂ is x as the CPU's 8-bit
// activation blocks hold it: the input is `round_activations`' output, not floats. Its blocks,
// one after another over the batch's rows (32-bit words):
//   Q8_0 (32 elements, 9 words):  d (f32 bits: the CPU's f16 step), then q[0…31], 4 per word
//   Q8_K (256 elements, 81 words): d (f32 bits), q[0…255] 4 per word, then the 16 sums of 16 q
// (q signed bytes, the lowest-addressed in the low bits). Every sum inside a block is the CPU's
// exact integer sum; the f32 steps follow the CPU's invariant order (QuantizedDot, kernels_body.inc)
// where one invocation takes a row (LANES 1: the `_rowwise` builds, for Vulkan devices on the
// CPU), so those builds give the CPU engine's bits — with its fused multiply-adds where fmaf is
// exact (the `_f64` builds, rounded_once.glsl). With LANES 64 (GPUs) the invocations take
// every 64th block and a shared-memory tree adds their sums: the same products, another order.
layout(local_size_x = 64) in;

// LANES invocations share one row: 64 (the default) is one workgroup per row, for GPUs; 1 (the
// `_rowwise` builds, scripts/build-shaders) is one invocation per row with no barrier at all, for
// Vulkan devices that run on the CPU (lavapipe), where a barrier costs far more than the arithmetic.
#ifndef LANES
#define LANES 64
#endif

// NB activation rows per invocation (1 here; the `_rowwise8` builds take 8): each weight block is
// decoded once and dotted with all of them, each row's sum in the same order as alone. Rows past
// the batch read its last row again and write nothing.
#ifndef NB
#define NB 1
#endif
#if LANES > 1 && NB > 1
#error "the shared-memory reduction sums one activation row"
#endif
#define EACH for (uint n = 0; n < NB; n++)

layout(std430, set = 0, binding = 0) readonly buffer Weights { uint w[]; };
layout(std430, set = 0, binding = 1) readonly buffer Input { uint xa[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Shape {
    uint rows;
    uint columns;  // a whole number of weight blocks
    uint batch;    // activation rows
} shape;

#if LANES > 1
shared float partial[64];
#endif

#include "rounded_once.glsl"

// The invocation's place: its weight row, its lane among the row's LANES invocations, whether the
// row exists (no early return: with LANES > 1 every invocation must reach the barriers), and its
// activation rows z·NB … z·NB + NB − 1 (z = gl_WorkGroupID.z).
uint row, lane, firstX;
bool valid;

void locate() {
    const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    lane = gl_LocalInvocationID.x % LANES;
    row = group * (64 / LANES) + gl_LocalInvocationID.x / LANES;
    valid = row < shape.rows;
    firstX = gl_WorkGroupID.z * NB;
}

// The first word of activation block b of the n-th of this invocation's rows, blocks of
// `elements` elements and `words` words.
uint activationBlock(uint n, uint b, uint elements, uint words) {
    return (min(firstX + n, shape.batch - 1) * (shape.columns / elements) + b) * words;
}

uint byteAt(uint offset) {
    return (w[offset >> 2] >> ((offset & 3u) * 8u)) & 0xFFu;
}

// Signed byte j (0…3) of a word.
int signedByte(uint word, uint j) {
    return bitfieldExtract(int(word), int(8u * j), 8);
}

// Σ_j u_j·s_j over the four bytes of each word: u unsigned (weights 0…255), s signed.
int dot4(uint unsignedBytes, uint signedBytes) {
    return int(unsignedBytes & 0xFFu) * signedByte(signedBytes, 0)
         + int((unsignedBytes >> 8) & 0xFFu) * signedByte(signedBytes, 1)
         + int((unsignedBytes >> 16) & 0xFFu) * signedByte(signedBytes, 2)
         + int(unsignedBytes >> 24) * signedByte(signedBytes, 3);
}

// The CPU's sum of eight lane accumulators: lanes j and j+4, then two apart, then the last pair.
float laneSum(float acc[8]) {
    precise float h0 = acc[0] + acc[4], h1 = acc[1] + acc[5], h2 = acc[2] + acc[6], h3 = acc[3] + acc[7];
    precise float s = (h0 + h2) + (h1 + h3);
    return s;
}

// Adds the row's LANES partial sums (LANES > 1) and stores each activation row's result.
void finish(float sum[NB]) {
#if LANES > 1
    const uint slot = gl_LocalInvocationID.x;
    partial[slot] = sum[0];
    barrier();
    for (uint half_ = LANES / 2; half_ > 0; half_ >>= 1) {
        if (lane < half_) partial[slot] += partial[slot + half_];
        barrier();
    }
    sum[0] = partial[slot];
#endif
    if (valid && lane == 0) {
        EACH if (firstX + n < shape.batch) y[(firstX + n) * shape.rows + row] = sum[n];
    }
}
