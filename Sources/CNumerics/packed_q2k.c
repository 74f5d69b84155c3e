// Q2_K weights repacked at load time into groups of 16 rows, and their AVX-512 VNNI and AVX2 products.
//
// Why: Q2_K had only its row kernel, compute-bound at 7.5–11 GB/s from L2 on one Zen 4 core,
// for decode and prompts (Q2_K models decoded at 0.6–0.8× and prompted at 0.6× llama.cpp's rate).
//
// The order is the row kernel's (kernels_body.inc, q2_K_impl): per super-block the exact
// integers isum = Σ_j s_j·Σ u·q_a and msum = Σ_j m_j·Σ q_a over its sixteen 16-element sub-blocks
// (u the 2-bit values, s_j and m_j the 4-bit scale and min), then
// sum + ((d_a·d)·isum − (d_a·dmin)·msum), unfused.
//
// Layout (packed_layouts.h): the same bytes as the stored rows, rearranged. Crumb vector j holds
// the 2-bit values of sub-block j's four combos (four elements 16j + 4c … + 3 of each row, a
// dpbusd's worth) two bits each per byte; the scale-and-min bytes of sub-blocks 2k and 2k + 1 sit
// side by side for each row, so one 32-bit lane per row holds both, just before those two
// sub-blocks' crumbs (the kernel reads the copy front to back).
#include "cnumerics.h"
#include "packed_layouts.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

void pk_q2k_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * Q2P_BLOCK;
            memset(o, 0, Q2P_D);
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q2_K;
                for (int e = 0; e < 256; e++) {
                    const int j = e / 16, c = (e % 16) / 4, k = e % 4;
                    const int n = e / 128, s = (e % 128) / 32, l = e % 32;
                    o[Q2P_STEP * (j / 2) + Q2P_LOW + (j % 2) * 64 + r * 4 + k] |= (uint8_t)(((wb[16 + 32 * n + l] >> (2 * s)) & 3) << (2 * c));
                }
                for (int j = 0; j < 16; j++) o[Q2P_STEP * (j / 2) + Q2P_SM + r * 2 + j % 2] = wb[j];
                memcpy(o + Q2P_D + 2 * r, wb + 80, 2);
                memcpy(o + Q2P_DMIN + 2 * r, wb + 82, 2);
            }
        }
    }
}

// Row `lane` of a packed group back in the stored layout (packed.c's cn_packed_stored_row)
void pk_q2k_stored_row(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * Q2P_BLOCK;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q2_K;
        memset(o + 16, 0, 64);
        for (int e = 0; e < 256; e++) {
            const int j = e / 16, c = (e % 16) / 4, k = e % 4;
            const int n = e / 128, s = (e % 128) / 32, l = e % 32;
            o[16 + 32 * n + l] |= (uint8_t)(((gb[Q2P_STEP * (j / 2) + Q2P_LOW + (j % 2) * 64 + lane * 4 + k] >> (2 * c)) & 3) << (2 * s));
        }
        for (int j = 0; j < 16; j++) o[j] = gb[Q2P_STEP * (j / 2) + Q2P_SM + lane * 2 + j % 2];
        memcpy(o + 80, gb + Q2P_D + 2 * lane, 2);
        memcpy(o + 82, gb + Q2P_DMIN + 2 * lane, 2);
    }
}

