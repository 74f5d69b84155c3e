// The public entry points of the packed weight copies (packed_layouts.h): their size, the copy
// and the product, dispatched by GGML type; and one row of a copy back in its stored GGUF layout,
// so that readers of single rows (embedding lookups) need not touch the stored pages the copy let
// go. Every stored bit is kept by every layout, so the bytes are the original
// ones (PackedWeightsTests).
#include "cnumerics.h"
#include "packed_layouts.h"
#include <string.h>

// Bytes per block (32 elements) or super-block (256) of a 16-row group; 0: not a packed type
static size_t pk_block_bytes(int type) {
    switch (type) {
    case CN_TYPE_Q4_K: return PK_BLOCK;
    case CN_TYPE_Q5_K: return K5_BLOCK;
    case CN_TYPE_IQ4_XS: return I4_BLOCK;
    case CN_TYPE_Q3_K: return Q3P_BLOCK;
    case CN_TYPE_Q2_K: return Q2P_BLOCK;
    case CN_TYPE_Q5_0: return P5_BLOCK;
    case CN_TYPE_Q8_0: return P8_BLOCK;
    case CN_TYPE_Q4_0: return P4_BLOCK;
    case CN_TYPE_MXFP4: return PM_BLOCK;
    case CN_TYPE_Q6_K: return P6_BLOCK;
    default: return 0;
    }
}

size_t cn_packed_bytes(int type, int rows, int blocks) {
    return (size_t)(rows / PK_ROWS) * (size_t)blocks * pk_block_bytes(type);
}

void pk_run_tiles(pk_tile_fn tile, size_t gbytes, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as,
                  int tokens, float *y, size_t ys) {
    const int chunk = tokens <= 4 ? groups : (int)(196608 / gbytes) + 1;
    for (int g0 = 0; g0 < groups; g0 += chunk) {
        const int ng = groups - g0 < chunk ? groups - g0 : chunk;
        for (int t0 = 0; t0 < tokens; t0 += 4) {
            const int nt = tokens - t0 < 4 ? tokens - t0 : 4;
            for (int g = g0; g < g0 + ng; g++)
                tile(blocks, p + (size_t)g * gbytes, act + (size_t)t0 * as, as, nt, y + (size_t)t0 * ys + (size_t)g * PK_ROWS, ys);
        }
    }
}

void cn_pack(int type, const void *w, size_t ws, int rows, int blocks, void *out) {
    const uint8_t *src = (const uint8_t *)w;
    uint8_t *dst = (uint8_t *)out;
    switch (type) {
    case CN_TYPE_Q4_K: pk_q4k_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q5_K: pk_q5k_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_IQ4_XS: pk_iq4xs_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q3_K: pk_q3k_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q2_K: pk_q2k_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q5_0: pk_q5_0_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q8_0: pk_q8_0_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q4_0: pk_q4_0_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_MXFP4: pk_mxfp4_pack(src, ws, rows, blocks, dst); break;
    case CN_TYPE_Q6_K: pk_q6k_pack(src, ws, rows, blocks, dst); break;
    default: break;
    }
}

void cn_packed_matmul(int path, int type, int blocks, const void *packed, int groups, const void *a, size_t as, int tokens,
                      float *y, size_t ys, int order) {
    const uint8_t *p = (const uint8_t *)packed, *act = (const uint8_t *)a;
    // Q5_0 has one copy on both paths; AVX-512 multiplies it in the block-total order, the AVX2
    // kernels serve the eight-lane order everywhere (it is for a few rows only)
    if (type == CN_TYPE_Q5_0 && path == CN_PATH_AVX512 && !(order & CN_ORDER_Q0_LANES)) {
        pk_q5_0_matmul(blocks, p, groups, act, as, tokens, y, ys);
        return;
    }
    if (type == CN_TYPE_Q5_0 && (path == CN_PATH_AVX2 || path == CN_PATH_AVX512)) {
        pk_q0_matmul_avx2(0, order, blocks, p, groups, act, as, tokens, y, ys);
        return;
    }
    if (path == CN_PATH_AVX2) {
        switch (type) {
        case CN_TYPE_Q8_0: pk_q0_matmul_avx2(1, order, blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_Q4_0: pk_q4_0_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_Q4_K: pk_q4k_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_Q5_K: pk_q5k_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_IQ4_XS: pk_iq4xs_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_MXFP4: pk_mxfp4_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_Q3_K: pk_q3k_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_Q2_K: pk_q2k_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        case CN_TYPE_Q6_K: pk_q6k_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys); break;
        default: break;
        }
        return;
    }
    if (path != CN_PATH_AVX512) return;
    switch (type) {
    case CN_TYPE_Q4_K: pk_q4k_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_Q5_K: pk_q5k_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_IQ4_XS: pk_iq4xs_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_Q3_K: pk_q3k_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_Q2_K: pk_q2k_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_Q8_0: pk_q8_0_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_Q4_0: pk_q4_0_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_MXFP4: pk_mxfp4_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    case CN_TYPE_Q6_K: pk_q6k_matmul(blocks, p, groups, act, as, tokens, y, ys); break;
    default: break;
    }
}

static void pr_q8_0(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * P8_BLOCK;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q8_0;
        memcpy(o, gb + P8_D + 2 * lane, 2);
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 4; k++) o[2 + 4 * j + k] = (uint8_t)(gb[P8_QS + j * 64 + lane * 4 + k] ^ 0x80);
    }
}

