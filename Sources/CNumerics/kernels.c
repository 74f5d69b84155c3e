// Runtime-dispatched CPU kernels. Each instruction-set variant is the same source
// (kernels_body.inc) compiled under a target attribute, so a CPU without AVX-512 never runs
// AVX-512 code and no -march flag is needed for the module.
#include "cnumerics.h"
#include "packed_layouts.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CN_TILE 4

static const int8_t cn_iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
// MXFP4's E2M1 values doubled (its scale is halved to match): Numerics/MXFP4Format.swift
static const int8_t cn_mxfp4_levels[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

#if defined(__x86_64__)
#define SFX avx2
#define CN_VNNI 0
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#include "kernels_body.inc"
#include "kernels_misc.inc"
#pragma clang attribute pop
#undef SFX
#undef CN_VNNI

#define SFX avx512
#define CN_VNNI 1
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#include "kernels_body.inc"
#include "kernels_misc.inc"
#pragma clang attribute pop
#undef SFX
#undef CN_VNNI

int cn_best_path(void) {
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")))
        return CN_PATH_NONE;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512vnni"))
        return CN_PATH_AVX512;
    return CN_PATH_AVX2;
}

int cn_matmul_supported(int path, int type) {
    if (path == CN_PATH_AVX2) return supported_avx2(type);
    if (path == CN_PATH_AVX512) return supported_avx512(type);
    return 0;
}

void cn_matmul(int path, int type, int blocks, const void *w, size_t ws, int rows, const void *a, size_t as,
               int tokens, float *y, size_t ys, const uint8_t *modes) {
    if (path == CN_PATH_AVX512) matmul_chunked_avx512(type, blocks, w, ws, rows, a, as, tokens, y, ys, modes);
    else matmul_chunked_avx2(type, blocks, w, ws, rows, a, as, tokens, y, ys, modes);
}

void cn_quantize_q8_0(int path, const float *x, int count, void *out, int with_sum) {
    if (path == CN_PATH_AVX512) quantize_q8_0_avx512(x, count, out, with_sum);
    else quantize_q8_0_avx2(x, count, out, with_sum);
}

void cn_quantize_q8_K(int path, const float *x, int count, void *out) {
    if (path == CN_PATH_AVX512) quantize_q8_K_avx512(x, count, out);
    else quantize_q8_K_avx2(x, count, out);
}

void cn_attend_heads(int path, int key_type, int value_type, const float *q, size_t q_stride, int heads,
                     const void *keys, size_t key_stride, const void *values, size_t value_stride,
                     const int32_t *positions, int cells, int32_t query_pos, int window, float scale, float softcap,
                     const float *sinks, int hd, void *scratch, float *out, size_t out_stride) {
    if (path == CN_PATH_AVX512)
        attend_avx512(key_type, value_type, q, q_stride, heads, keys, key_stride, values, value_stride, positions, cells,
                      query_pos, window, scale, softcap, sinks, hd, scratch, out, out_stride);
    else attend_avx2(key_type, value_type, q, q_stride, heads, keys, key_stride, values, value_stride, positions, cells,
                     query_pos, window, scale, softcap, sinks, hd, scratch, out, out_stride);
}

void cn_attend_rows(int path, int key_type, int value_type, int count, const float *q, size_t q_row_stride, const int32_t *rows,
                    const int32_t *query_pos, size_t q_stride, int heads, const void *keys, size_t key_stride, const void *values,
                    size_t value_stride, const int32_t *positions, int cells, int window, float scale, float softcap,
                    const float *sinks, int hd, void *scratch, float *out, size_t out_row_stride, size_t out_stride) {
    if (path == CN_PATH_AVX512)
        attend_rows_avx512(key_type, value_type, count, q, q_row_stride, rows, query_pos, q_stride, heads, keys, key_stride, values,
                           value_stride, positions, cells, window, scale, softcap, sinks, hd, scratch, out, out_row_stride, out_stride);
    else attend_rows_avx2(key_type, value_type, count, q, q_row_stride, rows, query_pos, q_stride, heads, keys, key_stride, values,
                          value_stride, positions, cells, window, scale, softcap, sinks, hd, scratch, out, out_row_stride, out_stride);
}

void cn_attend_tiled_f16(int path, const float *q, size_t q_stride, const int32_t *rows, const int32_t *query_pos,
                         int count, const uint16_t *keys, const uint16_t *values, size_t stride,
                         const int32_t *positions, int cells, int window, float scale, float softcap,
                         const float *sink, int hd, float *out, size_t out_stride) {
    if (path == CN_PATH_AVX512)
        attend_tiled_avx512(q, q_stride, rows, query_pos, count, keys, values, stride, positions, cells, window, scale, softcap, sink, hd, out, out_stride);
    else attend_tiled_avx2(q, q_stride, rows, query_pos, count, keys, values, stride, positions, cells, window, scale, softcap, sink, hd, out, out_stride);
}

void cn_gelu_f16_mul(int path, const float *gate, const float *up, int n, const uint16_t *table, float *out) {
    if (path == CN_PATH_AVX512) gelu_mul_avx512(gate, up, n, table, out);
    else gelu_mul_avx2(gate, up, n, table, out);
}

void cn_f32_to_f16(int path, const float *x, int n, uint16_t *out) {
    if (path == CN_PATH_AVX512) to_f16_avx512(x, n, out);
    else to_f16_avx2(x, n, out);
}

void cn_swiglu(int path, const float *gate, const float *up, int n, float *out) {
    if (path == CN_PATH_AVX512) swiglu_avx512(gate, up, n, out);
    else swiglu_avx2(gate, up, n, out);
}

void cn_rope(int path, float *x, int heads, size_t stride, int dims, int neox, const float *cs) {
    if (path == CN_PATH_AVX512) rope_avx512(x, heads, stride, dims, neox, cs);
    else rope_avx2(x, heads, stride, dims, neox, cs);
}

float cn_dot_f32(int path, const float *a, const float *b, int n) {
    return path == CN_PATH_AVX512 ? dot_f32_avx512(a, b, n) : dot_f32_avx2(a, b, n);
}

void cn_softmax(int path, const float *x, int n, float *y) {
    if (path == CN_PATH_AVX512) softmax_rows_avx512(x, n, y);
    else softmax_rows_avx2(x, n, y);
}

void cn_scale_add(int path, float *y, const float *x, float s, int n, int first) {
    if (path == CN_PATH_AVX512) scale_add_avx512(y, x, s, n, first);
    else scale_add_avx2(y, x, s, n, first);
}

__attribute__((target("avx2"))) static uint64_t read_checksum_avx2(const uint8_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        a0 = _mm256_xor_si256(a0, _mm256_loadu_si256((const __m256i *)(p + i)));
        a1 = _mm256_xor_si256(a1, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
        a2 = _mm256_xor_si256(a2, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
        a3 = _mm256_xor_si256(a3, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
    }
    const __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)lanes, a);
    uint64_t sum = lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
    for (; i < n; i++) sum ^= p[i];
    return sum;
}

uint64_t cn_read_checksum(const void *p, size_t n) {
    if (cn_best_path() != CN_PATH_NONE) return read_checksum_avx2((const uint8_t *)p, n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum ^= ((const uint8_t *)p)[i];
    return sum;
}
#else
uint64_t cn_read_checksum(const void *p, size_t n) {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum ^= ((const uint8_t *)p)[i];
    return sum;
}
int cn_best_path(void) { return CN_PATH_NONE; }
int cn_matmul_supported(int path, int type) { (void)path; (void)type; return 0; }
void cn_matmul(int path, int type, int blocks, const void *w, size_t ws, int rows, const void *a, size_t as,
               int tokens, float *y, size_t ys, const uint8_t *modes) {}
void cn_quantize_q8_0(int path, const float *x, int count, void *out, int with_sum) {}
void cn_quantize_q8_K(int path, const float *x, int count, void *out) {}
void cn_attend_heads(int path, int key_type, int value_type, const float *q, size_t q_stride, int heads,
                     const void *keys, size_t key_stride, const void *values, size_t value_stride,
                     const int32_t *positions, int cells, int32_t query_pos, int window, float scale, float softcap,
                     const float *sinks, int hd, void *scratch, float *out, size_t out_stride) {}
void cn_attend_rows(int path, int key_type, int value_type, int count, const float *q, size_t q_row_stride, const int32_t *rows,
                    const int32_t *query_pos, size_t q_stride, int heads, const void *keys, size_t key_stride, const void *values,
                    size_t value_stride, const int32_t *positions, int cells, int window, float scale, float softcap,
                    const float *sinks, int hd, void *scratch, float *out, size_t out_row_stride, size_t out_stride) {}
void cn_attend_tiled_f16(int path, const float *q, size_t q_stride, const int32_t *rows, const int32_t *query_pos,
                         int count, const uint16_t *keys, const uint16_t *values, size_t stride,
                         const int32_t *positions, int cells, int window, float scale, float softcap,
                         const float *sink, int hd, float *out, size_t out_stride) {}
void cn_gelu_f16_mul(int path, const float *gate, const float *up, int n, const uint16_t *table, float *out) {}
void cn_f32_to_f16(int path, const float *x, int n, uint16_t *out) {}
void cn_swiglu(int path, const float *gate, const float *up, int n, float *out) {}
void cn_rope(int path, float *x, int heads, size_t stride, int dims, int neox, const float *cs) {}
float cn_dot_f32(int path, const float *a, const float *b, int n) { return 0; }
void cn_softmax(int path, const float *x, int n, float *y) {}
void cn_scale_add(int path, float *y, const float *x, float s, int n, int first) {}
#endif
