// Q6_K weights repacked at load time for prompts: groups of 16 rows with every weight already
// multiplied by its sub-block scale (int16), and their AVX-512 product for many activation rows.
//
// Why: the blocked Q6_K prompt kernel (kernels_body.inc, kq_blocked) spends as many instructions
// on its per-(row, token) epilogue as on the dot products (~113 GMAC/s with 2 threads). Here a
// 32-bit lane holds one row and two elements, so 16 rows go through each dpwssd and a lane
// accumulates its row's sum with no horizontal step.
//
// The order is the row kernel's (q6_K_impl without a mode bit): per super-block, eight integer
// lanes per row, lane m = Σ_k s·u·q_a over elements 32k + 4m … 32k + 4m + 3 (s the scale of
// their 16-element sub-block) − 32·(s_2m·bsum_2m + s_2m+1·bsum_2m+1); lane accumulator m =
// fma(lane m, d_a·d, accumulator m); at the end the lanes' tree (m + m+4, then + m+2, then
// + m+1). Lane m of 16 rows is one vector here, so the bits are the same (PackedWeightsTests).
// The copy is 2.4 times the stored size, so decode keeps the stored rows (memory-bound there).
#include "cnumerics.h"
#include "packed_layouts.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Element e (< 256) of a stored Q6_K super-block as u = q + 32 ∈ [0, 63]. Each half of 128
// elements has 64 bytes of nibbles and 32 bytes of high bit pairs; element 32k + l of the half
// (k < 4, l < 32) takes bits 2k, 2k+1 of the pair byte l.
static int p6_u(const uint8_t *wb, int e) {
    const int half = e / 128, k = e % 128 / 32, l = e % 32;
    const uint8_t *ql = wb + 64 * half, *qh = wb + 128 + 32 * half;
    // k = 0: low nibble of byte l; 1: low nibble of byte 32 + l; 2: high nibble of l; 3: high of 32 + l
    const uint8_t byte = ql[l + 32 * (k % 2)];
    const int nibble = k < 2 ? byte & 0xF : byte >> 4;
    return nibble | ((qh[l] >> (2 * k)) & 3) << 4;
}

void pk_q6k_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * P6_BLOCK;
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q6_K;
                const int8_t *sc = (const int8_t *)(wb + 192);
                for (int m = 0; m < 8; m++) {
                    for (int k = 0; k < 8; k++) {
                        for (int p = 0; p < 2; p++) {
                            int16_t pair[2];
                            for (int x = 0; x < 2; x++) {
                                const int e = 32 * k + 4 * m + 2 * p + x;
                                pair[x] = (int16_t)(p6_u(wb, e) * sc[e / 16]);
                            }
                            memcpy(o + P6_W + ((((size_t)m * 8 + k) * 2 + p) * PK_ROWS + r) * 4, pair, 4);
                        }
                    }
                    const int16_t scales[2] = {sc[2 * m], sc[2 * m + 1]};
                    memcpy(o + P6_SC + ((size_t)m * PK_ROWS + r) * 4, scales, 4);
                }
                memcpy(o + P6_D + 2 * r, wb + 208, 2);
            }
        }
    }
}

#if defined(__x86_64__)
#define P6_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define P6_T 4