// Q4_0 (2-byte scale) or MXFP4 (1-byte scale): the inverse of p4_pack_nibbles
static void pr_nibbles(const uint8_t *g, int blocks, int lane, uint8_t *out, const int scale_bytes) {
    const size_t in = 256 + 16 * (size_t)scale_bytes, size = 16 + (size_t)scale_bytes;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * in;
        uint8_t *o = out + (size_t)b * size;
        memcpy(o, gb + P4_D + scale_bytes * lane, (size_t)scale_bytes);
        for (int c = 0; c < 4; c++) memcpy(o + scale_bytes + 4 * c, gb + P4_QS + c * 64 + lane * 4, 4);
    }
}

static void pr_q5_0(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * P5_BLOCK;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q5_0;
        memcpy(o, gb + P5_D + 2 * lane, 2);
        uint32_t qh = 0;
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 4; k++)
                qh |= (uint32_t)((gb[P5_QH + 32 * (lane / 8) + 4 * (lane % 8) + k] >> j) & 1) << (4 * j + k);
        memcpy(o + 2, &qh, 4);
        for (int c = 0; c < 4; c++) memcpy(o + 6 + 4 * c, gb + P5_QS + c * 64 + lane * 4, 4);
    }
}

// The 6-bit scales and mins of Q4_K and Q5_K in their 12-byte encoding (the inverse of its decoding)
static void pk_encode_scale_min(const uint8_t *sc, const uint8_t *m, uint8_t *s) {
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)((m[j] & 63) | (m[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
    }
}

// Q4_K (q5 = 0) or Q5_K (q5 = 1): the scales and mins re-encoded, d, dmin, the nibbles, and for
// Q5_K qh from the slices (the inverse of pk_k45_pack)
static void pr_k45(const uint8_t *g, int blocks, int lane, uint8_t *out, const int q5) {
    const size_t block = q5 ? K5_BLOCK : PK_BLOCK, size = q5 ? CN_BYTES_Q5_K : CN_BYTES_Q4_K;
    const int pair = q5 ? K5_PAIR : PK_PAIR, nibbles = q5 ? K5_PQS : PK_PQS, qs = q5 ? 48 : 16;
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * block;
        uint8_t *o = out + (size_t)b * size;
        memcpy(o, gb + PK_D + 2 * lane, 2);
        memcpy(o + 2, gb + PK_DMIN + 2 * lane, 2);
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = gb[PK_PAIRS + pair * (j / 2) + PK_PSC + (j % 2) * PK_ROWS + lane];
            m[j] = gb[PK_PAIRS + pair * (j / 2) + PK_PMN + lane * 2 + j % 2];
        }
        pk_encode_scale_min(sc, m, o + 4);
        uint8_t *qh = o + 16;
        if (q5) memset(qh, 0, 32);
        for (int p = 0; p < 4; p++) {
            const uint8_t *pp = gb + PK_PAIRS + pair * p;
            for (int c = 0; c < 8; c++) {
                memcpy(o + qs + 32 * p + 4 * c, pp + nibbles + c * 64 + lane * 4, 4);
                if (!q5) continue;
                for (int k = 0; k < 4; k++)
                    for (int h = 0; h < 2; h++)
                        qh[4 * c + k] |= (uint8_t)(((pp[K5_PQH + h * 64 + lane * 4 + k] >> c) & 1) << (2 * p + h));
            }
        }
    }
}

// IQ4_XS: d, the scales back in their 2 + 4 bytes (high bits, then low nibbles), the nibbles
static void pr_iq4_xs(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * I4_BLOCK;
        uint8_t *o = out + (size_t)b * CN_BYTES_IQ4_XS;
        memcpy(o, gb + I4_D + 2 * lane, 2);
        int sh = 0;
        memset(o + 4, 0, 4);
        for (int j = 0; j < 8; j++) {
            const int u = (int)(int8_t)gb[I4_SC + j * PK_ROWS + lane] + 32;
            o[4 + j / 2] |= (uint8_t)((u & 0xF) << (4 * (j % 2)));
            sh |= (u >> 4) << (2 * j);
            for (int c = 0; c < 4; c++) memcpy(o + 8 + 16 * j + 4 * c, gb + I4_QS + (j * 4 + c) * 64 + lane * 4, 4);
        }
        o[2] = (uint8_t)sh;
        o[3] = (uint8_t)(sh >> 8);
    }
}

int cn_packed_stored_row(int type, const void *packed, int blocks, int row, void *out) {
    const size_t gbytes = pk_block_bytes(type);
    if (!gbytes || row < 0) return 0;
    const uint8_t *g = (const uint8_t *)packed + (size_t)(row / PK_ROWS) * blocks * gbytes;
    switch (type) {
    case CN_TYPE_Q8_0: pr_q8_0(g, blocks, row % PK_ROWS, out); break;
    case CN_TYPE_Q5_0: pr_q5_0(g, blocks, row % PK_ROWS, out); break;
    case CN_TYPE_Q4_0: pr_nibbles(g, blocks, row % PK_ROWS, out, 2); break;
    case CN_TYPE_MXFP4: pr_nibbles(g, blocks, row % PK_ROWS, out, 1); break;
    case CN_TYPE_Q5_K: pr_k45(g, blocks, row % PK_ROWS, out, 1); break;
    case CN_TYPE_IQ4_XS: pr_iq4_xs(g, blocks, row % PK_ROWS, out); break;
    case CN_TYPE_Q3_K: pk_q3k_stored_row(g, blocks, row % PK_ROWS, out); break;
    case CN_TYPE_Q2_K: pk_q2k_stored_row(g, blocks, row % PK_ROWS, out); break;
    case CN_TYPE_Q6_K: pk_q6k_stored_row(g, blocks, row % PK_ROWS, out); break;
    default: pr_k45(g, blocks, row % PK_ROWS, out, 0); break;
    }
    return 1;
}
