// Q6_K weights repacked at load time into groups of 16 rows (packed_layouts.h, P6_*), and their
// AVX-512 VNNI and AVX2 products for any number of activation rows.
//
// Why: the row kernel (kernels_body.inc, q6_K_impl) unpacks each row's six-bit values and scales
// on its own and ends every super-block with a horizontal step; one thread multiplies ~28 GB/s of
// Q6_K from L2 (Zen 4), below what two threads read from memory on a fast host, so a Q6_K LM head
// or feed-forward matrix ran slower than the packed Q4_K ones around it. Here a 32-bit lane holds
// one row: a 64-byte vector is four elements of 16 rows, three vectors hold four such steps (the
// fourth step's values in the other three's top bits), and one maddubs + dpwssd multiplies 64
// weights by the activations and their sub-block's scales. The copy has the stored size (an
// earlier int16 copy for prompts had 2.4 times it and left decode on the stored rows).
//
// The order is the row kernel's (q6_K_impl without a mode bit; invariant numerics and llama.cpp's
// vec_dot): per super-block, eight integer lanes per row, lane m = Σ_k s·u·q_a over elements
// 32k + 4m … 32k + 4m + 3 (s the scale of their 16-element sub-block 2k + m / 4, u = q + 32) −
// 32·(s_2m·bsum_2m + s_2m+1·bsum_2m+1); lane accumulator m = fma(lane m, d_a·d, accumulator m); at
// the end the lanes' tree (m + m+4, then + m+2, then + m+1). Lane m of 16 rows is one vector here,
// so the integers, and then the bits, are the same (PackedWeightsTests). maddubs' pair sums stay
// within 16 bits (2·63·128 < 2^15).
#include "cnumerics.h"
#include "packed_layouts.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

// The 256 values u = q + 32 ∈ [0, 63] of a stored Q6_K super-block, in element order. Each half
// of 128 elements has 64 bytes of nibbles and 32 bytes of high bit pairs: element 32k + l of the
// half (k < 4, l < 32) is the low (k < 2) or high nibble of byte l + 32·(k % 2), with bits 2k,
// 2k + 1 of pair byte l above it.
static void p6_values(const uint8_t *wb, uint8_t *u) {
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = wb + 64 * half, *qh = wb + 128 + 32 * half;
        uint8_t *o = u + 128 * half;
        for (int l = 0; l < 32; l++) {
            o[l] = (uint8_t)((ql[l] & 0xF) | (qh[l] & 3) << 4);
            o[l + 32] = (uint8_t)((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4);
            o[l + 64] = (uint8_t)((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4);
            o[l + 96] = (uint8_t)((ql[l + 32] >> 4) | (qh[l] >> 6) << 4);
        }
    }
}

// The inverse of p6_values: the nibbles and high bit pairs of a stored super-block from its values
static void p6_store_values(const uint8_t *u, uint8_t *wb) {
    for (int half = 0; half < 2; half++) {
        uint8_t *ql = wb + 64 * half, *qh = wb + 128 + 32 * half;
        const uint8_t *v = u + 128 * half;
        for (int l = 0; l < 32; l++) {
            ql[l] = (uint8_t)((v[l] & 0xF) | (v[l + 64] & 0xF) << 4);
            ql[l + 32] = (uint8_t)((v[l + 32] & 0xF) | (v[l + 96] & 0xF) << 4);
            qh[l] = (uint8_t)((v[l] >> 4) | (v[l + 32] >> 4) << 2 | (v[l + 64] >> 4) << 4 | (v[l + 96] >> 4) << 6);
        }
    }
}

// Byte i of vector v (< 3) of step (h, k) for row r: u of element 32k + 4(4h + v) + i, and in its
// top bits bits 2v, 2v + 1 of u of element 32k + 4(4h + 3) + i
static size_t p6_at(int h, int k, int v, int r, int i) {
    return P6_STEPS + (size_t)(h * 8 + k) * P6_STEP + (size_t)v * 64 + (size_t)r * 4 + (size_t)i;
}

// The byte of row r's scale of sub-block j
static size_t p6_scale_at(int j, int r) { return P6_SC + (size_t)(j / 2) * 32 + (size_t)r * 2 + (size_t)(j % 2); }

void pk_q6k_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) {
    uint8_t u[256];
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * P6_BLOCK;
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * CN_BYTES_Q6_K;
                p6_values(wb, u);
                for (int h = 0; h < 2; h++)
                    for (int k = 0; k < 8; k++)
                        for (int v = 0; v < 3; v++)
                            for (int i = 0; i < 4; i++) {
                                const int e = 32 * k + 4 * (4 * h + v) + i, fourth = 32 * k + 4 * (4 * h + 3) + i;
                                o[p6_at(h, k, v, r, i)] = (uint8_t)(u[e] | ((u[fourth] >> (2 * v)) & 3) << 6);
                            }
                for (int j = 0; j < 16; j++) o[p6_scale_at(j, r)] = wb[192 + j];
                memcpy(o + P6_D + 2 * r, wb + 208, 2);
            }
        }
    }
}

