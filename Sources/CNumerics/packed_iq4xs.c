// IQ4_XS weights repacked at load time into groups of 16 rows, and their AVX-512 VNNI and AVX2 products.
//
// Why: IQ4_XS had only the row kernel for decode (13 GB/s from L2 on one Zen 4 core) and the
// blocked int16 kernel for prompts (about half of llama.cpp's prompt rate). Packed like Q4_0's
// blocks (packed_q0.c), eight 32-element sub-blocks per super-block, one dpbusd multiplies four
// elements of all 16 rows by one broadcast activation group.
//
// The order is the row kernel's (kernels_body.inc, iq4_xs_impl): per super-block the exact
// integer Σ_j sc_j·Σ q·q_a (q the table values, sc_j the signed 6-bit scales), then
// sum + (d_a·d)·total, unfused. Here the table values go into dpbusd as u = q + 128 (unsigned,
// 1 … 241), each sub-block's sum starting from −128·Σ q_a over its 32 activations (the Q8_K
// block sums), so every sub-block sum, and the total, is the row kernel's integer.
#include "cnumerics.h"
#include "packed_layouts.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void pk_iq4xs_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * I4_BLOCK;
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_IQ4_XS;
                const int sh = wb[2] | wb[3] << 8;
                for (int j = 0; j < 8; j++) {
                    for (int c = 0; c < 4; c++) memcpy(o + I4_QS + (j * 4 + c) * 64 + r * 4, wb + 8 + 16 * j + 4 * c, 4);
                    const int sc = (((wb[4 + j / 2] >> (4 * (j % 2))) & 0xF) | ((sh >> (2 * j)) & 3) << 4) - 32;
                    o[I4_SC + j * PK_ROWS + r] = (uint8_t)(int8_t)sc;
                }
                memcpy(o + I4_D + 2 * r, wb, 2);
            }
        }
    }
}

#if defined(__x86_64__)
// IQ4_NL's table of values, which IQ4_XS shares
static const int8_t i4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

#define I4_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline I4_TARGET int32_t i4_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// One group of 16 rows against nt ≤ 4 activation rows (Q8_K) over nb super-blocks: y[t·ys + r].
static inline __attribute__((always_inline)) I4_TARGET void i4_tile(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                    const int nt, float *y, size_t ys) {
    // the table plus 128, in every 128-bit lane for vpshufb
    const __m512i table = _mm512_add_epi8(_mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)i4_levels)), _mm512_set1_epi8((char)0x80));
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 sum[4];
    for (int t = 0; t < nt; t++) sum[t] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * I4_BLOCK;
        pk_prefetch_ahead(gb, I4_BLOCK);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m512i total[4];
        for (int t = 0; t < nt; t++) total[t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            __m512i s[4];
            for (int t = 0; t < nt; t++) {
                int16_t bs[2];
                memcpy(bs, ab[t] + 260 + 4 * j, 4);
                s[t] = _mm512_set1_epi32(-128 * (bs[0] + bs[1]));
            }
            for (int c = 0; c < 4; c++) {
                const __m512i v = _mm512_loadu_si512((const void *)(gb + I4_QS + (j * 4 + c) * 64));
                const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, m4));
                const __m512i hi = _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
                for (int t = 0; t < nt; t++) {
                    const uint8_t *q = ab[t] + 4 + 32 * j + 4 * c;
                    s[t] = _mm512_dpbusd_epi32(s[t], lo, _mm512_set1_epi32(i4_load32(q)));
                    s[t] = _mm512_dpbusd_epi32(s[t], hi, _mm512_set1_epi32(i4_load32(q + 16)));
                }
            }
            const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(gb + I4_SC + j * PK_ROWS)));
            for (int t = 0; t < nt; t++) total[t] = _mm512_add_epi32(total[t], _mm512_mullo_epi32(s[t], sc));
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + I4_D)));
        for (int t = 0; t < nt; t++) {
            float da;
            memcpy(&da, ab[t], 4);
            sum[t] = _mm512_add_ps(sum[t], _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(da), d), _mm512_cvtepi32_ps(total[t])));
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + (size_t)t * ys, sum[t]);
}

PK_TILE_ANY(i4_tile_any, I4_TARGET, i4_tile)

