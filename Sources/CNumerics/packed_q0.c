// Q5_0 and Q8_0 weights repacked at load time into groups of 16 rows, and their AVX-512 VNNI
// and AVX2 products for one to four activation rows (decode).
//
// Why: the row kernel (kernels_body.inc, q0_row) unpacks 32 elements per block and row with a
// 256-bit vector and a horizontal sum, and runs at 7.5 (Q5_0) and 13 (Q8_0) GB/s on one core,
// below the read bandwidth; Gemma's LM head is a 178 MB Q8_0 matrix. Packed, one 512-bit dpbusd
// covers four elements of 16 rows; Q5_0's fifth bits arrive as a ready 64-bit mask (one masked
// add per 16 rows × 4 elements), Q8_0's bytes are stored offset by 128 (unsigned, as dpbusd
// wants) and the offset is taken back with the activations' sums.
//
// The order is the row kernel's: per block, lane j (elements 4j..4j+3) gets its exact integer
// Σ q·q_a, converted to f32 and fused-multiply-added with d_w·d_a into lane accumulator j; at
// the end lane j is added to lane j+4, then j+2, then j+1. Here lane j of every row is vector j
// (one row per 32-bit element), so the same operations run on 16 rows at once and give the
// same bits (PackedWeightsTests).
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

void pk_q5_0_pack(const uint8_t *src, size_t ws, int rows, int blocks, int sliced, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * P5_BLOCK;
            uint64_t masks[8] = {0};
            uint8_t slices[64] = {0};
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q5_0;
                uint32_t qh;
                memcpy(&qh, wb + 2, 4);
                for (int c = 0; c < 4; c++) memcpy(o + P5_QS + c * 64 + r * 4, wb + 6 + 4 * c, 4);
                if (sliced) {
                    for (int j = 0; j < 8; j++)
                        for (int k = 0; k < 4; k++) slices[32 * (r / 8) + 4 * (r % 8) + k] |= (uint8_t)(((qh >> (4 * j + k)) & 1) << j);
                } else {
                    for (int j = 0; j < 8; j++) masks[j] |= (uint64_t)((qh >> (4 * j)) & 0xF) << (4 * r);
                }
                memcpy(o + P5_D + 2 * r, wb, 2);
            }
            if (sliced) memcpy(o + P5_QH, slices, sizeof slices);
            else memcpy(o + P5_QH, masks, sizeof masks);
        }
    }
}

