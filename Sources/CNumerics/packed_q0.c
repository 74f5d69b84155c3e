// Q5_0, Q8_0 and Q4_0 weights repacked at load time into groups of 16 rows, and their products:
// Q8_0, Q4_0 and MXFP4 with AVX-512 VNNI and AVX2 for one to four activation rows (decode); Q5_0 with
// AVX-512 VNNI and AVX2 for any number of rows in invariant numerics' block-total order, and with
// AVX2 (on both x86 paths) for up to four in llama.cpp's eight-lane order.
//
// Why: the row kernel (kernels_body.inc, q0_row) unpacks 32 elements per block and row with a
// 256-bit vector and a horizontal sum, and runs at 7.5 (Q5_0) and 13 (Q8_0) GB/s on one core,
// below the read bandwidth (Q4_0's at 5.5 GB/s from L2 on Zen 4); Gemma's LM head is a 178 MB Q8_0 matrix. Packed, one 512-bit dpbusd
// covers four elements of 16 rows (one 256-bit maddubs eight rows), Q8_0's bytes are stored
// offset by 128 (unsigned, as dpbusd wants) and the offset is taken back with the activations'
// sums; Q5_0's fifth bits are stored in bit slices (packed_layouts.h).
//
// The eight-lane order is the row kernel's: per block, lane j (elements 4j..4j+3) gets its exact
// integer Σ q·q_a, converted to f32 and fused-multiply-added with d_w·d_a into lane accumulator
// j; at the end lane j is added to lane j+4, then j+2, then j+1. Here lane j of every row is
// vector j (one row per 32-bit element), so the same operations run on 8 or 16 rows at once and
// give the same bits (PackedWeightsTests).
#include "cnumerics.h"
#include "packed_layouts.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void pk_q8_0_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * P8_BLOCK;
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q8_0;
                for (int j = 0; j < 8; j++)
                    for (int k = 0; k < 4; k++) o[P8_QS + j * 64 + r * 4 + k] = (uint8_t)(wb[2 + 4 * j + k] ^ 0x80);
                memcpy(o + P8_D + 2 * r, wb, 2);
            }
        }
    }
}

// Q4_0 (a 2-byte f16 scale) or MXFP4 (a 1-byte E8M0 scale): 16 nibble bytes after the scale, kept
// as P4_QS (= PM_QS) has them, the scales after them (P4_D = PM_E)
static void p4_pack_nibbles(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst, const int scale_bytes) {
    const size_t in = 16 + (size_t)scale_bytes, block = 256 + 16 * (size_t)scale_bytes;
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * block;
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * in;
                for (int c = 0; c < 4; c++) memcpy(o + P4_QS + c * 64 + r * 4, wb + scale_bytes + 4 * c, 4);
                memcpy(o + P4_D + scale_bytes * r, wb, (size_t)scale_bytes);
            }
        }
    }
}

void pk_q4_0_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) { p4_pack_nibbles(src, ws, rows, blocks, dst, 2); }

void pk_mxfp4_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) { p4_pack_nibbles(src, ws, rows, blocks, dst, 1); }

void pk_q5_0_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * P5_BLOCK;
            uint8_t slices[64] = {0};
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q5_0;
                uint32_t qh;
                memcpy(&qh, wb + 2, 4);
                for (int c = 0; c < 4; c++) memcpy(o + P5_QS + c * 64 + r * 4, wb + 6 + 4 * c, 4);
                for (int j = 0; j < 8; j++)
                    for (int k = 0; k < 4; k++) slices[32 * (r / 8) + 4 * (r % 8) + k] |= (uint8_t)(((qh >> (4 * j + k)) & 1) << j);
                memcpy(o + P5_D + 2 * r, wb, 2);
            }
            memcpy(o + P5_QH, slices, sizeof slices);
        }
    }
}

#if defined(__x86_64__)
// A thread's buffer of at least `bytes` (64-byte aligned), grown by a quarter when it must grow and
// never shrunk, as kernels_body.inc's scratch: the pool's threads live as long as the engine.
static void *p0_grow(void **buf, size_t *capacity, size_t bytes) {
    if (*capacity < bytes) {
        free(*buf);
        const size_t grown = (bytes + bytes / 4 + 63) / 64 * 64;
        *buf = aligned_alloc(64, grown);
        if (!*buf) abort();  // out of memory
        *capacity = grown;
    }
    return *buf;
}

// The eight-lane kernels' weight formats: each copy's bytes per block of a group, and the offset
// its values go into the products with (unsigned), taken back by −offset·Σ q_a
enum { P0_Q8_0, P0_Q5_0, P0_Q4_0, P0_MXFP4 };

static inline size_t p0_block_bytes(const int kind) {
    return kind == P0_MXFP4 ? PM_BLOCK : kind == P0_Q4_0 ? P4_BLOCK : kind == P0_Q5_0 ? P5_BLOCK : P8_BLOCK;
}

static inline int p0_offset(const int kind) { return kind == P0_MXFP4 ? 12 : kind == P0_Q4_0 ? 8 : kind == P0_Q5_0 ? 16 : 128; }

