// Q4_K weights repacked at load time into groups of 16 rows, and their AVX-512 VNNI and AVX2 products;
// Q5_K's in the same layout plus bit slices of the fifth bits.
//
// Why: the row-at-a-time Q4_K kernel needs a horizontal sum per (row, super-block, token) and
// decodes at ~half the machine's read bandwidth. With 16 rows interleaved four bytes at a time,
// one 512-bit dpbusd multiplies four elements of all 16 rows by one broadcast activation group,
// each row stays in its own lane from the first element to the last, and a prompt tile reuses
// every unpacked weight vector for four tokens.
//
// Every output keeps the invariant Q4_K order of the row kernels (kernels_body.inc, q4_K_impl
// without a mode bit): per super-block the exact integers isum = Σ_j sc_j·Σ q·q_a and
// msum = Σ_j m_j·Σ q_a are formed, then sum = fma(isum, d·d_a, sum) and
// sumb = fma(msum, dmin·d_a, sumb), and the result is sum − sumb. So packed and unpacked
// products give identical bits (PackedWeightsTests checks it). Q5_K's row kernel (q5_K_impl)
// keeps the same two chains in invariant numerics, with u = nibble + 16·fifth bit ≤ 31 in place
// of the nibble (its integers stay far inside 32 bits: |isum| < 2^26).
#include "cnumerics.h"
#include "packed_layouts.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void pk_scale_min(const uint8_t *s, int j, uint8_t *sc, uint8_t *m) {
    if (j < 4) { *sc = s[j] & 63; *m = s[j + 4] & 63; }
    else { *sc = (uint8_t)((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4)); *m = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4)); }
}

// Q4_K (q5 = 0) or Q5_K (q5 = 1): the same fields in the same places, Q5_K's pairs also holding
// the fifth-bit slices before their nibbles
static void pk_k45_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst, const int q5) {
    const size_t block = q5 ? K5_BLOCK : PK_BLOCK, in = q5 ? CN_BYTES_Q5_K : CN_BYTES_Q4_K;
    const int pair = q5 ? K5_PAIR : PK_PAIR, nibbles = q5 ? K5_PQS : PK_PQS;
    for (int g = 0; g < rows / PK_ROWS; g++) {
        for (int b = 0; b < blocks; b++) {
            uint8_t *o = dst + ((size_t)g * blocks + b) * block;
            if (q5)
                for (int p = 0; p < 4; p++) memset(o + PK_PAIRS + pair * p + K5_PQH, 0, 128);
            for (int r = 0; r < PK_ROWS; r++) {
                const uint8_t *wb = src + (size_t)(g * PK_ROWS + r) * ws + (size_t)b * in;
                const uint8_t *qh = wb + 16, *qs = wb + (q5 ? 48 : 16);
                for (int p = 0; p < 4; p++) {
                    uint8_t *pp = o + PK_PAIRS + pair * p;
                    for (int c = 0; c < 8; c++) {
                        memcpy(pp + nibbles + c * 64 + r * 4, qs + 32 * p + 4 * c, 4);
                        if (!q5) continue;
                        for (int k = 0; k < 4; k++)
                            for (int h = 0; h < 2; h++)
                                pp[K5_PQH + h * 64 + r * 4 + k] |= (uint8_t)(((qh[4 * c + k] >> (2 * p + h)) & 1) << c);
                    }
                }
                for (int j = 0; j < 8; j++) {
                    uint8_t sc, m;
                    pk_scale_min(wb + 4, j, &sc, &m);
                    o[PK_PAIRS + pair * (j / 2) + PK_PSC + (j % 2) * PK_ROWS + r] = sc;
                    o[PK_PAIRS + pair * (j / 2) + PK_PMN + r * 2 + (j % 2)] = m;
                }
                memcpy(o + PK_D + 2 * r, wb, 2);
                memcpy(o + PK_DMIN + 2 * r, wb + 2, 2);
            }
        }
    }
}

void pk_q4k_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) { pk_k45_pack(src, ws, rows, blocks, dst, 0); }

void pk_q5k_pack(const uint8_t *src, size_t ws, int rows, int blocks, uint8_t *dst) { pk_k45_pack(src, ws, rows, blocks, dst, 1); }

#if defined(__x86_64__)
#define PK_TARGET __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