#if defined(__x86_64__)
#define P5_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline P5_TARGET int32_t p5_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// One group of 16 rows (Q5_0, or Q8_0 when q8) against nt ≤ 2 activation rows (Q8_0) over nb
// blocks: y[t·ys + r].
static inline __attribute__((always_inline)) P5_TARGET void p5_tile(const int q8, int nb, const uint8_t *pg, const uint8_t *a,
                                                                    size_t as, const int nt, float *y, size_t ys) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(0x10);
    const __m256i ones = _mm256_set1_epi8(1);
    __m512 acc[2][8];
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 8; j++) acc[t][j] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * (q8 ? P8_BLOCK : P5_BLOCK);
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + (q8 ? P8_D : P5_D))));
        const uint8_t *ab[2];
        __m512 scale[2];
        int32_t corr[2][8];  // −16·Σ q_a (Q8_0: −128·Σ q_a) over each lane's four activations: q = u − 16 (u − 128)
        for (int t = 0; t < nt; t++) {
            ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_0;
            uint16_t h;
            memcpy(&h, ab[t], 2);
            scale[t] = _mm512_mul_ps(d, _mm512_set1_ps(_cvtsh_ss(h)));
            const __m256i s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, _mm256_loadu_si256((const __m256i *)(ab[t] + 2)));
            _mm256_storeu_si256((__m256i *)corr[t], _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(s, q8 ? 7 : 4)));
        }
        if (q8) {
            for (int j = 0; j < 8; j++) {
                const __m512i u = _mm512_loadu_si512((const void *)(gb + P8_QS + j * 64));
                for (int t = 0; t < nt; t++) {
                    const __m512i p = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[t][j]), u, _mm512_set1_epi32(p5_load32(ab[t] + 2 + 4 * j)));
                    acc[t][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), scale[t], acc[t][j]);
                }
            }
            continue;
        }
        for (int c = 0; c < 4; c++) {
            const __m512i v = _mm512_loadu_si512((const void *)(gb + P5_QS + c * 64));
            uint64_t mlo, mhi;
            memcpy(&mlo, gb + P5_QH + 8 * c, 8);
            memcpy(&mhi, gb + P5_QH + 8 * (c + 4), 8);
            const __m512i lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            const __m512i ulo = _mm512_mask_add_epi8(lo, (__mmask64)mlo, lo, sixteen);
            const __m512i uhi = _mm512_mask_add_epi8(hi, (__mmask64)mhi, hi, sixteen);
            for (int t = 0; t < nt; t++) {
                const __m512i plo = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[t][c]), ulo, _mm512_set1_epi32(p5_load32(ab[t] + 2 + 4 * c)));
                const __m512i phi = _mm512_dpbusd_epi32(_mm512_set1_epi32(corr[t][c + 4]), uhi,
                                                        _mm512_set1_epi32(p5_load32(ab[t] + 2 + 16 + 4 * c)));
                acc[t][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(plo), scale[t], acc[t][c]);
                acc[t][c + 4] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(phi), scale[t], acc[t][c + 4]);
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const __m512 s0 = _mm512_add_ps(acc[t][0], acc[t][4]), s1 = _mm512_add_ps(acc[t][1], acc[t][5]);
        const __m512 s2 = _mm512_add_ps(acc[t][2], acc[t][6]), s3 = _mm512_add_ps(acc[t][3], acc[t][7]);
        _mm512_storeu_ps(y + (size_t)t * ys, _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)));
    }
}

static P5_TARGET void p5_tile_any(int q8, int nb, const uint8_t *pg, const uint8_t *a, size_t as, int nt, float *y, size_t ys) {
    if (q8) {
        if (nt >= 2) p5_tile(1, nb, pg, a, as, 2, y, ys);
        else p5_tile(1, nb, pg, a, as, 1, y, ys);
    } else {
        if (nt >= 2) p5_tile(0, nb, pg, a, as, 2, y, ys);
        else p5_tile(0, nb, pg, a, as, 1, y, ys);
    }
}

void pk_q0_matmul(int q8, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    const size_t gbytes = (size_t)blocks * (q8 ? P8_BLOCK : P5_BLOCK);
    for (int g = 0; g < groups; g++) {
        for (int t0 = 0; t0 < tokens; t0 += 2) {
            float *yt = y + (size_t)t0 * ys + (size_t)g * PK_ROWS;
            p5_tile_any(q8, blocks, p + (size_t)g * gbytes, act + (size_t)t0 * as, as, tokens - t0, yt, ys);
        }
    }
}

// ---- AVX2 (no VNNI, 16 vector registers) ----
// The same layout, half a group (8 rows, one per 32-bit lane) per pass (Q5_0: two activation rows
// at a time, Q8_0: one), so the lane accumulators and their operands fit the registers. Without
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

// Q8_0, rows 8h..8h+7 of one group against one activation row: y[r] for those rows.
static P0_AVX2 void p8_half_avx2(int nb, const uint8_t *pg, int h, const uint8_t *a, float *y) {
    const __m256i flip = _mm256_set1_epi8((char)0x80), ones16 = _mm256_set1_epi16(1);
    __m256 acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P8_BLOCK;
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

static P0_AVX2 void p5_prepare(int nb, const uint8_t *a, p5_act *out, float *da) {
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int b = 0; b < nb; b++) {
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_0;
        uint16_t hd;
        memcpy(&hd, ab, 2);
        da[b] = _cvtsh_ss(hd);
        const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, _mm256_loadu_si256((const __m256i *)(ab + 2))), ones16);
        int32_t corr[8];
        _mm256_storeu_si256((__m256i *)corr, _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(sums, 4)));
        for (int j = 0; j < 8; j++) {
            out[b].q[j] = _mm256_set1_epi32(p0_load32(ab + 2 + 4 * j));
            out[b].corr[j] = _mm256_set1_epi32(corr[j]);
        }
    }
}