#define P8_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline P8_TARGET int32_t p8_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// The activation side of the eight-lane kernels, once per call instead of once per group and
// block: per row and block the lanes' corrections −offset·Σ q_a over each lane's four
// activations (the weights go in as q + offset: Q8_0 128, Q4_0 8, MXFP4 12) and d_a. Read back as
// broadcasts; computing them in the group loop and storing them for that meant a store the
// broadcasts had to wait on, once per block and group.
static P8_TARGET void p8_prepare(int nb, const uint8_t *a, size_t as, int tokens, int offset, int32_t *corr, float *da) {
    const __m256i ones = _mm256_set1_epi8(1);
    for (int t = 0; t < tokens; t++)
        for (int b = 0; b < nb; b++) {
            const uint8_t *ab = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_0;
            uint16_t h;
            memcpy(&h, ab, 2);
            da[(size_t)t * nb + b] = _cvtsh_ss(h);
            const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, _mm256_loadu_si256((const __m256i *)(ab + 2)));
            _mm256_storeu_si256((__m256i *)(corr + ((size_t)t * nb + b) * 8),
                                _mm256_mullo_epi32(s, _mm256_set1_epi32(-offset)));
        }
}

// MXFP4's values doubled (as the row kernel's), plus 12 so they go into the products unsigned
static const int8_t pm_levels12[16] = {12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0};

static _Thread_local void *p8_buffer;  // p0_grow
static _Thread_local size_t p8_capacity;

// MXFP4's scales of 16 rows (E8M0 bytes) as the row kernel's f32: half of 2^(e − 127), the
// subnormals 2^−128 and 2^−127 for e < 2 (kernels_body.inc, e8m0_half)
static inline __attribute__((always_inline)) P8_TARGET __m512 pm_scales(const uint8_t *e) {
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)e));
    const __m512i normal = _mm512_slli_epi32(_mm512_sub_epi32(v, _mm512_set1_epi32(1)), 23);
    const __m512i tiny = _mm512_sllv_epi32(_mm512_set1_epi32(0x00200000), v);
    return _mm512_castsi512_ps(_mm512_mask_blend_epi32(_mm512_cmplt_epu32_mask(v, _mm512_set1_epi32(2)), normal, tiny));
}

// One group of 16 rows of Q8_0, Q4_0 or MXFP4 (kind) against nt ≤ 2 activation rows (Q8_0;
// prepared side at corr + 8·t·nb, da + t·nb) over nb blocks: y[t·ys + r]. Q8_0's bytes are
// q + 128, Q4_0's nibbles q + 8, MXFP4's table values (doubled, as the row kernel's) go in plus
// 12: dpbusd starts each lane from the correction. Lane j of the row kernel is vector j here
// (Q4_0, MXFP4: the low nibbles of chunk c are lane c, the high ones lane c + 4).
static inline __attribute__((always_inline)) P8_TARGET void p8_tile(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                    const int32_t *corr, const float *da, const int nt,
                                                                    float *y, size_t ys, const int kind) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i table = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)pm_levels12));
    const int q4 = kind != P0_Q8_0;
    __m512 acc[2][8];
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 8; j++) acc[t][j] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * p0_block_bytes(kind);
        pk_prefetch_ahead(gb, (int)p0_block_bytes(kind));
        const __m512 d = kind == P0_MXFP4 ? pm_scales(gb + PM_E)
                                          : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + (q4 ? P4_D : P8_D))));
        const uint8_t *ab[2];
        const int32_t *cb[2];
        __m512 scale[2];
        for (int t = 0; t < nt; t++) {
            ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_0 + 2;
            cb[t] = corr + ((size_t)t * nb + b) * 8;
            scale[t] = _mm512_mul_ps(d, _mm512_set1_ps(da[(size_t)t * nb + b]));
        }
        __m512i u[8];
        if (q4) {
            for (int c = 0; c < 4; c++) {
                const __m512i v = _mm512_loadu_si512((const void *)(gb + P4_QS + c * 64));  // PM_QS = P4_QS
                u[c] = _mm512_and_si512(v, m4);
                u[c + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                if (kind == P0_MXFP4) {
                    u[c] = _mm512_shuffle_epi8(table, u[c]);
                    u[c + 4] = _mm512_shuffle_epi8(table, u[c + 4]);
                }
            }
        } else {
            for (int j = 0; j < 8; j++) u[j] = _mm512_loadu_si512((const void *)(gb + P8_QS + j * 64));
        }
        for (int j = 0; j < 8; j++)
            for (int t = 0; t < nt; t++) {
                const __m512i p = _mm512_dpbusd_epi32(_mm512_set1_epi32(cb[t][j]), u[j], _mm512_set1_epi32(p8_load32(ab[t] + 4 * j)));
                acc[t][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), scale[t], acc[t][j]);
            }
    }
    for (int t = 0; t < nt; t++) {
        const __m512 s0 = _mm512_add_ps(acc[t][0], acc[t][4]), s1 = _mm512_add_ps(acc[t][1], acc[t][5]);
        const __m512 s2 = _mm512_add_ps(acc[t][2], acc[t][6]), s3 = _mm512_add_ps(acc[t][3], acc[t][7]);
        _mm512_storeu_ps(y + (size_t)t * ys, _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)));
    }
}