static inline PK_TARGET int32_t pk_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// Chunk c's fifth bits (bit c of each byte of the slices s) at bit 4 of each byte, nothing else:
// a 16-bit shift by at most 4 keeps every byte's bit 4 within it.
static inline __attribute__((always_inline)) PK_TARGET __m512i k5_fifths(__m512i s, const int c) {
    const __m512i bit4 = _mm512_set1_epi8(0x10);
    if (c < 4) return _mm512_and_si512(_mm512_slli_epi16(s, 4 - c), bit4);
    if (c == 4) return _mm512_and_si512(s, bit4);
    return _mm512_and_si512(_mm512_srli_epi16(s, c - 4), bit4);
}

// One group of 16 rows (Q4_K, or Q5_K when q5) against `nt` ≤ 4 activation rows (Q8_K) over `nb`
// super-blocks: y[t·ys + r] for r < 16. Inlined per nt so the accumulators stay in registers.
static inline __attribute__((always_inline)) PK_TARGET void pk_tile(int nb, const uint8_t *pg, const uint8_t *a, size_t as,
                                                                    const int nt, float *y, size_t ys, const int q5) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const size_t block = q5 ? K5_BLOCK : PK_BLOCK, pair = q5 ? K5_PAIR : PK_PAIR;
    __m512 sum[4], sumb[4];
    for (int t = 0; t < nt; t++) { sum[t] = _mm512_setzero_ps(); sumb[t] = _mm512_setzero_ps(); }
    const int prefetching = pk_prefetch_distance() != 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * block;
        const uint8_t *ab[4];
        // On a CPU that prefetches (pk_prefetch_distance, prefetch.c) the next super-block is asked for
        // pair by pair as this one's pairs are read, as the AVX2 kernels do, instead of at the set
        // distance in one burst per block: Qwen3-30B-A3B shape, Intel Emerald Rapids, alternating,
        // 89–90% of the bandwidth bound against 83% (each expert matrix is a short stream).
        if (prefetching) _mm_prefetch((const char *)(gb + block), _MM_HINT_T0);
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m512i isum[4], msum[4];
        for (int t = 0; t < nt; t++) { isum[t] = _mm512_setzero_si512(); msum[t] = _mm512_setzero_si512(); }
        for (int p = 0; p < 4; p++) {
            __m512i plo[4], phi[4];
            for (int t = 0; t < nt; t++) { plo[t] = _mm512_setzero_si512(); phi[t] = _mm512_setzero_si512(); }
            const uint8_t *pp = gb + PK_PAIRS + pair * p;
            if (prefetching)
                for (int o = 0; o < (int)pair; o += 64) _mm_prefetch((const char *)(pp + block + o), _MM_HINT_T0);
            const __m512i flo = q5 ? _mm512_loadu_si512((const void *)(pp + K5_PQH)) : _mm512_setzero_si512();
            const __m512i fhi = q5 ? _mm512_loadu_si512((const void *)(pp + K5_PQH + 64)) : _mm512_setzero_si512();
            const uint8_t *nib = pp + (q5 ? K5_PQS : PK_PQS);
            for (int c = 0; c < 8; c++) {
                const __m512i v = _mm512_loadu_si512((const void *)(nib + c * 64));
                __m512i lo, hi;
                if (q5) {  // nibble | fifth bit: ternary logic 0xE4 takes bits 0–3 from v, the rest from the bits
                    lo = _mm512_ternarylogic_epi32(v, k5_fifths(flo, c), m4, 0xE4);
                    hi = _mm512_ternarylogic_epi32(_mm512_srli_epi16(v, 4), k5_fifths(fhi, c), m4, 0xE4);
                } else {
                    lo = _mm512_and_si512(v, m4);
                    hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                }
                for (int t = 0; t < nt; t++) {
                    const uint8_t *q = ab[t] + 4 + 64 * p + 4 * c;
                    plo[t] = _mm512_dpbusd_epi32(plo[t], lo, _mm512_set1_epi32(pk_load32(q)));
                    phi[t] = _mm512_dpbusd_epi32(phi[t], hi, _mm512_set1_epi32(pk_load32(q + 32)));
                }
            }
            const __m512i slo = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(pp + PK_PSC)));
            const __m512i shi = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(pp + PK_PSC + PK_ROWS)));
            for (int t = 0; t < nt; t++)
                isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(plo[t], slo), _mm512_mullo_epi32(phi[t], shi)));
        }
        for (int k = 0; k < 4; k++) {
            const __m512i mv = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(gb + PK_PAIRS + pair * k + PK_PMN)));
            for (int t = 0; t < nt; t++) {
                int16_t bs[4];
                memcpy(bs, ab[t] + 260 + 8 * k, 8);
                const uint32_t pair = (uint16_t)(int16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(int16_t)(bs[2] + bs[3]) << 16;
                msum[t] = _mm512_add_epi32(msum[t], _mm512_madd_epi16(mv, _mm512_set1_epi32((int)pair)));
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + PK_D)));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + PK_DMIN)));
        for (int t = 0; t < nt; t++) {
            float dav;
            memcpy(&dav, ab[t], 4);
            const __m512 da = _mm512_set1_ps(dav);
            sum[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(d, da), sum[t]);
            sumb[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(msum[t]), _mm512_mul_ps(dmin, da), sumb[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm512_storeu_ps(y + (size_t)t * ys, _mm512_sub_ps(sum[t], sumb[t]));
}

PK_TILE_ANY(pk_tile_any, PK_TARGET, pk_tile, 0)
PK_TILE_ANY(k5_tile_any, PK_TARGET, pk_tile, 1)

void pk_q4k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(pk_tile_any, (size_t)blocks * PK_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

void pk_q5k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(k5_tile_any, (size_t)blocks * K5_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

// ---- AVX2 (no VNNI, 16 vector registers) ----
// Half a group (8 rows, one per 32-bit lane) per pass, up to four activation rows. maddubs gives
// exact 16-bit pair sums (nibbles ≤ 15, Q8_K activations ≥ −128: |pair| ≤ 3840), and eight of
// them still fit 16 bits (30720), so a sub-block's products stay in int16 lanes until one madd
// with the row's scale widens them: the same exact isum and msum, the same float steps. Q5_K's
// values reach 31 (|pair| ≤ 7936), so only four chunks add up in 16 bits (31744): each half of a
// sub-block is widened by its own madd, and the exact sum is the same.
#define PK_AVX2 __attribute__((target("avx2,fma,f16c")))

static inline PK_AVX2 int32_t pk2_load32(const uint8_t *p) { int32_t v; memcpy(&v, p, 4); return v; }

// The 8 bytes at p (one per row) as int16 pairs (s, s) in 32-bit lanes: madd's scale operand
static inline PK_AVX2 __m256i pk2_scale_pairs(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    const __m256i s = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(v));
    return _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
}

// Byte offsets in a Q4_K (q5 = 0) or Q5_K (q5 = 1) super-block of a group: the layouts differ
// only in the pair size and where the nibbles start within a pair
#define K45_BLOCK(q5) ((q5) ? (size_t)K5_BLOCK : (size_t)PK_BLOCK)
#define K45_QS_AT(q5, p, c) (PK_PAIRS + (p) * ((q5) ? K5_PAIR : PK_PAIR) + ((q5) ? K5_PQS : PK_PQS) + (c) * 64)
#define K45_QH_AT(p, h) (PK_PAIRS + (p) * K5_PAIR + K5_PQH + (h) * 64)
#define K45_SC_AT(q5, j) (PK_PAIRS + ((j) / 2) * ((q5) ? K5_PAIR : PK_PAIR) + PK_PSC + ((j) % 2) * PK_ROWS)
#define K45_MN_AT(q5, k) (PK_PAIRS + (k) * ((q5) ? K5_PAIR : PK_PAIR) + PK_PMN)

// The same quarter of the next super-block's nibbles (the next group's first after the last):
// mixture-of-experts decode reads eight small expert matrices per product, each a new stream
// the hardware prefetcher has to find again. Qwen3-30B-A3B shape, Zen 3, cria bench -p 0 -n 64
// -t 2, alternating: 114–125 vs 97–112 tokens/s (one super-block ahead beat a half and 1.5).
// Q5_K also prefetches the quarter's fifth-bit slices, just before its nibbles. Kept on every CPU,
// in place of the set distance of prefetch.c: on Intel (Emerald Rapids, CRIA_KERNELS=avx2) the
// block 4 KiB ahead instead measured 74–75% of the bandwidth bound on that MoE shape against 81–83%.
static inline void pk2_prefetch_next(const uint8_t *gb, int p, const int q5) {
    const uint8_t *next = gb + K45_BLOCK(q5);
    for (int o = q5 ? -128 : 0; o < 512; o += 64) _mm_prefetch((const char *)(next + K45_QS_AT(q5, p, 0) + o), _MM_HINT_T0);
}

// Chunk c's fifth bits (bit c of each byte of the slices s) at bit 4 of each byte (k5_fifths in 256 bits)
static inline __attribute__((always_inline)) PK_AVX2 __m256i k5_fifths2(__m256i s, const int c) {
    const __m256i bit4 = _mm256_set1_epi8(0x10);
    if (c < 4) return _mm256_and_si256(_mm256_slli_epi16(s, 4 - c), bit4);
    if (c == 4) return _mm256_and_si256(s, bit4);
    return _mm256_and_si256(_mm256_srli_epi16(s, c - 4), bit4);
}

// Chunk c's values of half h (rows 8h..8h+7) of quarter p: the low and high nibbles, with Q5_K's
// fifth bits (slices flo, fhi of the quarter's half) at bit 4
static inline __attribute__((always_inline)) PK_AVX2 void k45_values(const uint8_t *gb, int p, int c, int h, __m256i flo, __m256i fhi,
                                                                      const int q5, __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i v = _mm256_loadu_si256((const __m256i *)(gb + K45_QS_AT(q5, p, c) + 32 * h));
    *lo = _mm256_and_si256(v, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if (q5) {
        *lo = _mm256_or_si256(*lo, k5_fifths2(flo, c));
        *hi = _mm256_or_si256(*hi, k5_fifths2(fhi, c));
    }
}

static inline __attribute__((always_inline)) PK_AVX2 void pk2_half(int nb, const uint8_t *pg, int h, const uint8_t *a, size_t as,
                                                                   const int nt, float *y, size_t ys, const int q5) {
    __m256 sum[4], sumb[4];
    for (int t = 0; t < nt; t++) { sum[t] = _mm256_setzero_ps(); sumb[t] = _mm256_setzero_ps(); }
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * K45_BLOCK(q5);
        const uint8_t *ab[4];
        for (int t = 0; t < nt; t++) ab[t] = a + (size_t)t * as + (size_t)b * CN_BYTES_Q8_K;
        __m256i isum[4];
        for (int t = 0; t < nt; t++) isum[t] = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            if (h == 0) pk2_prefetch_next(gb, p, q5);  // the second half finds the lines in cache
            const __m256i slo = pk2_scale_pairs(gb + K45_SC_AT(q5, 2 * p) + 8 * h);
            const __m256i shi = pk2_scale_pairs(gb + K45_SC_AT(q5, 2 * p + 1) + 8 * h);
            const __m256i flo = q5 ? _mm256_loadu_si256((const __m256i *)(gb + K45_QH_AT(p, 0) + 32 * h)) : _mm256_setzero_si256();
            const __m256i fhi = q5 ? _mm256_loadu_si256((const __m256i *)(gb + K45_QH_AT(p, 1) + 32 * h)) : _mm256_setzero_si256();
            const int run = q5 ? 4 : 8;  // chunks whose pair sums add up in 16 bits
            for (int c0 = 0; c0 < 8; c0 += run) {
                __m256i plo[4], phi[4];
                for (int t = 0; t < nt; t++) { plo[t] = _mm256_setzero_si256(); phi[t] = _mm256_setzero_si256(); }
                for (int c = c0; c < c0 + run; c++) {
                    __m256i lo, hi;
                    k45_values(gb, p, c, h, flo, fhi, q5, &lo, &hi);
                    for (int t = 0; t < nt; t++) {
                        const uint8_t *q = ab[t] + 4 + 64 * p + 4 * c;
                        plo[t] = _mm256_add_epi16(plo[t], _mm256_maddubs_epi16(lo, _mm256_set1_epi32(pk2_load32(q))));
                        phi[t] = _mm256_add_epi16(phi[t], _mm256_maddubs_epi16(hi, _mm256_set1_epi32(pk2_load32(q + 32))));
                    }
                }
                for (int t = 0; t < nt; t++)
                    isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(plo[t], slo), _mm256_madd_epi16(phi[t], shi)));
            }
        }
        __m256i msum[4];
        for (int t = 0; t < nt; t++) msum[t] = _mm256_setzero_si256();
        for (int k = 0; k < 4; k++) {
            const __m256i mv = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(gb + K45_MN_AT(q5, k) + 16 * h)));
            for (int t = 0; t < nt; t++) {
                int16_t bs[4];
                memcpy(bs, ab[t] + 260 + 8 * k, 8);
                const uint32_t pair = (uint16_t)(int16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(int16_t)(bs[2] + bs[3]) << 16;
                msum[t] = _mm256_add_epi32(msum[t], _mm256_madd_epi16(mv, _mm256_set1_epi32((int)pair)));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + PK_D + 16 * h)));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + PK_DMIN + 16 * h)));
        for (int t = 0; t < nt; t++) {
            float dav;
            memcpy(&dav, ab[t], 4);
            const __m256 da = _mm256_set1_ps(dav);
            sum[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(d, da), sum[t]);
            sumb[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum[t]), _mm256_mul_ps(dmin, da), sumb[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(y + (size_t)t * ys, _mm256_sub_ps(sum[t], sumb[t]));
}

// One activation row (decode) against a whole group: both halves of every 64-byte line in the
// same pass, so each line is read from memory once and used whole (the half-group passes above
// read half of each line, then come back for the other half from cache; on large matrices that
// measured ~20 GB/s against ~33 of plain reads).
static inline __attribute__((always_inline)) PK_AVX2 void pk2_whole(int nb, const uint8_t *pg, const uint8_t *a, float *y, const int q5) {
    __m256 sum[2], sumb[2];
    for (int h = 0; h < 2; h++) { sum[h] = _mm256_setzero_ps(); sumb[h] = _mm256_setzero_ps(); }
    for (int b = 0; b < nb; b++) {
        const uint8_t *gb = pg + (size_t)b * K45_BLOCK(q5);
        const uint8_t *ab = a + (size_t)b * CN_BYTES_Q8_K;
        __m256i isum[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
        for (int p = 0; p < 4; p++) {
            pk2_prefetch_next(gb, p, q5);
            __m256i flo[2], fhi[2];
            for (int h = 0; h < 2; h++) {
                flo[h] = q5 ? _mm256_loadu_si256((const __m256i *)(gb + K45_QH_AT(p, 0) + 32 * h)) : _mm256_setzero_si256();
                fhi[h] = q5 ? _mm256_loadu_si256((const __m256i *)(gb + K45_QH_AT(p, 1) + 32 * h)) : _mm256_setzero_si256();
            }
            const int run = q5 ? 4 : 8;  // chunks whose pair sums add up in 16 bits
            for (int c0 = 0; c0 < 8; c0 += run) {
                __m256i plo[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}, phi[2] = {plo[0], plo[0]};
                for (int c = c0; c < c0 + run; c++) {
                    const uint8_t *q = ab + 4 + 64 * p + 4 * c;
                    const __m256i alo = _mm256_set1_epi32(pk2_load32(q)), ahi = _mm256_set1_epi32(pk2_load32(q + 32));
                    for (int h = 0; h < 2; h++) {
                        __m256i lo, hi;
                        k45_values(gb, p, c, h, flo[h], fhi[h], q5, &lo, &hi);
                        plo[h] = _mm256_add_epi16(plo[h], _mm256_maddubs_epi16(lo, alo));
                        phi[h] = _mm256_add_epi16(phi[h], _mm256_maddubs_epi16(hi, ahi));
                    }
                }
                for (int h = 0; h < 2; h++) {
                    const __m256i slo = pk2_scale_pairs(gb + K45_SC_AT(q5, 2 * p) + 8 * h);
                    const __m256i shi = pk2_scale_pairs(gb + K45_SC_AT(q5, 2 * p + 1) + 8 * h);
                    isum[h] = _mm256_add_epi32(isum[h], _mm256_add_epi32(_mm256_madd_epi16(plo[h], slo), _mm256_madd_epi16(phi[h], shi)));
                }
            }
        }
        float dav;
        memcpy(&dav, ab, 4);
        const __m256 da = _mm256_set1_ps(dav);
        for (int h = 0; h < 2; h++) {
            __m256i msum = _mm256_setzero_si256();
            for (int k = 0; k < 4; k++) {
                int16_t bs[4];
                memcpy(bs, ab + 260 + 8 * k, 8);
                const uint32_t pair = (uint16_t)(int16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(int16_t)(bs[2] + bs[3]) << 16;
                const __m256i mv = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(gb + K45_MN_AT(q5, k) + 16 * h)));
                msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mv, _mm256_set1_epi32((int)pair)));
            }
            const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + PK_D + 16 * h)));
            const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(gb + PK_DMIN + 16 * h)));
            sum[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[h]), _mm256_mul_ps(d, da), sum[h]);
            sumb[h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin, da), sumb[h]);
        }
    }
    for (int h = 0; h < 2; h++) _mm256_storeu_ps(y + 8 * h, _mm256_sub_ps(sum[h], sumb[h]));
}

PK2_GROUP(pk2_group_q4k, PK_AVX2, pk2_whole, pk2_half, 0)
PK2_GROUP(pk2_group_q5k, PK_AVX2, pk2_whole, pk2_half, 1)

void pk_q4k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(pk2_group_q4k, (size_t)blocks * PK_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}

void pk_q5k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {
    pk_run_tiles(pk2_group_q5k, (size_t)blocks * K5_BLOCK, blocks, p, groups, act, as, tokens, y, ys);
}
#else
void pk_q4k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q5k_matmul(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q4k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
void pk_q5k_matmul_avx2(int blocks, const uint8_t *p, int groups, const uint8_t *act, size_t as, int tokens, float *y, size_t ys) {}
#endif