// Q5_0, rows 8h..8h+7 of one group against nt ≤ 2 prepared activation rows (act + t·nb, da + t·nb;
// y[t·ys + r]). Two rows (decode of several sequences) share each unpacked weight vector; their
// sixteen accumulators outgrow the registers, but each is touched once per lane and block.
// Instantiated per nt, so one row keeps its eight in registers.
static inline __attribute__((always_inline)) P0_AVX2 void p5_half_avx2(int nb, const uint8_t *pg, int h, const p5_act *act,
                                                                       const float *da, const int nt, float *y, size_t ys) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), fifth = _mm256_set1_epi8(0x10);
    const __m256i ones16 = _mm256_set1_epi16(1);
    __m256 acc[2][8];
    for (int t = 0; t < nt; t++)
        for (int j = 0; j < 8; j++) acc[t][j] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P5_BLOCK;
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P5_D + 16 * h)));
        __m256 scale[2];
        for (int t = 0; t < nt; t++) scale[t] = _mm256_mul_ps(d, _mm256_broadcast_ss(da + (size_t)t * nb + b));
        const __m256i fifths = _mm256_loadu_si256((const __m256i *)(gb + P5_QH + 32 * h));
        for (int c = 0; c < 4; c++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + P5_QS + c * 64 + 32 * h));
            const __m256i ulo = _mm256_or_si256(_mm256_and_si256(v, m4), _mm256_and_si256(p5_lane_bits(fifths, c), fifth));
            const __m256i uhi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4),
                                                _mm256_and_si256(p5_lane_bits(fifths, c + 4), fifth));
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

// A thread's prepared activations (grown, never shrunk, as kernels_body.inc's scratch: the pool's
// threads live as long as the engine)
static _Thread_local p5_act *p5_buffer;
static _Thread_local size_t p5_capacity;

// Q5_0: the call's activation rows prepared once (act + t·nb, d_a at da + t·nb), then each group
// against them two at a time: a group's weights are read from memory once and stay in cache for
// the next pair.
static P0_AVX2 void p5_matmul_avx2(int nb, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    if (tokens <= 0 || groups <= 0) return;
    const size_t need = (size_t)tokens * nb;
    if (p5_capacity < need) {
        free(p5_buffer);
        const size_t grown = need + need / 4;
        p5_buffer = aligned_alloc(64, (grown * (sizeof(p5_act) + sizeof(float)) + 63) / 64 * 64);
        if (!p5_buffer) abort();  // about half a KB per block and activation row: out of memory
        p5_capacity = grown;
    }
    p5_act *prepared = p5_buffer;
    float *da = (float *)(prepared + need);
    for (int t = 0; t < tokens; t++) p5_prepare(nb, act + (size_t)t * as, prepared + (size_t)t * nb, da + (size_t)t * nb);
    const size_t gbytes = (size_t)nb * P5_BLOCK;
    for (int g = 0; g < groups; g++)
        for (int t0 = 0; t0 < tokens; t0 += 2)
            for (int h = 0; h < 2; h++) {
                const p5_act *at = prepared + (size_t)t0 * nb;
                const float *dt = da + (size_t)t0 * nb;
                float *yt = y + (size_t)t0 * ys + (size_t)g * PK_ROWS + 8 * h;
                if (tokens - t0 >= 2) p5_half_avx2(nb, p + (size_t)g * gbytes, h, at, dt, 2, yt, ys);
                else p5_half_avx2(nb, p + (size_t)g * gbytes, h, at, dt, 1, yt, ys);
            }
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

void pk_q0_matmul_avx2(int q8, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y,
                       size_t ys) {
    if (q8) p8_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys);
    else p5_matmul_avx2(blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q0_matmul(int q8, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q0_matmul_avx2(int q8, int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y,
                       size_t ys) {}
#endif
