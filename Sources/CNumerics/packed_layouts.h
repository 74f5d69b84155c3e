// Byte layouts of the packed weight copies (one 16-row group per block or super-block), shared
// by their kernels (packed_q4k.c, packed_q0.c, packed_q6k.c) and their public entry points
// (packed.c), plus the per-format functions packed.c dispatches to.
#ifndef CN_PACKED_LAYOUTS_H
#define CN_PACKED_LAYOUTS_H
#include <stddef.h>
#include <stdint.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { PK_ROWS = 16 };

// Q4_K, per super-block of a group: d and dmin, then per pair of sub-blocks its scales, mins and
// nibbles, in the order a kernel reads them (one stream; the scales after all the nibbles were a
// miss the prefetcher had not reached)
enum {
    PK_D = 0,         // [row r]: d as f16
    PK_DMIN = 32,     // [row r]: dmin as f16
    PK_PAIRS = 64,    // [pair p < 4] of PK_PAIR bytes:
    PK_PAIR = 576,
    PK_PSC = 0,       //   [h < 2][row r]: the 6-bit scale of sub-block 2p + h
    PK_PMN = 32,      //   [row r][2]: the 6-bit mins of sub-blocks 2p and 2p + 1
    PK_PQS = 64,      //   [chunk c < 8][row r < 16][4 bytes]: bytes 32p+4c..+3 of row r's nibbles
    PK_BLOCK = 2368   // bytes per super-block of a group
};
#define PK_QS_AT(p, c) (PK_PAIRS + (p) * PK_PAIR + PK_PQS + (c) * 64)
#define PK_SC_AT(j) (PK_PAIRS + ((j) / 2) * PK_PAIR + PK_PSC + ((j) % 2) * PK_ROWS)
#define PK_MN_AT(k) (PK_PAIRS + (k) * PK_PAIR + PK_PMN)

// Q5_K, per super-block of a group: Q4_K's layout with each pair's fifth bits in bit slices between
// its mins and its nibbles (slices 512 bytes away from their nibbles measured 18 vs 28 GB/s)
enum {
    K5_PAIR = 704,    // [pair p < 4] at PK_PAIRS, each PK_PSC, PK_PMN as Q4_K's, then:
    K5_PQH = 64,      //   [h < 2][row r][4 bytes]: bit c of byte 4r + k = fifth bit of the element whose
                      //   nibble is chunk c's (row r, byte k) low (h = 0) or high (h = 1) half
    K5_PQS = 192,     //   as PK_PQS
    K5_BLOCK = 2880
};

// IQ4_XS, per super-block of a group
enum {
    I4_QS = 0,      // [sub-block j < 8][c < 4][row r][4 bytes]: nibble bytes 4c..4c+3 of sub-block j (low: elements
                    // 32j + 4c.., high: 32j + 16 + 4c..)
    I4_SC = 2048,   // [j][row r]: the scale minus 32, as int8
    I4_D = 2176,    // [row r]: d as f16
    I4_BLOCK = 2208
};

// Q3_K, per super-block of a group (packed_q3k.c): combo i = 4j + c is elements 16j + 4c … + 3.
// Eight steps of two sub-blocks, each step's bytes together so the kernel reads one stream.
enum {
    Q3P_STEP = 224,   // [h < 8] of:
    Q3P_HIGH = 0,     //   [row r][4 bytes]: bit i − 8h = the high bit of combo i's element k (sub-blocks 2h, 2h + 1)
    Q3P_LOW = 64,     //   [jj < 2][row r][4 bytes]: bits 2c, 2c + 1 = the two low bits of combo (2h + jj, c)'s element k
    Q3P_SC = 192,     //   [jj < 2][row r]: sub-block 2h + jj's scale minus 32, as int8
    Q3P_D = 1792,     // [row r]: d as f16
    Q3P_BLOCK = 1824
};

// Q2_K, per super-block of a group (packed_q2k.c): combo (j, c) is elements 16j + 4c … + 3.
// Eight steps of two sub-blocks, each step's bytes together so the kernel reads one stream.
enum {
    Q2P_STEP = 160,   // [k < 8] of:
    Q2P_SM = 0,       //   [row r][2]: the stored scale-and-min bytes of sub-blocks 2k and 2k + 1
    Q2P_LOW = 32,     //   [h < 2][row r][4 bytes]: bits 2c, 2c + 1 = the 2-bit value of combo (2k + h, c)'s element k
    Q2P_D = 1280,     // [row r]: d as f16
    Q2P_DMIN = 1312,  // [row r]: dmin as f16
    Q2P_BLOCK = 1344
};

// Q5_0, per 32-element block of a group
enum {
    P5_QS = 0,     // [c < 4][row r][4 bytes]: nibble bytes 4c..4c+3 (low: elements 4c.., high: 16 + 4c..)
    P5_QH = 256,   // [half h < 2][32 bytes]: bit j of byte 4r + k = fifth bit of row 8h + r's element 4j + k
                   // ("bit slices": lane j's bits are one shift away for 8 rows)
    P5_D = 320,    // [row r]: d as f16
    P5_BLOCK = 352 // bytes per 32-element block of a group
};