void pk_q6k_stored_row(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    uint8_t u[256];
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * P6_BLOCK;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q6_K;
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 8; k++)
                for (int i = 0; i < 4; i++) {
                    int fourth = 0;
                    for (int v = 0; v < 3; v++) {
                        const uint8_t byte = gb[p6_at(h, k, v, lane, i)];
                        u[32 * k + 4 * (4 * h + v) + i] = byte & 0x3F;
                        fourth |= (byte >> 6) << (2 * v);
                    }
                    u[32 * k + 4 * (4 * h + 3) + i] = (uint8_t)fourth;
                }
        p6_store_values(u, o);
        for (int j = 0; j < 16; j++) o[192 + j] = gb[p6_scale_at(j, lane)];
        memcpy(o + 208, gb + P6_D + 2 * lane, 2);
    }
}

#if defined(__x86_64__)
#define P6_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline P6_TARGET int32_t p6_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// vpshufb control (per 128 bits) that copies the 16-bit half h of every 32-bit lane into both
// halves: the scale pairs (s_2k, s_2k+1) become (s_2k+h, s_2k+h)
static inline __attribute__((target("avx2"))) __m128i p6_dup_half(const int h) {
    const int c = h ? 0x03020302 : 0x01000100;
    return _mm_setr_epi32(c, c + 0x04040404, c + 0x08080808, c + 0x0C0C0C0C);
}

// One group of 16 rows against nt ≤ 4 activation rows over nb super-blocks: y[t·ys + r]. The
// float accumulators of eight lanes per activation row outgrow the registers at nt = 4, but each
// is touched once per super-block.
static inline __attribute__((always_inline)) P6_TARGET void p6_tile(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                    const int nt, float *y, size_t ys) {
    const __m512i m3f = _mm512_set1_epi8(0x3F), m03 = _mm512_set1_epi8(0x03), m0f = _mm512_set1_epi8(0x0F);
    __m512 acc[4][8];
    for (int t = 0; t < nt; t++)
        for (int m = 0; m < 8; m++) acc[t][m] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P6_BLOCK;
        pk_prefetch_ahead(gb, P6_BLOCK);
        const uint8_t *ab[4];
        __m512 scale[4];
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + P6_D)));
        for (int t = 0; t < nt; t++) {
            ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
            float da;
            memcpy(&da, ab[t], 4);
            scale[t] = _mm512_mul_ps(_mm512_set1_ps(da), d);
        }
        for (int h = 0; h < 2; h++) {
            const __m512i dup = _mm512_broadcast_i32x4(p6_dup_half(h));
            __m512i lane[4][4];
            for (int t = 0; t < nt; t++)
                for (int v = 0; v < 4; v++) lane[t][v] = _mm512_setzero_si512();
            for (int k = 0; k < 8; k++) {
                const uint8_t *st = gb + P6_STEPS + (size_t)(h * 8 + k) * P6_STEP;
                const __m512i s = _mm512_shuffle_epi8(_mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(gb + P6_SC + 32 * k))), dup);
                const __m512i b0 = _mm512_loadu_si512((const void *)st), b1 = _mm512_loadu_si512((const void *)(st + 64));
                const __m512i b2 = _mm512_loadu_si512((const void *)(st + 128));
                // the fourth values: bits 0–1 from b0's top, 2–3 from b1's, 4–5 from b2's (ternary
                // logic 0xE4 takes the bits the third operand sets from the first, the rest from the second)
                const __m512i low = _mm512_ternarylogic_epi32(_mm512_srli_epi16(b0, 6), _mm512_srli_epi16(b1, 4), m03, 0xE4);
                const __m512i u[4] = {_mm512_and_si512(b0, m3f), _mm512_and_si512(b1, m3f), _mm512_and_si512(b2, m3f),
                                      _mm512_and_si512(_mm512_ternarylogic_epi32(low, _mm512_srli_epi16(b2, 2), m0f, 0xE4), m3f)};
                for (int v = 0; v < 4; v++)
                    for (int t = 0; t < nt; t++) {
                        const __m512i q = _mm512_set1_epi32(p6_load32(ab[t] + 4 + 32 * k + 4 * (4 * h + v)));
                        lane[t][v] = _mm512_dpwssd_epi32(lane[t][v], _mm512_maddubs_epi16(u[v], q), s);
                    }
            }
            for (int v = 0; v < 4; v++) {
                const int m = 4 * h + v;
                const __m512i pairs = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(gb + P6_SC + 32 * m)));
                for (int t = 0; t < nt; t++) {
                    const __m512i bsums = _mm512_set1_epi32(p6_load32(ab[t] + 260 + 4 * m));
                    const __m512i corr = _mm512_slli_epi32(_mm512_madd_epi16(pairs, bsums), 5);
                    acc[t][m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(lane[t][v], corr)), scale[t], acc[t][m]);
                }
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const __m512 s0 = _mm512_add_ps(acc[t][0], acc[t][4]), s1 = _mm512_add_ps(acc[t][1], acc[t][5]);
        const __m512 s2 = _mm512_add_ps(acc[t][2], acc[t][6]), s3 = _mm512_add_ps(acc[t][3], acc[t][7]);
        _mm512_storeu_ps(y + (size_t)t * ys, _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)));
    }
}