static inline __attribute__((always_inline)) P8_TARGET void p8_matmul(int nb, const uint8_t *p, int groups, const uint8_t *act,
                                                                      size_t as, int tokens, float *y, size_t ys, const int kind) {
    if (tokens <= 0 || groups <= 0) return;
    const size_t need = (size_t)tokens * nb;
    int32_t *corr = p0_grow(&p8_buffer, &p8_capacity, need * (8 * sizeof(int32_t) + sizeof(float)));
    float *da = (float *)(corr + 8 * need);
    p8_prepare(nb, act, as, tokens, p0_offset(kind), corr, da);
    const size_t gbytes = (size_t)nb * p0_block_bytes(kind);
    for (int g = 0; g < groups; g++) {
        for (int t0 = 0; t0 < tokens; t0 += 2) {
            float *yt = y + (size_t)g * PK_ROWS + (size_t)t0 * ys;
            const uint8_t *at = act + (size_t)t0 * as, *pg = p + (size_t)g * gbytes;
            const int32_t *ct = corr + (size_t)t0 * nb * 8;
            const float *dt = da + (size_t)t0 * nb;
            if (tokens - t0 >= 2) p8_tile(nb, pg, at, as, ct, dt, 2, yt, ys, kind);
            else p8_tile(nb, pg, at, as, ct, dt, 1, yt, ys, kind);
        }
    }
}

P8_TARGET void pk_q8_0_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p8_matmul(blocks, p, groups, act, as, tokens, y, ys, P0_Q8_0);
}

P8_TARGET void pk_mxfp4_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p8_matmul(blocks, p, groups, act, as, tokens, y, ys, P0_MXFP4);
}

P8_TARGET void pk_q4_0_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p8_matmul(blocks, p, groups, act, as, tokens, y, ys, P0_Q4_0);
}

// ---- AVX2 (no VNNI, 16 vector registers) ----
// The same layout, half a group (8 rows, one per 32-bit lane) per pass (Q5_0 in the eight-lane
// order: two activation rows at a time, Q8_0: one), so the lane accumulators and their operands fit
// the registers; Q5_0's block-total kernels follow below. Without
// dpbusd the lanes' integer sums come from maddubs (u8·s8 pairs, saturating at 16 bits) and madd:
// Q5_0's unsigned u = q + 16 ≤ 31 keeps every pair exact, and −16·Σ q_a is added back; Q8_0's stored
// q + 128 would not, so it is turned back into q and multiplied as |q| · (q_a with q's sign).
#define P0_AVX2 __attribute__((target("avx2,fma,f16c")))

static inline P0_AVX2 int32_t p0_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// Lane j's fifth bits from the sliced copy (bit j of each byte) moved to bit 4 of each byte, other
// bits left to the caller's mask: a 16-bit shift by at most 4 keeps every byte's bit 4 within it.
static inline __attribute__((always_inline)) P0_AVX2 __m256i p5_lane_bits(__m256i s, const int j) {
    switch (j) {
    case 0: return _mm256_slli_epi16(s, 4);
    case 1: return _mm256_slli_epi16(s, 3);
    case 2: return _mm256_slli_epi16(s, 2);
    case 3: return _mm256_slli_epi16(s, 1);
    case 4: return s;
    case 5: return _mm256_srli_epi16(s, 1);
    case 6: return _mm256_srli_epi16(s, 2);
    default: return _mm256_srli_epi16(s, 3);
    }
}

// u = q + 16 of chunks c (elements 4c..4c+3, *lo) and c + 4 (16 + 4c.., *hi) of rows 8h..8h+7 of
// block gb: the nibbles with their fifth bits from the bit slices.
static inline __attribute__((always_inline)) P0_AVX2 void p5_unpack_pair(const uint8_t *gb, int h, const int c, __m256i fifths,
                                                                         __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), fifth = _mm256_set1_epi8(0x10);
    const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + P5_QS + c * 64 + 32 * h));
    *lo = _mm256_or_si256(_mm256_and_si256(v, m4), _mm256_and_si256(p5_lane_bits(fifths, c), fifth));
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), _mm256_and_si256(p5_lane_bits(fifths, c + 4), fifth));
}

// Q8_0, rows 8h..8h+7 of one group against one activation row: y[r] for those rows.
static P0_AVX2 void p8_half_avx2(int nb, const uint8_t *pg, int h, const uint8_t *a, float *y) {
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones16 = _mm256_set1_epi16(1);
    __m256 acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P8_BLOCK;
        if (h == 0) pk_prefetch_ahead(gb, P8_BLOCK);  // the second half finds the lines in cache
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_0;
        uint16_t hd;
        memcpy(&hd, ab, 2);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P8_D + 16 * h)));
        const __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(hd)));
        for (int j = 0; j < 8; j++) {
            const __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(gb + P8_QS + j * 64 + 32 * h)), flip);
            const __m256i s = _mm256_sign_epi8(_mm256_set1_epi32(p0_load32(ab + 2 + 4 * j)), q);
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), s), ones16);
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale, acc[j]);
        }
    }
    const __m256 s0 = _mm256_add_ps(acc[0], acc[4]), s1 = _mm256_add_ps(acc[1], acc[5]);
    const __m256 s2 = _mm256_add_ps(acc[2], acc[6]), s3 = _mm256_add_ps(acc[3], acc[7]);
    _mm256_storeu_ps(y, _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3)));
}

// The activation side of the AVX2 Q5_0 kernel for one Q8_0 row, computed once per call (a task of
// many groups) instead of once per half group and block: per block, the eight 4-byte groups of q_a
// broadcast to every 32-bit lane, the lanes' corrections −16·Σ q_a (over each lane's four
// activations) broadcast, and d_a. 516 bytes per block: for Q5_0's usual widths (K of 640 to 2048,
// the tensors whose width is not a multiple of 256) four rows stay in L2. (Keeping only the
// corrections and d_a, 36 bytes, and broadcasting the groups from the row at each use measured 7%
// slower at K = 640 on Zen 3 and 4% faster at K = 9216.)
typedef struct {
    __m256i q[8];
    __m256i corr[8];
} p5_act;