// Q4_0, per 32-element block of a group: the stored bytes, rows interleaved
enum {
    P4_QS = 0,     // [c < 4][row r][4 bytes]: nibble bytes 4c..4c+3 (low: elements 4c.., high: 16 + 4c..)
    P4_D = 256,    // [row r]: d as f16
    P4_BLOCK = 288 // 256 + 16 · the scale's bytes (packed_q0.c packs Q4_0 and MXFP4 alike)
};

// MXFP4, per 32-element block of a group: Q4_0's nibbles, then the E8M0 scale bytes
enum {
    PM_QS = 0,     // as P4_QS
    PM_E = 256,    // [row r]: the E8M0 scale (as P4_D, one byte)
    PM_BLOCK = 272
};

// Q8_0, per 32-element block of a group
enum {
    P8_QS = 0,     // [lane j < 8][row r][4 bytes]: q + 128 of elements 4j..4j+3
    P8_D = 512,    // [row r]: d as f16
    P8_BLOCK = 544
};

// Q6_K, per super-block of a group (packed_q6k.c): the stored bits rearranged, no bigger. Lane m
// of the row kernel's eight (elements 32k + 4m … + 3 for k < 8) runs through half h = m / 4;
// the fourth value of each step is spread over the top bits of the other three. d and the
// scales come first, so a kernel reads the super-block front to back (at the end they were a
// jump ahead of the prefetcher: 0.6–1.1× the stored row kernel's rate from memory, 1.0–1.2× here).
enum {
    P6_D = 0,         // [row r]: d as f16
    P6_SC = 32,       // [k < 8][row r][2]: the int8 scales s_2k, s_2k+1
    P6_STEPS = 288,   // [h < 2][k < 8] of P6_STEP bytes:
    P6_STEP = 192,    //   [v < 3][row r][4 bytes]: byte i = u (0–63) of element 32k + 4(4h + v) + i, its
                      //   bits 6–7 bits 2v, 2v + 1 of u of element 32k + 4(4h + 3) + i
    P6_BLOCK = 3360   // bytes per super-block of a group (16 stored super-blocks)
};

// Bytes ahead of its read position that a packed kernel asks the core to fetch into L1 (0: it
// leaves that to the hardware prefetcher): chosen per CPU when the library loads (prefetch.c), or
// by a model's load measuring both (cn_set_prefetch_distance) — read atomically for that reason
// (a relaxed load is a plain move on x86).
extern int cn_prefetch_ahead;
static inline __attribute__((always_inline)) int pk_prefetch_distance(void) {
    return __atomic_load_n(&cn_prefetch_ahead, __ATOMIC_RELAXED);
}

// The lines `bytes` long that start cn_prefetch_ahead bytes after p, prefetched: called once per
// block a kernel reads, so the prefetches run that far ahead of the loads in one steady stream.
// The address is formed as an integer: it may lie past the end of the weights, which a prefetch
// never faults on.
static inline __attribute__((always_inline)) void pk_prefetch_ahead(const uint8_t *p, const int bytes) {
#if defined(__x86_64__)
    const int ahead = pk_prefetch_distance();
    if (ahead > 0)
        for (int o = 0; o < bytes; o += 64) _mm_prefetch((const char *)((uintptr_t)p + (uintptr_t)(ahead + o)), _MM_HINT_T0);
#else
    (void)p;
    (void)bytes;
#endif
}

// A kernel's product of one group (16 rows) with nt ≤ 4 activation rows: y[t·ys + r]
typedef void (*pk_tile_fn)(int blocks, const uint8_t *group, const uint8_t *a, size_t as, int nt, float *y, size_t ys);
// `groups` groups (gbytes each) against `tokens` activation rows, four at a time (packed.c): for
// prompts in chunks of groups that stay in L2 while every token tile passes over them
void pk_run_tiles(pk_tile_fn tile, size_t gbytes, int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as,
                  int tokens, float *y, size_t ys);
// Defines NAME(blocks, group, a, as, nt, y, ys) calling TILE(blocks, group, a, as, NT, y, ys, EXTRA...) with NT a
// constant 1 … 4, so each instance keeps its accumulators in registers (TARGET: the instruction sets)
#define PK_TILE_ANY(NAME, TARGET, TILE, ...)                                                               \
    static TARGET void NAME(int nb, const uint8_t *pg, const uint8_t *a, size_t as, int nt, float *y, size_t ys) { \
        switch (nt) {                                                                                       \
        case 1: TILE(nb, pg, a, as, 1, y, ys __VA_OPT__(,) __VA_ARGS__); break;                             \
        case 2: TILE(nb, pg, a, as, 2, y, ys __VA_OPT__(,) __VA_ARGS__); break;                             \
        case 3: TILE(nb, pg, a, as, 3, y, ys __VA_OPT__(,) __VA_ARGS__); break;                             \
        default: TILE(nb, pg, a, as, 4, y, ys __VA_OPT__(,) __VA_ARGS__); break;                            \
        }                                                                                                   \
    }