static inline P6_TARGET int32_t p6_load32(const int16_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// One group of 16 rows against nt ≤ 4 activation rows over nb super-blocks: y[t·ys + r].
// a16: the tokens' activations widened to int16 (nb·256 each, `a16s` apart); a: their Q8_K rows.
static inline __attribute__((always_inline)) P6_TARGET void p6_tile(int nb, const uint8_t *pg, const int16_t *a16, size_t a16s,
                                                                    const uint8_t *a, size_t as, const int nt, float *y, size_t ys) {
    __m512 acc[P6_T][8];
    for (int t = 0; t < nt; t++)
        for (int m = 0; m < 8; m++) acc[t][m] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P6_BLOCK;
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + P6_D)));
        __m512 scale[P6_T];
        int16_t bs[P6_T][16];
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
            float da;
            memcpy(&da, ab, 4);
            scale[t] = _mm512_mul_ps(_mm512_set1_ps(da), d);
            memcpy(bs[t], ab + 260, 32);
        }
        for (int m = 0; m < 8; m++) {
            __m512i l[P6_T];
            for (int t = 0; t < nt; t++) l[t] = _mm512_setzero_si512();
            const uint8_t *wm = gb + P6_W + (size_t)m * 8 * 2 * 64;
            for (int k = 0; k < 8; k++) {
                for (int p = 0; p < 2; p++) {
                    const __m512i wv = _mm512_loadu_si512((const void *)(wm + (size_t)(k * 2 + p) * 64));
                    for (int t = 0; t < nt; t++) {
                        const int16_t *q = a16 + (size_t)t * a16s + (size_t)b * 256 + 32 * k + 4 * m + 2 * p;
                        l[t] = _mm512_dpwssd_epi32(l[t], wv, _mm512_set1_epi32(p6_load32(q)));
                    }
                }
            }
            const __m512i sc = _mm512_loadu_si512((const void *)(gb + P6_SC + (size_t)m * 64));
            for (int t = 0; t < nt; t++) {
                const uint32_t pair = (uint16_t)bs[t][2 * m] | (uint32_t)(uint16_t)bs[t][2 * m + 1] << 16;
                const __m512i corr = _mm512_slli_epi32(_mm512_madd_epi16(sc, _mm512_set1_epi32((int)pair)), 5);
                acc[t][m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(l[t], corr)), scale[t], acc[t][m]);
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const __m512 s0 = _mm512_add_ps(acc[t][0], acc[t][4]), s1 = _mm512_add_ps(acc[t][1], acc[t][5]);
        const __m512 s2 = _mm512_add_ps(acc[t][2], acc[t][6]), s3 = _mm512_add_ps(acc[t][3], acc[t][7]);
        _mm512_storeu_ps(y + (size_t)t * ys, _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)));
    }
}

static P6_TARGET void p6_tile_any(int nb, const uint8_t *pg, const int16_t *a16, size_t a16s, const uint8_t *a, size_t as, int nt,
                                  float *y, size_t ys) {
    switch (nt) {
    case 1: p6_tile(nb, pg, a16, a16s, a, as, 1, y, ys); break;
    case 2: p6_tile(nb, pg, a16, a16s, a, as, 2, y, ys); break;
    case 3: p6_tile(nb, pg, a16, a16s, a, as, 3, y, ys); break;
    default: p6_tile(nb, pg, a16, a16s, a, as, 4, y, ys); break;
    }
}

// Widens nt Q8_K rows of nb super-blocks to int16 (the broadcast operands of dpwssd)
static P6_TARGET void p6_widen(const uint8_t *a, size_t as, int nt, int nb, int16_t *out) {
    for (int t = 0; t < nt; t++)
        for (int b = 0; b < nb; b++) {
            const uint8_t *q = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K + 4;
            int16_t *o = out + ((size_t)t * nb + b) * 256;
            for (int i = 0; i < 256; i += 32)
                _mm512_storeu_si512((void *)(o + i), _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(q + i))));
        }
}

static _Thread_local int16_t *p6_buf;
static _Thread_local size_t p6_cap;


// ---- AVX2 (16 vector registers) ----
// Half a group (8 rows, one per 32-bit lane) per pass, up to four activation rows sharing each
// weight load; madd + add in place of dpwssd (the same exact lanes). The 8 × nt lane accumulators
// outgrow the registers, but each is touched once per sub-block lane (after 16 madds), so the
// compiler's spills cost little.
#define P6_AVX2 __attribute__((target("avx2,fma,f16c")))

static inline P6_AVX2 int32_t p6_load32_avx2(const int16_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

static inline __attribute__((always_inline)) P6_AVX2 void p6_half_avx2(int nb, const uint8_t *pg, int h, const int16_t *a16,
                                                                       size_t a16s, const uint8_t *a, size_t as, const int nt,
                                                                       float *y, size_t ys) {
    __m256 acc[P6_T][8];
    for (int t = 0; t < nt; t++)
        for (int m = 0; m < 8; m++) acc[t][m] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P6_BLOCK;
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P6_D + 16 * h)));
        __m256 scale[P6_T];
        int16_t bs[P6_T][16];
        for (int t = 0; t < nt; t++) {
            const uint8_t *ab = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
            float da;
            memcpy(&da, ab, 4);
            scale[t] = _mm256_mul_ps(_mm256_set1_ps(da), d);
            memcpy(bs[t], ab + 260, 32);
        }
        for (int m = 0; m < 8; m++) {
            __m256i l[P6_T];
            for (int t = 0; t < nt; t++) l[t] = _mm256_setzero_si256();
            const uint8_t *wm = gb + P6_W + (size_t)m * 8 * 2 * 64 + 32 * h;
            for (int k = 0; k < 8; k++) {
                for (int p = 0; p < 2; p++) {
                    const __m256i wv = _mm256_loadu_si256((const __m256i *)(wm + (size_t)(k * 2 + p) * 64));
                    for (int t = 0; t < nt; t++) {
                        const int16_t *q = a16 + (size_t)t * a16s + (size_t)b * 256 + 32 * k + 4 * m + 2 * p;
                        l[t] = _mm256_add_epi32(l[t], _mm256_madd_epi16(wv, _mm256_set1_epi32(p6_load32_avx2(q))));
                    }
                }
            }
            const __m256i sc = _mm256_loadu_si256((const __m256i *)(gb + P6_SC + (size_t)m * 64 + 32 * h));
            for (int t = 0; t < nt; t++) {
                const uint32_t pair = (uint16_t)bs[t][2 * m] | (uint32_t)(uint16_t)bs[t][2 * m + 1] << 16;
                const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(sc, _mm256_set1_epi32((int)pair)), 5);
                acc[t][m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(l[t], corr)), scale[t], acc[t][m]);
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const __m256 s0 = _mm256_add_ps(acc[t][0], acc[t][4]), s1 = _mm256_add_ps(acc[t][1], acc[t][5]);
        const __m256 s2 = _mm256_add_ps(acc[t][2], acc[t][6]), s3 = _mm256_add_ps(acc[t][3], acc[t][7]);
        _mm256_storeu_ps(y + (size_t)t * ys, _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3)));
    }
}