// `offset`: the weights' offset (Q5_0's u = q + 16, Q4_0's u = q + 8, MXFP4's doubled table values + 12)
static P0_AVX2 void p5_prepare(int nb, const uint8_t *a, p5_act *out, float *da, int offset) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_0;
        uint16_t hd;
        memcpy(&hd, ab, 2);
        da[b] = _cvtsh_ss(hd);
        const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(ab + 2))), ones16);
        int32_t corr[8];
        _mm256_storeu_si256((__m256i *)corr, _mm256_mullo_epi32(sums, _mm256_set1_epi32(-offset)));
        for (int j = 0; j < 8; j++) {
            out[b].q[j] = _mm256_set1_epi32(p0_load32(ab + 2 + 4 * j));
            out[b].corr[j] = _mm256_set1_epi32(corr[j]);
        }
    }
}

// MXFP4's scales of 8 rows (E8M0 bytes) as the row kernel's f32 (pm_scales in 256 bits)
static inline __attribute__((always_inline)) P0_AVX2 __m256 pm_scales_avx2(const uint8_t *e) {
    int64_t bytes;
    memcpy(&bytes, e, 8);
    const __m256i v = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes));
    const __m256i normal = _mm256_slli_epi32(_mm256_sub_epi32(v, _mm256_set1_epi32(1)), 23);
    const __m256i tiny = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), v);
    return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, _mm256_cmpgt_epi32(_mm256_set1_epi32(2), v)));
}

// Q5_0, rows 8h..8h+7 of one group against nt ≤ 2 prepared activation rows (act + t·nb, da + t·nb;
// y[t·ys + r]). Two rows (decode of several sequences) share each unpacked weight vector; their
// sixteen accumulators outgrow the registers, but each is touched once per lane and block.
// Instantiated per nt, so one row keeps its eight in registers.
// `kind`: Q4_0's layout instead (no fifth bits; act prepared with its offset of 8), or MXFP4's (Q4_0's
// nibbles looked up as the doubled table values + 12, E8M0 scales; act prepared with 12).
static inline __attribute__((always_inline)) P0_AVX2 void p5_half_avx2(int nb, const uint8_t *pg, int h, const p5_act *act,
                                                                       const float *da, const int nt, float *y, size_t ys,
                                                                       const int kind) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)pm_levels12));
    const int q4 = kind != P0_Q5_0;
    const __m256i ones16 = _mm256_set1_epi16(1), m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[2][8];
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 8; j++) acc[t][j] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * p0_block_bytes(kind);
        if (h == 0) pk_prefetch_ahead(gb, (int)p0_block_bytes(kind));
        const __m256 d = kind == P0_MXFP4 ? pm_scales_avx2(gb + PM_E + 8 * h)
                                          : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + (q4 ? P4_D : P5_D) + 16 * h)));
        __m256 scale[2];
        for (int t = 0; t < nt; t++) scale[t] = _mm256_mul_ps(d, _mm256_broadcast_ss(da + (size_t)t * nb + b));
        const __m256i fifths = q4 ? _mm256_setzero_si256() : _mm256_loadu_si256((const __m256i *)(gb + P5_QH + 32 * h));
        for (int c = 0; c < 4; c++) {
            __m256i ulo, uhi;
            if (q4) {
                const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + P4_QS + c * 64 + 32 * h));
                ulo = _mm256_and_si256(v, m4);
                uhi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                if (kind == P0_MXFP4) {
                    ulo = _mm256_shuffle_epi8(table, ulo);
                    uhi = _mm256_shuffle_epi8(table, uhi);
                }
            } else {
                p5_unpack_pair(gb, h, c, fifths, &ulo, &uhi);
            }
            for (int t = 0; t < nt; t++) {
                const p5_act *ab = act + (size_t)t * nb + b;
                const __m256i plo = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(ulo, ab->q[c]), ones16), ab->corr[c]);
                const __m256i phi = _mm256_add_epi32(_mm256_madd_epi16(_mm256_maddubs_epi16(uhi, ab->q[c + 4]), ones16), ab->corr[c + 4]);
                acc[t][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(plo), scale[t], acc[t][c]);
                acc[t][c + 4] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(phi), scale[t], acc[t][c + 4]);
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const __m256 s0 = _mm256_add_ps(acc[t][0], acc[t][4]), s1 = _mm256_add_ps(acc[t][1], acc[t][5]);
        const __m256 s2 = _mm256_add_ps(acc[t][2], acc[t][6]), s3 = _mm256_add_ps(acc[t][3], acc[t][7]);
        _mm256_storeu_ps(y + (size_t)t * ys, _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3)));
    }
}

// A thread's prepared activations (p0_grow)
static _Thread_local void *p5_buffer;
static _Thread_local size_t p5_capacity;

