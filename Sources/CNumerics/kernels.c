// Runtime-dispatched CPU kernels. Each instruction-set variant is the same source
// (kernels_body.inc) compiled under a target attribute, so a CPU without AVX-512 never runs
// AVX-512 code and no -march flag is needed for the module.
#include "cnumerics.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define CN_TILE 4

static const int8_t cn_iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

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

void cn_attend_heads_f16(int path, const float *q, size_t q_stride, int heads, const uint16_t *keys,
                         const uint16_t *values, size_t stride, const int32_t *positions, int cells, int32_t query_pos,
                         int window, float scale, int hd, void *scratch, float *out, size_t out_stride) {
    if (path == CN_PATH_AVX512)
        attend_avx512(q, q_stride, heads, keys, values, stride, positions, cells, query_pos, window, scale, hd, scratch, out, out_stride);
    else attend_avx2(q, q_stride, heads, keys, values, stride, positions, cells, query_pos, window, scale, hd, scratch, out, out_stride);
}

void cn_attend_tiled_f16(int path, const float *q, size_t q_stride, const int32_t *rows, const int32_t *query_pos,
                         int count, const uint16_t *keys, const uint16_t *values, size_t stride,
                         const int32_t *positions, int cells, int window, float scale, int hd, float *out,
                         size_t out_stride) {
    if (path == CN_PATH_AVX512)
        attend_tiled_avx512(q, q_stride, rows, query_pos, count, keys, values, stride, positions, cells, window, scale, hd, out, out_stride);
    else attend_tiled_avx2(q, q_stride, rows, query_pos, count, keys, values, stride, positions, cells, window, scale, hd, out, out_stride);
}

void cn_gelu_f16_mul(int path, const float *gate, const float *up, int n, const uint16_t *table, float *out) {
    if (path == CN_PATH_AVX512) gelu_mul_avx512(gate, up, n, table, out);
    else gelu_mul_avx2(gate, up, n, table, out);
}

void cn_f32_to_f16(int path, const float *x, int n, uint16_t *out) {
    if (path == CN_PATH_AVX512) to_f16_avx512(x, n, out);
    else to_f16_avx2(x, n, out);
}
#else
int cn_best_path(void) { return CN_PATH_NONE; }
int cn_matmul_supported(int path, int type) { (void)path; (void)type; return 0; }
void cn_matmul(int path, int type, int blocks, const void *w, size_t ws, int rows, const void *a, size_t as,
               int tokens, float *y, size_t ys, const uint8_t *modes) {}
void cn_quantize_q8_0(int path, const float *x, int count, void *out, int with_sum) {}
void cn_quantize_q8_K(int path, const float *x, int count, void *out) {}
void cn_attend_heads_f16(int path, const float *q, size_t q_stride, int heads, const uint16_t *keys,
                         const uint16_t *values, size_t stride, const int32_t *positions, int cells, int32_t query_pos,
                         int window, float scale, int hd, void *scratch, float *out, size_t out_stride) {}
void cn_attend_tiled_f16(int path, const float *q, size_t q_stride, const int32_t *rows, const int32_t *query_pos,
                         int count, const uint16_t *keys, const uint16_t *values, size_t stride,
                         const int32_t *positions, int cells, int window, float scale, int hd, float *out,
                         size_t out_stride) {}
void cn_gelu_f16_mul(int path, const float *gate, const float *up, int n, const uint16_t *table, float *out) {}
void cn_f32_to_f16(int path, const float *x, int n, uint16_t *out) {}
#endif
