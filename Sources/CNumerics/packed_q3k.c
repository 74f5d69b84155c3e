// Q3_K weights repacked at load time into groups of 16 rows, and their AVX-512 VNNI and AVX2 products.
//
// Why: Q3_K had only its row kernel, compute-bound at 6 GB/s from L2 on one Zen 4 core, for
// decode and prompts alike (Q3_K_M models decoded at 0.9× and prompted at 0.6× llama.cpp's rate).
//
// The order is the row kernel's (kernels_body.inc, q3_K_impl): per super-block the exact integer
// Σ_j (s_j − 32)·Σ q·q_a over its sixteen 16-element sub-blocks (q = u − 4, u = two low bits +
// 4·high bit), then sum + (d_a·d)·total, unfused. Here u goes into dpbusd unsigned, each
// sub-block's sum starting from −4·Σ q_a (the Q8_K block sum), so every sub-block sum, and the
// total, is the row kernel's integer.
//
// Layout (packed_layouts.h): the elements of a group come in combos (j, c) of four elements
// 16j + 4c … + 3 of each of the 16 rows (a dpbusd's worth). Crumb vector j holds the low bits of
// combos (j, 0 … 3), two bits each per byte; slice vector h holds the high bits of the eight
// combos 8h … 8h + 7 (combo i = 4j + c), one bit each per byte. Unpacking a combo is a shift and
// a mask for each, and one select. Each step h (sub-blocks 2h, 2h + 1) keeps its slices, crumbs
// and scales together, so the kernel reads the copy front to back.
#include "cnumerics.h"
#include "packed_layouts.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Row r's stored Q3_K fields for element e (0 … 255): the low bits and the high bit of u
static void q3_fields(const uint8_t *wb, int e, int *low, int *high) {
    const int n = e / 128, j = (e % 128) / 32, l = e % 32;
    *low = (wb[32 + 32 * n + l] >> (2 * j)) & 3;
    *high = (wb[l] >> (4 * n + j)) & 1;
}

static int q3_scale(const uint8_t *wb, int j) {
    const int low = (wb[96 + j % 8] >> (4 * (j / 8))) & 0xF, high = (wb[104 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | high << 4) - 32;
}

void pk_q3k_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * Q3P_BLOCK;
            memset(o, 0, Q3P_D);
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q3_K;
                for (int j = 0; j < 16; j++) {
                    for (int c = 0; c < 4; c++)
                        for (int k = 0; k < 4; k++) {
                            int low, high;
                            q3_fields(wb, 16 * j + 4 * c + k, &low, &high);
                            const int i = 4 * j + c;
                            o[Q3P_STEP * (j / 2) + Q3P_LOW + (j % 2) * 64 + r * 4 + k] |= (uint8_t)(low << (2 * c));
                            o[Q3P_STEP * (i / 8) + Q3P_HIGH + r * 4 + k] |= (uint8_t)(high << (i % 8));
                        }
                    o[Q3P_STEP * (j / 2) + Q3P_SC + (j % 2) * PK_ROWS + r] = (uint8_t)(int8_t)q3_scale(wb, j);
                }
                memcpy(o + Q3P_D + 2 * r, wb + 108, 2);
            }
        }
    }
}

// Row `lane` of a packed group back in the stored layout (packed.c's cn_packed_stored_row)
void pk_q3k_stored_row(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * Q3P_BLOCK;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q3_K;
        memset(o, 0, 108);
        for (int e = 0; e < 256; e++) {
            const int j = e / 16, c = (e % 16) / 4, k = e % 4, i = 4 * j + c;
            const int low = (gb[Q3P_STEP * (j / 2) + Q3P_LOW + (j % 2) * 64 + lane * 4 + k] >> (2 * c)) & 3;
            const int high = (gb[Q3P_STEP * (i / 8) + Q3P_HIGH + lane * 4 + k] >> (i % 8)) & 1;
            const int n = e / 128, s = (e % 128) / 32, l = e % 32;
            o[32 + 32 * n + l] |= (uint8_t)(low << (2 * s));
            o[l] |= (uint8_t)(high << (4 * n + s));
        }
        for (int j = 0; j < 16; j++) {
            const int u = (int)(int8_t)gb[Q3P_STEP * (j / 2) + Q3P_SC + (j % 2) * PK_ROWS + lane] + 32;
            o[96 + j % 8] |= (uint8_t)((u & 0xF) << (4 * (j / 8)));
            o[104 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
        }
        memcpy(o + 108, gb + Q3P_D + 2 * lane, 2);
    }
}