// Q5_0, Q4_0 (u = q + 8 straight from the nibbles, corrections −8·Σ q_a) or MXFP4 (u = 2·value + 12,
// corrections −12·Σ q_a): the call's activation rows prepared once (act + t·nb, d_a at da + t·nb),
// then each group against them two at a time: a group's weights are read from memory once and stay
// in cache for the next pair.
static inline __attribute__((always_inline)) P0_AVX2 void p5_matmul_lanes(int nb, const uint8_t *p, int groups, const uint8_t *act,
                                                                          size_t as, int tokens, float *y, size_t ys, const int kind) {
    if (tokens <= 0 || groups <= 0) return;
    const size_t need = (size_t)tokens * nb;  // about half a KB per block and activation row
    p5_act *prepared = p0_grow(&p5_buffer, &p5_capacity, need * (sizeof(p5_act) + sizeof(float)));
    float *da = (float *)(prepared + need);
    for (int t = 0; t < tokens; t++) p5_prepare(nb, act + (size_t)t * as, prepared + (size_t)t * nb, da + (size_t)t * nb, p0_offset(kind));
    const size_t gbytes = (size_t)nb * p0_block_bytes(kind);
    for (int g = 0; g < groups; g++)
        for (int t0 = 0; t0 < tokens; t0 += 2)
            for (int h = 0; h < 2; h++) {
                const p5_act *at = prepared + (size_t)t0 * nb;
                const float *dt = da + (size_t)t0 * nb;
                float *yt = y + (size_t)t0 * ys + (size_t)g * PK_ROWS + 8 * h;
                if (tokens - t0 >= 2) p5_half_avx2(nb, p + (size_t)g * gbytes, h, at, dt, 2, yt, ys, kind);
                else p5_half_avx2(nb, p + (size_t)g * gbytes, h, at, dt, 1, yt, ys, kind);
            }
}

static P0_AVX2 void p5_matmul_avx2(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p5_matmul_lanes(nb, p, groups, act, as, tokens, y, ys, P0_Q5_0);
}

P0_AVX2 void pk_q4_0_matmul_avx2(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p5_matmul_lanes(nb, p, groups, act, as, tokens, y, ys, P0_Q4_0);
}

P0_AVX2 void pk_mxfp4_matmul_avx2(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p5_matmul_lanes(nb, p, groups, act, as, tokens, y, ys, P0_MXFP4);
}

// Q8_0: each group against each activation row in turn. (Its unpacking is too cheap to share
// between rows: paired, it measured 164–168 vs 170–175 tokens/s at four sequences; and its
// activations prepared as Q5_0's measured no faster: it has no corrections to share.)
static P0_AVX2 void p8_matmul_avx2(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    const size_t gbytes = (size_t)nb * P8_BLOCK;
    for (int g = 0; g < groups; g++)
        for (int t = 0; t < tokens; t++)
            for (int h = 0; h < 2; h++) p8_half_avx2(nb, p + (size_t)g * gbytes, h, act + (size_t)t * as, y + (size_t)t * ys + (size_t)g * PK_ROWS + 8 * h);
}

// ---- Q5_0 in invariant numerics' block-total order (any number of activation rows) ----
// Per block the exact Σ q·q_a of all 32 elements times d_w·d_a, added in f64 block after block
// (every product exact there: d_w·d_a has 22 significant bits, the sum at most 17), then rounded
// once to f32 (QuantizedDot.q5_0Totals). With a row in each 32-bit lane nothing is summed across
// lanes: maddubs gives each row's pair sums of u·q_a (u = q + 16 ≤ 31, so a pair is at most 7874
// and four chunks' pairs, 31496, still fit 16 bits), one madd per four chunks widens them, and
// −16·Σ q_a of the whole block is added back. That is 1.5 vector multiplies per 32 products where
// the eight-lane order needs three (a cvt and an FMA per lane), which is what prompts over Q5_0
// weights were bound by.

// Per activation row and block: −16·Σ q_a and d_a (an f16 value, exact in f64), the row's side of
// the product.
typedef struct {
    int32_t corr;
    double d;
} p5t_act;

// Eight rows' f64 accumulators (lo: rows 0–3, hi: 4–7) plus total · d_w · d_a: the f32 scales
// d (8 rows' d_w) and da widen exactly, and every product is exact (d_w · d_a has 22 significant
// bits, times the total at most 40), so the FMA's one rounding is the add's.
static inline __attribute__((always_inline)) P0_AVX2 void p5t_add(__m256d *lo, __m256d *hi, __m256i total, __m256d dlo, __m256d dhi,
                                                                  double da) {
    const __m256d a = _mm256_set1_pd(da);
    *lo = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(total)), _mm256_mul_pd(dlo, a), *lo);
    *hi = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(total, 1)), _mm256_mul_pd(dhi, a), *hi);
}

static inline __attribute__((always_inline)) P0_AVX2 void p5t_store(__m256d lo, __m256d hi, float *y) {
    _mm_storeu_ps(y, _mm256_cvtpd_ps(lo));
    _mm_storeu_ps(y + 4, _mm256_cvtpd_ps(hi));
}

static P0_AVX2 void p5t_prepare(int nb, const uint8_t *a, p5t_act *out) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_0;
        uint16_t hd;
        memcpy(&hd, ab, 2);
        const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(ab + 2))), ones16);
        int32_t lanes[8];
        _mm256_storeu_si256((__m256i *)lanes, sums);
        int32_t total = 0;
        for (int j = 0; j < 8; j++) total += lanes[j];
        out[b].corr = -16 * total;
        out[b].d = _cvtsh_ss(hd);
    }
}