static P6_AVX2 void p6_group_avx2(int nb, const uint8_t *pg, const int16_t *a16, size_t a16s, const uint8_t *a, size_t as, int nt,
                                  float *y, size_t ys) {
    for (int h = 0; h < 2; h++) {
        switch (nt) {
        case 1: p6_half_avx2(nb, pg, h, a16, a16s, a, as, 1, y + 8 * h, ys); break;
        case 2: p6_half_avx2(nb, pg, h, a16, a16s, a, as, 2, y + 8 * h, ys); break;
        case 3: p6_half_avx2(nb, pg, h, a16, a16s, a, as, 3, y + 8 * h, ys); break;
        default: p6_half_avx2(nb, pg, h, a16, a16s, a, as, 4, y + 8 * h, ys); break;
        }
    }
}

static P6_AVX2 void p6_widen_avx2(const uint8_t *a, size_t as, int nt, int nb, int16_t *out) {
    for (int t = 0; t < nt; t++)
        for (int b = 0; b < nb; b++) {
            const uint8_t *q = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K + 4;
            int16_t *o = out + ((size_t)t * nb + b) * 256;
            for (int i = 0; i < 256; i += 16)
                _mm256_storeu_si256((__m256i *)(o + i), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + i))));
        }
}

typedef void (*p6_widen_fn)(const uint8_t *a, size_t as, int nt, int nb, int16_t *out);
typedef void (*p6_tile_fn)(int nb, const uint8_t *pg, const int16_t *a16, size_t a16s, const uint8_t *a, size_t as, int nt,
                           float *y, size_t ys);

// The driver both instruction sets share: activations widened per tile of P6_T rows, groups in
// chunks that stay in L2 while every token tile passes over them.
static void p6_matmul(p6_widen_fn widen, p6_tile_fn tile, int blocks, const uint8_t *p, int groups, const uint8_t *act,
                      size_t as, int tokens, float *y, size_t ys) {
    const size_t need = (size_t)P6_T * blocks * 256;
    if (need > p6_cap) {
        free(p6_buf);
        p6_buf = aligned_alloc(64, need * sizeof(int16_t));
        p6_cap = p6_buf ? need : 0;
        if (!p6_buf) return;
    }
    const size_t gbytes = (size_t)blocks * P6_BLOCK;
    const int chunk = (int)(393216 / gbytes) + 1;
    for (int g0 = 0; g0 < groups; g0 += chunk) {
        const int ng = groups - g0 < chunk ? groups - g0 : chunk;
        for (int t0 = 0; t0 < tokens; t0 += P6_T) {
            const int nt = tokens - t0 < P6_T ? tokens - t0 : P6_T;
            widen(act + (size_t)t0 * as, as, nt, blocks, p6_buf);
            for (int g = g0; g < g0 + ng; g++)
                tile(blocks, p + (size_t)g * gbytes, p6_buf, (size_t)blocks * 256, act + (size_t)t0 * as, as, nt,
                     y + (size_t)t0 * ys + (size_t)g * PK_ROWS, ys);
        }
    }
}

void pk_q6k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p6_matmul(p6_widen, p6_tile_any, blocks, p, groups, act, as, tokens, y, ys);
}

void pk_q6k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    p6_matmul(p6_widen_avx2, p6_group_avx2, blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q6k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q6k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
#endif