#if defined(__x86_64__)
#define Q3P_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline Q3P_TARGET int32_t q3p_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// u of combo (j, c) for all 16 rows: the low bits from crumb vector `low`, the high bit (slice
// position i % 8 of `high`) at bit 2, selected by ternary logic (0xE4: bits 0–1 from the first)
static inline __attribute__((always_inline)) Q3P_TARGET __m512i q3p_unpack(__m512i low, __m512i high, const int c, const int bit) {
    const __m512i l = c == 0 ? low : _mm512_srli_epi16(low, 2 * c);
    const __m512i h = bit < 2 ? _mm512_slli_epi16(high, 2 - bit) : bit == 2 ? high : _mm512_srli_epi16(high, bit - 2);
    return _mm512_ternarylogic_epi32(l, _mm512_and_si512(h, _mm512_set1_epi8(4)), _mm512_set1_epi8(3), 0xE4);
}

// One group of 16 rows against nt ≤ 4 activation rows (Q8_K) over nb super-blocks: y[t·ys + r].
static inline __attribute__((always_inline)) Q3P_TARGET void q3p_tile(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                      const int nt, float *y, size_t ys) {
    __m512 sum[4];
    for (int t = 0; t < nt; t++) sum[t] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * Q3P_BLOCK;
        pk_prefetch_ahead(gb, Q3P_BLOCK);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m512i total[4];
        for (int t = 0; t < nt; t++) total[t] = _mm512_setzero_si512();
        for (int h = 0; h < 8; h++) {
            const uint8_t *step = gb + Q3P_STEP * h;
            const __m512i high = _mm512_loadu_si512((const void *)(step + Q3P_HIGH));
            for (int jj = 0; jj < 2; jj++) {
                const int j = 2 * h + jj;
                const __m512i low = _mm512_loadu_si512((const void *)(step + Q3P_LOW + jj * 64));
                __m512i s[4];
                for (int t = 0; t < nt; t++) {
                    int16_t bs;
                    memcpy(&bs, ab[t] + 260 + 2 * j, 2);
                    s[t] = _mm512_set1_epi32(-4 * bs);
                }
                for (int c = 0; c < 4; c++) {
                    const __m512i u = q3p_unpack(low, high, c, 4 * jj + c);
                    for (int t = 0; t < nt; t++)
                        s[t] = _mm512_dpbusd_epi32(s[t], u, _mm512_set1_epi32(q3p_load32(ab[t] + 4 + 16 * j + 4 * c)));
                }
                const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(step + Q3P_SC + jj * PK_ROWS)));
                for (int t = 0; t < nt; t++) total[t] = _mm512_add_epi32(total[t], _mm512_mullo_epi32(s[t], sc));
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + Q3P_D)));
        for (int t = 0; t < nt; t++) {
            float da;
            memcpy(&da, ab[t], 4);
            sum[t] = _mm512_add_ps(sum[t], _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(da), d), _mm512_cvtepi32_ps(total[t])));
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + (size_t)t * ys, sum[t]);
}

PK_TILE_ANY(q3p_tile_any, Q3P_TARGET, q3p_tile)