// Rows 8h..8h+7 of one group against nt ≤ P5T_TOKENS activation rows (a + t·as, prepared side at
// act + t·nb): y[t·ys + r].
#define P5T_TOKENS 4
static inline __attribute__((always_inline)) P0_AVX2 void p5t_half(int nb, const uint8_t *pg, int h, const uint8_t *a, size_t as,
                                                                   const p5t_act *act, const int nt, float *y, size_t ys) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256d lo[P5T_TOKENS], hi[P5T_TOKENS];
    for (int t = 0; t < nt; t++) lo[t] = hi[t] = _mm256_setzero_pd();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P5_BLOCK;
        if (h == 0) pk_prefetch_ahead(gb, P5_BLOCK);
        const __m256i fifths = _mm256_loadu_si256((const __m256i *)(gb + P5_QH + 32 * h));
        __m256i slo[P5T_TOKENS], shi[P5T_TOKENS];
        for (int c = 0; c < 4; c++) {
            __m256i ulo, uhi;
            p5_unpack_pair(gb, h, c, fifths, &ulo, &uhi);
            for (int t = 0; t < nt; t++) {
                const uint8_t *ab = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_0 + 2;
                const __m256i plo = _mm256_maddubs_epi16(ulo, _mm256_set1_epi32(p0_load32(ab + 4 * c)));
                const __m256i phi = _mm256_maddubs_epi16(uhi, _mm256_set1_epi32(p0_load32(ab + 16 + 4 * c)));
                slo[t] = c == 0 ? plo : _mm256_add_epi16(slo[t], plo);
                shi[t] = c == 0 ? phi : _mm256_add_epi16(shi[t], phi);
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P5_D + 16 * h)));
        const __m256d dlo = _mm256_cvtps_pd(_mm256_castps256_ps128(d)), dhi = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
        for (int t = 0; t < nt; t++) {
            const p5t_act *x = act + (size_t)t * nb + b;
            const __m256i total = _mm256_add_epi32(_mm256_add_epi32(_mm256_madd_epi16(slo[t], ones16), _mm256_madd_epi16(shi[t], ones16)),
                                                   _mm256_set1_epi32(x->corr));
            p5t_add(&lo[t], &hi[t], total, dlo, dhi, x->d);
        }
    }
    for (int t = 0; t < nt; t++) p5t_store(lo[t], hi[t], y + (size_t)t * ys);
}

// Many activation rows: a group unpacked once into u (p5t_unpack: per block and half h the eight
// 4-byte chunks of u = q + 16, chunk j holding elements 4j..4j+3 of rows 8h..8h+7, then the rows'
// d_w as f32), then one activation row at a time against all 16 rows, each broadcast of its bytes
// serving both halves. The same integers and float operations as p5t_half. (Measured on Zen 3,
// 2048 × 640 against 512 rows, one thread, with the sums still added in f32: 16 rows × 1
// activation row 74–83 GMAC/s, 8 × 4 72–79, 8 × 3 74–78, 16 × 2 60–66, whose sums outgrow the
// registers. The f64 additions cost a quarter: 58–63 GMAC/s, against 39 for the eight-lane
// order's blocked kernel.)
typedef struct {
    __m256i u[8][2];
    __m256d d[4];  // rows 0–3, 4–7, 8–11, 12–15
} p5t_block;

static P0_AVX2 void p5t_unpack(int nb, const uint8_t *pg, p5t_block *out) {
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P5_BLOCK;
        for (int h = 0; h < 2; h++) {
            const __m256i fifths = _mm256_loadu_si256((const __m256i *)(gb + P5_QH + 32 * h));
            for (int c = 0; c < 4; c++) p5_unpack_pair(gb, h, c, fifths, &out[b].u[c][h], &out[b].u[c + 4][h]);
            const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P5_D + 16 * h)));
            out[b].d[2 * h] = _mm256_cvtps_pd(_mm256_castps256_ps128(d));
            out[b].d[2 * h + 1] = _mm256_cvtps_pd(_mm256_extractf128_ps(d, 1));
        }
    }
}

// The unpacked group against activation row a (prepared side act): y[r] for its 16 rows.
static P0_AVX2 void p5t_row(int nb, const p5t_block *w, const uint8_t *a, const p5t_act *act, float *y) {
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};  // rows in fours
    for (int b = 0; b < nb; b++) {
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_0 + 2;
        __m256i s16[2], s32[2];
        for (int j = 0; j < 8; j++) {
            const __m256i x = _mm256_set1_epi32(p0_load32(ab + 4 * j));
            for (int h = 0; h < 2; h++) {
                const __m256i p = _mm256_maddubs_epi16(_mm256_load_si256(&w[b].u[j][h]), x);
                s16[h] = j % 4 == 0 ? p : _mm256_add_epi16(s16[h], p);
                if (j == 3) s32[h] = _mm256_madd_epi16(s16[h], ones16);
                if (j == 7) s32[h] = _mm256_add_epi32(s32[h], _mm256_madd_epi16(s16[h], ones16));
            }
        }
        const __m256i corr = _mm256_set1_epi32(act[b].corr);
        for (int h = 0; h < 2; h++)
            p5t_add(&acc[2 * h], &acc[2 * h + 1], _mm256_add_epi32(s32[h], corr), w[b].d[2 * h], w[b].d[2 * h + 1], act[b].d);
    }
    p5t_store(acc[0], acc[1], y);
    p5t_store(acc[2], acc[3], y + 8);
}

static _Thread_local void *p5t_buffer, *p5t_weights;  // p0_grow
static _Thread_local size_t p5t_capacity, p5t_weight_capacity;

// The call's activation rows' prepared sides (row t at + t·nb), in the thread's buffer that every
// block-total kernel uses (a thread runs one product at a time)
static P0_AVX2 p5t_act *p5t_prepare_rows(int nb, const uint8_t *act, size_t as, int tokens) {
    p5t_act *prepared = p0_grow(&p5t_buffer, &p5t_capacity, (size_t)tokens * nb * sizeof(p5t_act));
    for (int t = 0; t < tokens; t++) p5t_prepare(nb, act + (size_t)t * as, prepared + (size_t)t * nb);
    return prepared;
}