PK_TILE_ANY(p6_tile_any, P6_TARGET, p6_tile)

void pk_q6k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(p6_tile_any, (size_t)blocks * P6_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

// ---- AVX2 (no VNNI, 16 vector registers) ----
// Half a group (8 rows, one per 32-bit lane: the 32-byte halves of each line) per pass for
// several activation rows, both halves in one pass for one; madd + add in place of dpwssd (the
// same exact lanes).
#define P6_AVX2 __attribute__((target("avx2,fma,f16c")))

static inline P6_AVX2 int32_t p6_load32_avx2(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// The fourth values of a step's three vectors (bits 0–1 from b0's top, 2–3 from b1's, 4–5 from b2's)
static inline __attribute__((always_inline)) P6_AVX2 __m256i p6_fourth_avx2(__m256i b0, __m256i b1, __m256i b2) {
    return _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b0, 6), _mm256_set1_epi8(0x03)),
                                           _mm256_and_si256(_mm256_srli_epi16(b1, 4), _mm256_set1_epi8(0x0C))),
                           _mm256_and_si256(_mm256_srli_epi16(b2, 2), _mm256_set1_epi8(0x30)));
}

// Rows 8hh … 8hh + 7 of step (h, k): the four value vectors and the scale operand (s_2k+h, s_2k+h)
static inline __attribute__((always_inline)) P6_AVX2 void p6_step_avx2(const uint8_t *gb, int h, int k, int hh, __m256i dup,
                                                                       __m256i *u, __m256i *s) {
    const __m256i m3f = _mm256_set1_epi8(0x3F);
    const uint8_t *st = gb + P6_STEPS + (size_t)(h * 8 + k) * P6_STEP + 32 * hh;
    *s = _mm256_shuffle_epi8(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(gb + P6_SC + 32 * k + 16 * hh))), dup);
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)st), b1 = _mm256_loadu_si256((const __m256i *)(st + 64));
    const __m256i b2 = _mm256_loadu_si256((const __m256i *)(st + 128));
    u[0] = _mm256_and_si256(b0, m3f);
    u[1] = _mm256_and_si256(b1, m3f);
    u[2] = _mm256_and_si256(b2, m3f);
    u[3] = p6_fourth_avx2(b0, b1, b2);
}

// Lane m of rows 8hh … 8hh + 7 done for a super-block: minus 32·(s_2m·bsum_2m + s_2m+1·bsum_2m+1),
// then into its accumulator with d_a·d (`scale`)
static inline __attribute__((always_inline)) P6_AVX2 __m256 p6_finish_lane_avx2(const uint8_t *gb, int hh, int m, const uint8_t *ab,
                                                                               __m256i lane, __m256 scale, __m256 acc) {
    const __m256i pairs = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(gb + P6_SC + 32 * m + 16 * hh)));
    const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(pairs, _mm256_set1_epi32(p6_load32_avx2(ab + 260 + 4 * m))), 5);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(lane, corr)), scale, acc);
}

// Step (h, k) of rows 8hh … 8hh + 7 against one activation row (Q8_K block ab): into lanes 4h … 4h + 3
static inline __attribute__((always_inline)) P6_AVX2 void p6_add_step_avx2(const __m256i *u, __m256i s, const uint8_t *ab, int h, int k,
                                                                           __m256i *lane) {
    for (int v = 0; v < 4; v++) {
        const __m256i q = _mm256_set1_epi32(p6_load32_avx2(ab + 4 + 32 * k + 4 * (4 * h + v)));
        lane[v] = _mm256_add_epi32(lane[v], _mm256_madd_epi16(_mm256_maddubs_epi16(u[v], q), s));
    }
}

// The row kernel's tree of the eight lane accumulators
static inline __attribute__((always_inline)) P6_AVX2 __m256 p6_tree_avx2(const __m256 *acc) {
    const __m256 s0 = _mm256_add_ps(acc[0], acc[4]), s1 = _mm256_add_ps(acc[1], acc[5]);
    const __m256 s2 = _mm256_add_ps(acc[2], acc[6]), s3 = _mm256_add_ps(acc[3], acc[7]);
    return _mm256_add_ps(_mm256_add_ps(s0, s2), _mm256_add_ps(s1, s3));
}