void pk_iq4xs_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(i4_tile_any, (size_t)blocks * I4_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

// ---- AVX2 (no VNNI) ----
// Half a group (8 rows, one per 32-bit lane) per pass for prompts, both halves of each line in one
// pass for decode. maddubs needs one unsigned operand, and the table values plus 128 times an
// activation overflow its 16-bit pair sums, so the activations' magnitudes go unsigned and their
// signs onto the table values (|q_a| ≤ 127, |q| ≤ 127: |pair| ≤ 32258, exact); each pair sum is
// widened by madd with the row's sub-block scale, so the total is the row kernel's integer.
#define I4_AVX2 __attribute__((target("avx2,fma,f16c")))

// Σ over four elements of each row of table values q times the broadcast activations a, scaled:
// madd(maddubs(|a|, q·sign(a)), sc)
static inline __attribute__((always_inline)) I4_AVX2 __m256i i4_2_dot(__m256i q, __m256i a, __m256i sc) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(a), _mm256_sign_epi8(q, a)), sc);
}

static inline __attribute__((always_inline)) I4_AVX2 void i4_2_values(const uint8_t *gb, int j, int c, int h, __m256i table,
                                                                       __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + I4_QS + (j * 4 + c) * 64 + 32 * h));
    *lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, m4));
    *hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
}

// Rows 8h … 8h + 7 of one group against nt ≤ 4 activation rows: y[t·ys + r]
static inline __attribute__((always_inline)) I4_AVX2 void i4_2_half(int nb, const uint8_t *pg, int h, const uint8_t *a, size_t as,
                                                                     const int nt, float *y, size_t ys) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)i4_levels));
    __m256 sum[4];
    for (int t = 0; t < nt; t++) sum[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * I4_BLOCK;
        if (h == 0) pk_prefetch_ahead(gb, I4_BLOCK);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m256i total[4];
        for (int t = 0; t < nt; t++) total[t] = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++) {
            const __m256i sc = pk2_signed_scale_pairs(gb + I4_SC + j * PK_ROWS + 8 * h);
            for (int c = 0; c < 4; c++) {
                __m256i lo, hi;
                i4_2_values(gb, j, c, h, table, &lo, &hi);
                for (int t = 0; t < nt; t++) {
                    const uint8_t *q = ab[t] + 4 + 32 * j + 4 * c;
                    total[t] = _mm256_add_epi32(total[t], i4_2_dot(lo, _mm256_set1_epi32(i4_load32(q)), sc));
                    total[t] = _mm256_add_epi32(total[t], i4_2_dot(hi, _mm256_set1_epi32(i4_load32(q + 16)), sc));
                }
            }
        }
        for (int t = 0; t < nt; t++) sum[t] = pk2_add_scaled(sum[t], gb + I4_D + 16 * h, ab[t], total[t]);
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(y + (size_t)t * ys, sum[t]);
}

// One activation row against a whole group, both halves of each 64-byte line in the same pass
static I4_AVX2 void i4_2_whole(int nb, const uint8_t *pg, const uint8_t *a, float *y) {
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)i4_levels));
    __m256 sum[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * I4_BLOCK;
        pk_prefetch_ahead(gb, I4_BLOCK);
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_K;
        __m256i total[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int j = 0; j < 8; j++) {
            const __m256i sc[2] = {pk2_signed_scale_pairs(gb + I4_SC + j * PK_ROWS), pk2_signed_scale_pairs(gb + I4_SC + j * PK_ROWS + 8)};
            for (int c = 0; c < 4; c++) {
                const uint8_t *q = ab + 4 + 32 * j + 4 * c;
                const __m256i alo = _mm256_set1_epi32(i4_load32(q)), ahi = _mm256_set1_epi32(i4_load32(q + 16));
                for (int h = 0; h < 2; h++) {
                    __m256i lo, hi;
                    i4_2_values(gb, j, c, h, table, &lo, &hi);
                    total[h] = _mm256_add_epi32(total[h], i4_2_dot(lo, alo, sc[h]));
                    total[h] = _mm256_add_epi32(total[h], i4_2_dot(hi, ahi, sc[h]));
                }
            }
        }
        for (int h = 0; h < 2; h++) sum[h] = pk2_add_scaled(sum[h], gb + I4_D + 16 * h, ab, total[h]);
    }
    for (int h = 0; h < 2; h++) _mm256_storeu_ps(y + 8 * h, sum[h]);
}

PK2_GROUP(i4_2_group, I4_AVX2, i4_2_whole, i4_2_half)

void pk_iq4xs_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(i4_2_group, (size_t)blocks * I4_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_iq4xs_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_iq4xs_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
#endif