// The call's activation rows prepared once; then, for a few rows (decode), each half group against
// them P5T_TOKENS at a time (its weights, nb · 176 bytes, stay in L1 across the rows), for more
// (prompts), each group unpacked once against every row.
static P0_AVX2 void p5t_matmul_avx2(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    if (tokens <= 0 || groups <= 0) return;
    const p5t_act *prepared = p5t_prepare_rows(nb, act, as, tokens);
    const size_t gbytes = (size_t)nb * P5_BLOCK;
    if (tokens > P5T_TOKENS) {
        p5t_block *unpacked = p0_grow(&p5t_weights, &p5t_weight_capacity, (size_t)nb * sizeof(p5t_block));
        for (int g = 0; g < groups; g++) {
            p5t_unpack(nb, p + (size_t)g * gbytes, unpacked);
            for (int t = 0; t < tokens; t++)
                p5t_row(nb, unpacked, act + (size_t)t * as, prepared + (size_t)t * nb, y + (size_t)t * ys + (size_t)g * PK_ROWS);
        }
        return;
    }
    for (int g = 0; g < groups; g++)
        for (int h = 0; h < 2; h++)
            for (int t0 = 0; t0 < tokens; t0 += P5T_TOKENS) {
                const uint8_t *pg = p + (size_t)g * gbytes, *at = act + (size_t)t0 * as;
                const p5t_act *xt = prepared + (size_t)t0 * nb;
                float *yt = y + (size_t)t0 * ys + (size_t)g * PK_ROWS + 8 * h;
                switch (tokens - t0) {
                case 1: p5t_half(nb, pg, h, at, as, xt, 1, yt, ys); break;
                case 2: p5t_half(nb, pg, h, at, as, xt, 2, yt, ys); break;
                case 3: p5t_half(nb, pg, h, at, as, xt, 3, yt, ys); break;
                default: p5t_half(nb, pg, h, at, as, xt, P5T_TOKENS, yt, ys); break;
                }
            }
}

// ---- Q5_0 block totals with AVX-512 VNNI: 16 rows per vector ----
// The same order and bits as the p5t_* kernels (block totals added in f64): dpbusd multiplies
// u = q + 16 (unsigned) by q_a (signed) four at a time straight into 32-bit sums, so a block of 16
// rows is eight dpbusd where AVX2 needs sixteen maddubs, twelve 16-bit adds and four madds. The f64
// step is (total · d_w) · d_a in one FMA: total · d_w (at most 17 + 11 significant bits) is exact
// in f64, so the FMA rounds once, as p5t_add's total · (d_w · d_a) + acc does.

// u of chunks c (*lo) and c + 4 (*hi) for all 16 rows of block gb. m holds slice bit c at bit 0
// and bit c + 4 at bit 4 of each byte; the select f = C ? A : B (0xE4) with C = 0x0F takes the
// nibble from A and bit 4 from B, whose bits 5–7 are zero (a 16-bit shift of m by 4 carries its
// bit 4 into the next byte's low nibble, which the select discards).
static inline __attribute__((always_inline)) P8_TARGET void p5z_unpack_pair(const uint8_t *gb, const int c, __m512i fifths,
                                                                           __m512i *lo, __m512i *hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i v = _mm512_loadu_si512((const void *)(gb + P5_QS + c * 64));
    const __m512i m = _mm512_and_si512(c == 0 ? fifths : _mm512_srli_epi16(fifths, c), _mm512_set1_epi8(0x11));
    *lo = _mm512_ternarylogic_epi32(v, _mm512_slli_epi16(m, 4), m4, 0xE4);
    *hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), m, m4, 0xE4);
}

// Rows 0–7 (lo) and 8–15 (hi) of a group's d_w as f64
static inline __attribute__((always_inline)) P8_TARGET void p5z_scales(const uint8_t *gb, __m512d *lo, __m512d *hi) {
    *lo = _mm512_cvtps_pd(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P5_D))));
    *hi = _mm512_cvtps_pd(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P5_D + 16))));
}

// One activation row's block (bytes ab, prepared side x) against 16 rows (u[j]: chunk j, elements
// 4j..4j+3): Σ u·q_a − 16·Σ q_a, then (total · d_w) · d_a added to the f64 accumulators.
static inline __attribute__((always_inline)) P8_TARGET void p5z_block(const __m512i *u, __m512d dlo, __m512d dhi, const uint8_t *ab,
                                                                     const p5t_act *x, __m512d *lo, __m512d *hi) {
    __m512i s = _mm512_set1_epi32(x->corr);
    for (int j = 0; j < 8; j++) s = _mm512_dpbusd_epi32(s, u[j], _mm512_set1_epi32(p8_load32(ab + 4 * j)));
    const __m512d a = _mm512_set1_pd(x->d);
    *lo = _mm512_fmadd_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(s)), dlo), a, *lo);
    *hi = _mm512_fmadd_pd(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(s, 1)), dhi), a, *hi);
}

static inline __attribute__((always_inline)) P8_TARGET void p5z_store(__m512d lo, __m512d hi, float *y) {
    _mm256_storeu_ps(y, _mm512_cvtpd_ps(lo));
    _mm256_storeu_ps(y + 8, _mm512_cvtpd_ps(hi));
}