#if defined(__x86_64__)
#define Q2P_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline Q2P_TARGET int32_t q2p_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// One group of 16 rows against nt ≤ 4 activation rows (Q8_K) over nb super-blocks: y[t·ys + r].
static inline __attribute__((always_inline)) Q2P_TARGET void q2p_tile(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                      const int nt, float *y, size_t ys) {
    const __m512i m3 = _mm512_set1_epi8(3), m15 = _mm512_set1_epi32(0xF);
    __m512 sum[4];
    for (int t = 0; t < nt; t++) sum[t] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * Q2P_BLOCK;
        pk_prefetch_ahead(gb, Q2P_BLOCK);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m512i isum[4], msum[4];
        for (int t = 0; t < nt; t++) { isum[t] = _mm512_setzero_si512(); msum[t] = _mm512_setzero_si512(); }
        for (int k = 0; k < 8; k++) {
            // per row: the bytes of sub-blocks 2k (bits 0–7) and 2k + 1 (bits 8–15)
            const uint8_t *step = gb + Q2P_STEP * k;
            const __m512i sm = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(step + Q2P_SM)));
            const __m512i sc[2] = {_mm512_and_si512(sm, m15), _mm512_and_si512(_mm512_srli_epi32(sm, 8), m15)};
            // the mins as int16 pairs (m_2k, m_2k+1) for madd against the block sums
            const __m512i mins = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(sm, 4), m15),
                                                 _mm512_and_si512(_mm512_slli_epi32(sm, 4), _mm512_set1_epi32(0xF0000)));
            for (int t = 0; t < nt; t++) msum[t] = _mm512_add_epi32(msum[t], _mm512_madd_epi16(mins, _mm512_set1_epi32(q2p_load32(ab[t] + 260 + 4 * k))));
            for (int h = 0; h < 2; h++) {
                const int j = 2 * k + h;
                const __m512i low = _mm512_loadu_si512((const void *)(step + Q2P_LOW + h * 64));
                __m512i s[4];
                for (int t = 0; t < nt; t++) s[t] = _mm512_setzero_si512();
                for (int c = 0; c < 4; c++) {
                    const __m512i u = _mm512_and_si512(c == 0 ? low : _mm512_srli_epi16(low, 2 * c), m3);
                    for (int t = 0; t < nt; t++)
                        s[t] = _mm512_dpbusd_epi32(s[t], u, _mm512_set1_epi32(q2p_load32(ab[t] + 4 + 16 * j + 4 * c)));
                }
                for (int t = 0; t < nt; t++) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s[t], sc[h]));
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + Q2P_D)));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + Q2P_DMIN)));
        for (int t = 0; t < nt; t++) {
            float dav;
            memcpy(&dav, ab[t], 4);
            const __m512 da = _mm512_set1_ps(dav);
            const __m512 x = _mm512_mul_ps(_mm512_mul_ps(da, d), _mm512_cvtepi32_ps(isum[t]));
            const __m512 m = _mm512_mul_ps(_mm512_mul_ps(da, dmin), _mm512_cvtepi32_ps(msum[t]));
            sum[t] = _mm512_add_ps(sum[t], _mm512_sub_ps(x, m));
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + (size_t)t * ys, sum[t]);
}

PK_TILE_ANY(q2p_tile_any, Q2P_TARGET, q2p_tile)

void pk_q2k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(q2p_tile_any, (size_t)blocks * Q2P_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

// ---- AVX2 (no VNNI) ----
// Half a group (8 rows, one per 32-bit lane) per pass for prompts, both halves of each line in one
// pass for decode. maddubs gives exact pair sums of u·q_a (u ≤ 3: |pair| ≤ 762), a sub-block's four
// combos add up in 16 bits, and one madd with the row's scale widens and scales them: the row
// kernel's isum; msum is formed by madd as above.
#define Q2P_AVX2 __attribute__((target("avx2,fma,f16c")))

// Step k's scales of rows 8hh … 8hh + 7 as madd operands (s_j, s_j) for sub-blocks 2k and 2k + 1,
// and their mins as (m_2k, m_2k+1) pairs
static inline __attribute__((always_inline)) Q2P_AVX2 void q2p2_scales(const uint8_t *step, int hh, __m256i *sc, __m256i *mins) {
    const __m256i m15 = _mm256_set1_epi32(0xF);
    const __m256i sm = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(step + Q2P_SM + 16 * hh)));
    for (int h = 0; h < 2; h++) {
        const __m256i s = _mm256_and_si256(h == 0 ? sm : _mm256_srli_epi32(sm, 8), m15);
        sc[h] = _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
    }
    *mins = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(sm, 4), m15), _mm256_and_si256(_mm256_slli_epi32(sm, 4), _mm256_set1_epi32(0xF0000)));
}