static inline __attribute__((always_inline)) P6_AVX2 void p6_half_avx2(int nb, const uint8_t *pg, int hh, const uint8_t *a,
                                                                       size_t as, const int nt, float *y, size_t ys) {
    __m256 acc[4][8];
    for (int t = 0; t < nt; t++)
        for (int m = 0; m < 8; m++) acc[t][m] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P6_BLOCK;
        if (hh == 0) pk_prefetch_ahead(gb, P6_BLOCK);
        const uint8_t *ab[4];
        __m256 scale[4];
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P6_D + 16 * hh)));
        for (int t = 0; t < nt; t++) {
            ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
            float da;
            memcpy(&da, ab[t], 4);
            scale[t] = _mm256_mul_ps(_mm256_set1_ps(da), d);
        }
        for (int h = 0; h < 2; h++) {
            const __m256i dup = _mm256_broadcastsi128_si256(p6_dup_half(h));
            __m256i lane[4][4];
            for (int t = 0; t < nt; t++)
                for (int v = 0; v < 4; v++) lane[t][v] = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                __m256i u[4], s;
                p6_step_avx2(gb, h, k, hh, dup, u, &s);
                for (int t = 0; t < nt; t++) p6_add_step_avx2(u, s, ab[t], h, k, lane[t]);
            }
            for (int v = 0; v < 4; v++)
                for (int t = 0; t < nt; t++)
                    acc[t][4 * h + v] = p6_finish_lane_avx2(gb, hh, 4 * h + v, ab[t], lane[t][v], scale[t], acc[t][4 * h + v]);
        }
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(y + (size_t)t * ys, p6_tree_avx2(acc[t]));
}

// One activation row against a whole group, both halves of each line in the same pass: reading
// a group's lines twice (once per half) left memory idle during the second pass (0.7–0.9× the
// stored row kernel's rate from memory, two threads, Zen 4 on the avx2 path)
static P6_AVX2 void p6_whole_avx2(int nb, const uint8_t *pg, const uint8_t *a, float *y) {
    __m256 acc[2][8];
    for (int hh = 0; hh < 2; hh++)
        for (int m = 0; m < 8; m++) acc[hh][m] = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * P6_BLOCK, *ab = a + (size_t)b * CN_BYTES_Q8_K;
        pk_prefetch_ahead(gb, P6_BLOCK);
        float da;
        memcpy(&da, ab, 4);
        __m256 scale[2];
        for (int hh = 0; hh < 2; hh++)
            scale[hh] = _mm256_mul_ps(_mm256_set1_ps(da), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + P6_D + 16 * hh))));
        for (int h = 0; h < 2; h++) {
            const __m256i dup = _mm256_broadcastsi128_si256(p6_dup_half(h));
            __m256i lane[2][4];
            for (int hh = 0; hh < 2; hh++)
                for (int v = 0; v < 4; v++) lane[hh][v] = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                for (int hh = 0; hh < 2; hh++) {
                    __m256i u[4], s;
                    p6_step_avx2(gb, h, k, hh, dup, u, &s);
                    p6_add_step_avx2(u, s, ab, h, k, lane[hh]);
                }
            }
            for (int hh = 0; hh < 2; hh++)
                for (int v = 0; v < 4; v++)
                    acc[hh][4 * h + v] = p6_finish_lane_avx2(gb, hh, 4 * h + v, ab, lane[hh][v], scale[hh], acc[hh][4 * h + v]);
        }
    }
    for (int hh = 0; hh < 2; hh++) _mm256_storeu_ps(y + 8 * hh, p6_tree_avx2(acc[hh]));
}

static P6_AVX2 void p6_group_avx2(int nb, const uint8_t *pg, const uint8_t *a, size_t as, int nt, float *y, size_t ys) {
    if (nt == 1) {
        p6_whole_avx2(nb, pg, a, y);
        return;
    }
    for (int hh = 0; hh < 2; hh++) {
        switch (nt) {
        case 1: p6_half_avx2(nb, pg, hh, a, as, 1, y + 8 * hh, ys); break;
        case 2: p6_half_avx2(nb, pg, hh, a, as, 2, y + 8 * hh, ys); break;
        case 3: p6_half_avx2(nb, pg, hh, a, as, 3, y + 8 * hh, ys); break;
        default: p6_half_avx2(nb, pg, hh, a, as, 4, y + 8 * hh, ys); break;
        }
    }
}

void pk_q6k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(p6_group_avx2, (size_t)blocks * P6_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q6k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q6k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
#endif