// A few activation rows (nt ≤ P5T_TOKENS, decode): a group unpacked block by block, each block
// shared by the rows.
static inline __attribute__((always_inline)) P8_TARGET void p5z_group(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                     const p5t_act *act, const int nt, float *y, size_t ys) {
    __m512d lo[P5T_TOKENS], hi[P5T_TOKENS];
    for (int t = 0; t < nt; t++) lo[t] = hi[t] = _mm512_setzero_pd();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P5_BLOCK;
        pk_prefetch_ahead(gb, P5_BLOCK);
        const __m512i fifths = _mm512_loadu_si512((const void *)(gb + P5_QH));
        __m512i u[8];
        for (int c = 0; c < 4; c++) p5z_unpack_pair(gb, c, fifths, &u[c], &u[c + 4]);
        __m512d dlo, dhi;
        p5z_scales(gb, &dlo, &dhi);
        for (int t = 0; t < nt; t++)
            p5z_block(u, dlo, dhi, a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_0 + 2, act + (size_t)t * nb + b, &lo[t], &hi[t]);
    }
    for (int t = 0; t < nt; t++) p5z_store(lo[t], hi[t], y + (size_t)t * ys);
}

// Many activation rows (prompts): a group unpacked once (u and d_w per block, 640 bytes), then the
// rows against it P5Z_ROWS at a time, which share each u load and give the core that many
// independent dpbusd chains (Zen 4, one thread, 2048 × 640 against 512 rows: 130 GMAC/s with
// four rows per pass, 121 with two, 85 with one).
typedef struct {
    __m512i u[8];
    __m512d d[2];
} p5z_unpacked;

static P8_TARGET void p5z_unpack(int nb, const uint8_t *pg, p5z_unpacked *out) {
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P5_BLOCK;
        const __m512i fifths = _mm512_loadu_si512((const void *)(gb + P5_QH));
        for (int c = 0; c < 4; c++) p5z_unpack_pair(gb, c, fifths, &out[b].u[c], &out[b].u[c + 4]);
        p5z_scales(gb, &out[b].d[0], &out[b].d[1]);
    }
}

// nt ≤ P5Z_ROWS activation rows (a + t·as, prepared side act + t·nb) against an unpacked group: y[t·ys + r]
#define P5Z_ROWS 4
static inline __attribute__((always_inline)) P8_TARGET void p5z_rows(int nb, const p5z_unpacked *w, const uint8_t *a, size_t as,
                                                                    const p5t_act *act, const int nt, float *y, size_t ys) {
    __m512d lo[P5Z_ROWS], hi[P5Z_ROWS];
    for (int t = 0; t < nt; t++) lo[t] = hi[t] = _mm512_setzero_pd();
    for (int b = 0; b < nb; b++)
        for (int t = 0; t < nt; t++)
            p5z_block(w[b].u, w[b].d[0], w[b].d[1], a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_0 + 2, act + (size_t)t * nb + b, &lo[t], &hi[t]);
    for (int t = 0; t < nt; t++) p5z_store(lo[t], hi[t], y + (size_t)t * ys);
}

static _Thread_local void *p5z_weights;  // p0_grow
static _Thread_local size_t p5z_weight_capacity;

P8_TARGET void pk_q5_0_matmul(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    if (tokens <= 0 || groups <= 0) return;
    const p5t_act *prepared = p5t_prepare_rows(nb, act, as, tokens);
    const size_t gbytes = (size_t)nb * P5_BLOCK;
    if (tokens > P5T_TOKENS) {
        p5z_unpacked *unpacked = p0_grow(&p5z_weights, &p5z_weight_capacity, (size_t)nb * sizeof(p5z_unpacked));
        for (int g = 0; g < groups; g++) {
            p5z_unpack(nb, p + (size_t)g * gbytes, unpacked);
            for (int t = 0; t < tokens; t += P5Z_ROWS) {
                const uint8_t *at = act + (size_t)t * as;
                const p5t_act *xt = prepared + (size_t)t * nb;
                float *yt = y + (size_t)t * ys + (size_t)g * PK_ROWS;
                switch (tokens - t) {
                case 1: p5z_rows(nb, unpacked, at, as, xt, 1, yt, ys); break;
                case 2: p5z_rows(nb, unpacked, at, as, xt, 2, yt, ys); break;
                case 3: p5z_rows(nb, unpacked, at, as, xt, 3, yt, ys); break;
                default: p5z_rows(nb, unpacked, at, as, xt, P5Z_ROWS, yt, ys); break;
                }
            }
        }
        return;
    }
    for (int g = 0; g < groups; g++) {
        const uint8_t *pg = p + (size_t)g * gbytes;
        float *yg = y + (size_t)g * PK_ROWS;
        switch (tokens) {
        case 1: p5z_group(nb, pg, act, as, prepared, 1, yg, ys); break;
        case 2: p5z_group(nb, pg, act, as, prepared, 2, yg, ys); break;
        case 3: p5z_group(nb, pg, act, as, prepared, 3, yg, ys); break;
        default: p5z_group(nb, pg, act, as, prepared, P5T_TOKENS, yg, ys); break;
        }
    }
}

void pk_q0_matmul_avx2(int q8, int order, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens,
                       float *y, size_t ys) {
    if (q8) p8_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys);
    else if (order & CN_ORDER_Q0_LANES) p5_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys);
    else p5t_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q8_0_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q5_0_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q4_0_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_mxfp4_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q4_0_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_mxfp4_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q0_matmul_avx2(int q8, int order, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens,
                       float *y, size_t ys) {}
#endif