// Defines NAME(blocks, group, a, as, nt, y, ys) for the AVX2 kernels: one activation row through
// WHOLE(blocks, group, a, y, EXTRA...) (both halves of each line in one pass), more through
// HALF(blocks, group, h, a, as, NT, y + 8h, ys, EXTRA...) for each half h with NT a constant 2 … 4
#define PK2_GROUP(NAME, TARGET, WHOLE, HALF, ...)                                                          \
    static TARGET void NAME(int nb, const uint8_t *pg, const uint8_t *a, size_t as, int nt, float *y, size_t ys) { \
        if (nt == 1) {                                                                                      \
            WHOLE(nb, pg, a, y __VA_OPT__(,) __VA_ARGS__);                                                  \
            return;                                                                                         \
        }                                                                                                   \
        for (int h = 0; h < 2; h++) {                                                                       \
            switch (nt) {                                                                                   \
            case 2: HALF(nb, pg, h, a, as, 2, y + 8 * h, ys __VA_OPT__(,) __VA_ARGS__); break;              \
            case 3: HALF(nb, pg, h, a, as, 3, y + 8 * h, ys __VA_OPT__(,) __VA_ARGS__); break;              \
            default: HALF(nb, pg, h, a, as, 4, y + 8 * h, ys __VA_OPT__(,) __VA_ARGS__); break;             \
            }                                                                                               \
        }                                                                                                   \
    }

#if defined(__x86_64__)
#include <string.h>
// The 8 signed bytes at p (one per row) as int16 pairs (s, s) in 32-bit lanes: the scale operand
// of the AVX2 kernels' madd, which widens a lane's two pair sums and scales them in one step
static inline __attribute__((target("avx2"))) __m256i pk2_signed_scale_pairs(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    const __m256i s = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(v));
    return _mm256_or_si256(_mm256_and_si256(s, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(s, 16));
}

// sum + (d_a·d)·total for 8 rows, unfused as the row kernels finish a super-block: d_a the f32 at the
// head of the Q8_K block ab, d the rows' f16 scales at d16, total their exact integers
static inline __attribute__((target("avx2,f16c"))) __m256 pk2_add_scaled(__m256 sum, const uint8_t *d16, const uint8_t *ab, __m256i total) {
    float da;
    memcpy(&da, ab, 4);
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)d16));
    return _mm256_add_ps(sum, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(da), d), _mm256_cvtepi32_ps(total)));
}
#endif

// Per format: copy `rows` (a multiple of 16) stored rows into groups; multiply `groups` groups
// with `tokens` activation rows (AVX-512 VNNI, and AVX2 in the *_avx2 variants; see each file for the order kept)
void pk_q4k_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q5k_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_iq4xs_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q3k_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q2k_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q2k_stored_row(const uint8_t *group, int blocks, int lane, uint8_t *out);
void pk_q6k_stored_row(const uint8_t *group, int blocks, int lane, uint8_t *out);
void pk_q3k_stored_row(const uint8_t *group, int blocks, int lane, uint8_t *out);
void pk_q5_0_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q8_0_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q4_0_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_mxfp4_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q6k_pack(const uint8_t *w, size_t ws, int rows, int blocks, uint8_t *out);
void pk_q4k_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// Q5_K in Q4_K's order (invariant numerics' and llama.cpp's for fewer than 8 rows); AVX-512 VNNI and AVX2 (_avx2)
void pk_q5k_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// IQ4_XS in its row kernel's order (its only one), any number of tokens; AVX-512 VNNI and AVX2
void pk_iq4xs_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_iq4xs_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// Q3_K in its row kernel's order (its only one), any number of tokens; AVX-512 VNNI and AVX2
void pk_q3k_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q3k_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// Q2_K in its row kernel's order (its only one), any number of tokens; AVX-512 VNNI and AVX2
void pk_q2k_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q2k_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q8_0_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// Q4_0 in the eight-lane order (its only order), one to four tokens; AVX-512 VNNI and AVX2
void pk_q4_0_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q4_0_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// MXFP4 in the eight-lane order (its only order), any number of tokens; AVX-512 VNNI and AVX2
void pk_mxfp4_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_mxfp4_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// Q5_0 in invariant numerics' block-total order, any number of tokens
void pk_q5_0_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
// Q8_0 when q8, else Q5_0 in the order `order` names (CN_ORDER_Q0_LANES or not; every token's)
void pk_q0_matmul_avx2(int q8, int order, int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens,
                       float *y, size_t ys);
void pk_q4k_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q5k_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q6k_matmul(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);
void pk_q6k_matmul_avx2(int blocks, const uint8_t *packed, int groups, const uint8_t *a, size_t as, int tokens, float *y, size_t ys);

#endif