// Step k of rows 8hh … 8hh + 7 against one activation row: adds Σ_j s_j·Σ u·q_a to *isum and
// Σ_j m_j·Σ q_a to *msum over sub-blocks 2k and 2k + 1
static inline __attribute__((always_inline)) Q2P_AVX2 void q2p2_step(const uint8_t *step, int hh, const __m256i *sc, __m256i mins,
                                                                      const uint8_t *ab, int k, __m256i *isum, __m256i *msum) {
    const __m256i m3 = _mm256_set1_epi8(3);
    *msum = _mm256_add_epi32(*msum, _mm256_madd_epi16(mins, _mm256_set1_epi32(q2p_load32(ab + 260 + 4 * k))));
    for (int h = 0; h < 2; h++) {
        const int j = 2 * k + h;
        const __m256i low = _mm256_loadu_si256((const __m256i *)(step + Q2P_LOW + h * 64 + 32 * hh));
        __m256i p = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i u = _mm256_and_si256(c == 0 ? low : _mm256_srli_epi16(low, 2 * c), m3);
            p = _mm256_add_epi16(p, _mm256_maddubs_epi16(u, _mm256_set1_epi32(q2p_load32(ab + 4 + 16 * j + 4 * c))));
        }
        *isum = _mm256_add_epi32(*isum, _mm256_madd_epi16(p, sc[h]));
    }
}

// sum + ((d_a·d)·isum − (d_a·dmin)·msum) for rows 8hh … 8hh + 7
static inline __attribute__((always_inline)) Q2P_AVX2 __m256 q2p2_finish(__m256 sum, const uint8_t *gb, int hh, const uint8_t *ab,
                                                                          __m256i isum, __m256i msum) {
    float dav;
    memcpy(&dav, ab, 4);
    const __m256 da = _mm256_set1_ps(dav);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + Q2P_D + 16 * hh)));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + Q2P_DMIN + 16 * hh)));
    const __m256 x = _mm256_mul_ps(_mm256_mul_ps(da, d), _mm256_cvtepi32_ps(isum));
    const __m256 m = _mm256_mul_ps(_mm256_mul_ps(da, dmin), _mm256_cvtepi32_ps(msum));
    return _mm256_add_ps(sum, _mm256_sub_ps(x, m));
}

static inline __attribute__((always_inline)) Q2P_AVX2 void q2p2_half(int nb, const uint8_t *pg, int hh, const uint8_t *a, size_t as,
                                                                      const int nt, float *y, size_t ys) {
    __m256 sum[4];
    for (int t = 0; t < nt; t++) sum[t] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * Q2P_BLOCK;
        if (hh == 0) pk_prefetch_ahead(gb, Q2P_BLOCK);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m256i isum[4], msum[4];
        for (int t = 0; t < nt; t++) { isum[t] = _mm256_setzero_si256(); msum[t] = _mm256_setzero_si256(); }
        for (int k = 0; k < 8; k++) {
            const uint8_t *step = gb + Q2P_STEP * k;
            __m256i sc[2], mins;
            q2p2_scales(step, hh, sc, &mins);
            for (int t = 0; t < nt; t++) q2p2_step(step, hh, sc, mins, ab[t], k, &isum[t], &msum[t]);
        }
        for (int t = 0; t < nt; t++) sum[t] = q2p2_finish(sum[t], gb, hh, ab[t], isum[t], msum[t]);
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(y + (size_t)t * ys, sum[t]);
}

// One activation row against a whole group, both halves of each 64-byte line in the same pass
static Q2P_AVX2 void q2p2_whole(int nb, const uint8_t *pg, const uint8_t *a, float *y) {
    __m256 sum[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * Q2P_BLOCK;
        pk_prefetch_ahead(gb, Q2P_BLOCK);
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_K;
        __m256i isum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, msum[2] = {isum[0], isum[0]};
        for (int k = 0; k < 8; k++) {
            const uint8_t *step = gb + Q2P_STEP * k;
            for (int hh = 0; hh < 2; hh++) {
                __m256i sc[2], mins;
                q2p2_scales(step, hh, sc, &mins);
                q2p2_step(step, hh, sc, mins, ab, k, &isum[hh], &msum[hh]);
            }
        }
        for (int hh = 0; hh < 2; hh++) sum[hh] = q2p2_finish(sum[hh], gb, hh, ab, isum[hh], msum[hh]);
    }
    for (int hh = 0; hh < 2; hh++) _mm256_storeu_ps(y + 8 * hh, sum[hh]);
}

PK2_GROUP(q2p2_group, Q2P_AVX2, q2p2_whole, q2p2_half)

void pk_q2k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(q2p2_group, (size_t)blocks * Q2P_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q2k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q2k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
#endif