void pk_q3k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(q3p_tile_any, (size_t)blocks * Q3P_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

// ---- AVX2 (no VNNI) ----
// Half a group (8 rows, one per 32-bit lane) per pass for prompts, both halves of each line in one
// pass for decode. maddubs gives exact pair sums of u·q_a (u ≤ 7: |pair| ≤ 1778) and a sub-block's
// four combos add up in 16 bits; −4·Σ q_a of the sub-block joins the low half of each lane (|half|
// ≤ 7112 + 8128, still 16 bits), and one madd with the row's scale widens and scales the lane: the
// row kernel's sub-block integer, so its total and float finish.
#define Q3P_AVX2 __attribute__((target("avx2,fma,f16c")))

// u of combo (j, c) for rows 8hh … 8hh + 7 (the 32-byte halves of the crumb and slice vectors)
static inline __attribute__((always_inline)) Q3P_AVX2 __m256i q3p2_unpack(__m256i low, __m256i high, const int c, const int bit) {
    const __m256i l = c == 0 ? low : _mm256_srli_epi16(low, 2 * c);
    const __m256i h = bit < 2 ? _mm256_slli_epi16(high, 2 - bit) : bit == 2 ? high : _mm256_srli_epi16(high, bit - 2);
    return _mm256_or_si256(_mm256_and_si256(l, _mm256_set1_epi8(3)), _mm256_and_si256(h, _mm256_set1_epi8(4)));
}

// Sub-block 2h + jj of rows 8hh … 8hh + 7 in step `step` (its high-bit slices `high`): the four
// combos' u and the rows' scale operand
static inline __attribute__((always_inline)) Q3P_AVX2 void q3p2_values(const uint8_t *step, __m256i high, int hh, int jj,
                                                                        __m256i *u, __m256i *sc) {
    const __m256i low = _mm256_loadu_si256((const __m256i *)(step + Q3P_LOW + jj * 64 + 32 * hh));
    *sc = pk2_signed_scale_pairs(step + Q3P_SC + jj * PK_ROWS + 8 * hh);
    for (int c = 0; c < 4; c++) u[c] = q3p2_unpack(low, high, c, 4 * jj + c);
}

// Sub-block j of rows 8hh … 8hh + 7 against one activation row: sc·(Σ u·q_a − 4·Σ q_a) per lane
static inline __attribute__((always_inline)) Q3P_AVX2 __m256i q3p2_sub(const __m256i *u, const uint8_t *ab, int j, __m256i sc) {
    int16_t bs;
    memcpy(&bs, ab + 260 + 2 * j, 2);
    __m256i p = _mm256_set1_epi32((uint16_t)(int16_t)(-4 * bs));
    for (int c = 0; c < 4; c++) p = _mm256_add_epi16(p, _mm256_maddubs_epi16(u[c], _mm256_set1_epi32(q3p_load32(ab + 4 + 16 * j + 4 * c))));
    return _mm256_madd_epi16(p, sc);
}

static inline __attribute__((always_inline)) Q3P_AVX2 void q3p2_half(int nb, const uint8_t *pg, int hh, const uint8_t *a, size_t as,
                                                                      const int nt, float *y, size_t ys) {
    __m256 sum[4];
    for (int t = 0; t < nt; t++) sum[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * Q3P_BLOCK;
        if (hh == 0) pk_prefetch_ahead(gb, Q3P_BLOCK);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m256i total[4];
        for (int t = 0; t < nt; t++) total[t] = _mm256_setzero_si256();
        for (int h = 0; h < 8; h++) {
            const uint8_t *step = gb + Q3P_STEP * h;
            const __m256i high = _mm256_loadu_si256((const __m256i *)(step + Q3P_HIGH + 32 * hh));
            for (int jj = 0; jj < 2; jj++) {
                __m256i u[4], sc;
                q3p2_values(step, high, hh, jj, u, &sc);
                for (int t = 0; t < nt; t++) total[t] = _mm256_add_epi32(total[t], q3p2_sub(u, ab[t], 2 * h + jj, sc));
            }
        }
        for (int t = 0; t < nt; t++) sum[t] = pk2_add_scaled(sum[t], gb + Q3P_D + 16 * hh, ab[t], total[t]);
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(y + (size_t)t * ys, sum[t]);
}

// One activation row against a whole group, both halves of each 64-byte line in the same pass
static Q3P_AVX2 void q3p2_whole(int nb, const uint8_t *pg, const uint8_t *a, float *y) {
    __m256 sum[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * Q3P_BLOCK;
        pk_prefetch_ahead(gb, Q3P_BLOCK);
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_K;
        __m256i total[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int h = 0; h < 8; h++) {
            const uint8_t *step = gb + Q3P_STEP * h;
            for (int hh = 0; hh < 2; hh++) {
                const __m256i high = _mm256_loadu_si256((const __m256i *)(step + Q3P_HIGH + 32 * hh));
                for (int jj = 0; jj < 2; jj++) {
                    __m256i u[4], sc;
                    q3p2_values(step, high, hh, jj, u, &sc);
                    total[hh] = _mm256_add_epi32(total[hh], q3p2_sub(u, ab, 2 * h + jj, sc));
                }
            }
        }
        for (int hh = 0; hh < 2; hh++) sum[hh] = pk2_add_scaled(sum[hh], gb + Q3P_D + 16 * hh, ab, total[hh]);
    }
    for (int hh = 0; hh < 2; hh++) _mm256_storeu_ps(y + 8 * hh, sum[hh]);
}

PK2_GROUP(q3p2_group, Q3P_AVX2, q3p2_whole, q3p2_half)

void pk_q3k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(q3p2_group, (size_t)blocks * Q3P_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q3k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q3k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
#endif
