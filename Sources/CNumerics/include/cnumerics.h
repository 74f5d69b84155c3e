// CNumerics: hot CPU kernels for Cria (quantized matrix products, f16 attention, activation
// quantization) with runtime CPU dispatch, plus a persistent compute thread pool.
// Every kernel takes an explicit `path`; the same path must be used for every call whose
// results are compared (batch invariance): see Numerics/KernelDispatch.swift.
#ifndef CNUMERICS_H
#define CNUMERICS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction-set paths. CN_PATH_NONE means "use the portable Swift reference".
enum { CN_PATH_NONE = 0, CN_PATH_AVX2 = 1, CN_PATH_AVX512 = 2 };

/// GGUF tensor type ids of the weight formats the kernels read (Sources/GGUF/GGMLType.swift names them all).
enum {
    CN_TYPE_F16 = 1, CN_TYPE_Q4_0 = 2, CN_TYPE_Q4_1 = 3, CN_TYPE_Q5_0 = 6, CN_TYPE_Q5_1 = 7, CN_TYPE_Q8_0 = 8,
    CN_TYPE_Q2_K = 10, CN_TYPE_Q3_K = 11, CN_TYPE_Q4_K = 12, CN_TYPE_Q5_K = 13, CN_TYPE_Q6_K = 14,
    CN_TYPE_IQ4_NL = 20, CN_TYPE_IQ4_XS = 23, CN_TYPE_TQ2_0 = 35, CN_TYPE_MXFP4 = 39
};

/// Bytes of one block: 32 elements for the *_0/*_1 formats, MXFP4 and the Q8_0/Q8_1 activations, 256 for
/// the K-quants, IQ4_XS, TQ2_0 and the Q8_K activations (f32 scale, 256 int8, 16 int16 group sums).
enum {
    CN_BYTES_Q4_0 = 18, CN_BYTES_Q4_1 = 20, CN_BYTES_Q5_0 = 22, CN_BYTES_Q5_1 = 24, CN_BYTES_Q8_0 = 34,
    CN_BYTES_Q8_1 = 36, CN_BYTES_Q2_K = 84, CN_BYTES_Q3_K = 110, CN_BYTES_Q4_K = 144, CN_BYTES_Q5_K = 176, CN_BYTES_Q6_K = 210, CN_BYTES_IQ4_XS = 136,
    CN_BYTES_TQ2_0 = 66, CN_BYTES_MXFP4 = 17, CN_BYTES_Q8_K = 292
};

/// A token's float order in cn_matmul (bits of `modes`; 0 = the one invariant numerics use): llama.cpp's
/// tiled K-quant matmul, its repacked Q4_K gemm, and its eight-lane order for Q5_0 (vec_dot and gemm on
/// x86), which invariant numerics replace by per-block totals (QuantizedDot.q5_0Totals).
enum { CN_ORDER_TILED_KQUANT = 1, CN_ORDER_REPACKED_Q4K = 2, CN_ORDER_Q0_LANES = 4 };

/// The best path this CPU supports (AVX2+FMA+F16C, AVX-512 F/BW/VL/VNNI), or CN_PATH_NONE.
int cn_best_path(void);

/// Bytes ahead of their loads that the packed kernels prefetch on this CPU (0: none); prefetch.c
/// says how it is chosen (CRIA_PREFETCH overrides it).
int cn_prefetch_distance(void);
/// Where that distance came from: CN_PREFETCH_NONE (not x86: no packed kernel prefetches),
/// CN_PREFETCH_TABLE (a CPU family measured with and without, prefetch.c), CN_PREFETCH_ENV
/// (CRIA_PREFETCH=<bytes>), CN_PREFETCH_UNMEASURED (any other CPU: 0 until a model large enough
/// measures both when it loads, PrefetchCalibration) or CN_PREFETCH_AUTO (CRIA_PREFETCH=auto: the
/// first model measures both whatever its size).
enum { CN_PREFETCH_NONE = 0, CN_PREFETCH_TABLE = 1, CN_PREFETCH_ENV = 2, CN_PREFETCH_UNMEASURED = 3, CN_PREFETCH_AUTO = 4 };
int cn_prefetch_origin(void);
/// Sets the distance (0 to 65536, a multiple of 64; anything else is ignored; not x86: ignored),
/// as the load-time measurement does: speed only, never a result, so kernels running meanwhile on
/// other threads stay correct.
void cn_set_prefetch_distance(int bytes);

/// Whether `path` has a kernel for GGML weight type `ggml_type` (activations in its 8-bit partner format).
int cn_matmul_supported(int path, int ggml_type);

/// y[t*y_stride + r] = Σ_b dot(w row r block b, a row t block b) for r < rows, t < tokens.
/// Weight rows are `w_stride` bytes apart, activation rows `a_stride`. Each (r, t) is computed by
/// the same instruction sequence whatever `rows`/`tokens`, so results are batch-invariant.
/// `modes` (NULL: all 0) gives each token's float order where llama.cpp's depends on the batch
/// (CN_ORDER_*: its tiled K-quant matmul for 8 rows or more, Q5_K and Q6_K; its repacked Q4_K gemm
/// for the first multiple of 4 rows). Other formats have one order.
void cn_matmul(int path, int ggml_type, int blocks, const void *w, size_t w_stride, int rows,
               const void *a, size_t a_stride, int tokens, float *y, size_t y_stride, const uint8_t *modes);

/// Weights repacked into groups of 16 rows (packed.c, packed_layouts.h), for the ggml types packed.c
/// lists (Q4_K, Q5_K, Q6_K, IQ4_XS, Q3_K, Q2_K, Q5_0, Q8_0, Q4_0, MXFP4): the copy's bytes for the first rows/16·16 rows, the copy
/// itself, and the product y[t·y_stride + 16g + r] for groups g < `groups`, r < 16, t < tokens (the
/// weight's activation format, as cn_matmul). The product runs on CN_PATH_AVX512 and CN_PATH_AVX2 and gives
/// cn_matmul's bits for tokens whose mode is `order` (every token's; only CN_ORDER_Q0_LANES is read, by
/// Q5_0); Q5_0's block-total kernel serves any number of tokens, its eight-lane one and Q8_0's are meant
/// for a few (decode). The copies are laid out alike on both paths and are no bigger than the stored rows.
size_t cn_packed_bytes(int ggml_type, int rows, int blocks);
void cn_pack(int ggml_type, const void *w, size_t w_stride, int rows, int blocks, void *out);
void cn_packed_matmul(int path, int ggml_type, int blocks, const void *packed, int groups, const void *a, size_t a_stride,
                      int tokens, float *y, size_t y_stride, int order);
/// Row `row` (< the packed groups · 16) of a packed copy in its stored layout, into `out` (the stored
/// row's bytes); returns 0 for a type without a packed layout.
int cn_packed_stored_row(int ggml_type, const void *packed, int blocks, int row, void *out);

/// Activation quantizers (round to nearest even), identical to ActivationQuantization's Swift ones.
void cn_quantize_q8_0(int path, const float *x, int count, void *out, int with_sum);
void cn_quantize_q8_K(int path, const float *x, int count, void *out);

/// Query heads q + h·q_stride (h < heads, all sharing one KV head) over a cache with online
/// softmax, in llama.cpp's CPU flash-attention numerics (see kernels_misc.inc). Cell c's key row
/// is at keys + c·key_stride bytes in `key_type` (CN_TYPE_F16, CN_TYPE_Q8_0 or CN_TYPE_Q4_0; hd a
/// multiple of 32 for the quantized ones), its value row likewise. Cell c is used when
/// positions[c] <= query_pos and, if window > 0, query_pos − positions[c] < window. Head h's
/// output goes to out + h·out_stride. With softcap ≠ 0 a score becomes softcap·tanhf(q·k·scale)
/// (the caller has already divided scale by softcap, as ggml does). `sinks` (NULL: none) holds one
/// sink logit per head, joining each softmax's denominator after the cells (gpt-oss).
/// `scratch` holds 2·heads·hd + hd + 2·heads floats (Attention.scratchBytes).
void cn_attend_heads(int path, int key_type, int value_type, const float *q, size_t q_stride, int heads,
                     const void *keys, size_t key_stride, const void *values, size_t value_stride,
                     const int32_t *positions, int cells, int32_t query_pos, int window, float scale, float softcap,
                     const float *sinks, int hd, void *scratch, float *out, size_t out_stride);

/// cn_attend_heads for `count` query rows of one sequence at once (row r's heads at
/// q + rows[r]·q_row_stride + h·q_stride, position query_pos[r]; output at
/// out + rows[r]·out_row_stride + h·out_stride): each row gets exactly the bits it gets alone, and
/// with f16 K and V the rows share each chunk's value rows converted to f32. `scratch` holds
/// `count` times cn_attend_heads' scratch, one after another.
void cn_attend_rows(int path, int key_type, int value_type, int count, const float *q, size_t q_row_stride, const int32_t *rows,
                    const int32_t *query_pos, size_t q_stride, int heads, const void *keys, size_t key_stride, const void *values,
                    size_t value_stride, const int32_t *positions, int cells, int window, float scale, float softcap,
                    const float *sinks, int hd, void *scratch, float *out, size_t out_row_stride, size_t out_stride);

/// One query head for `count` ≤ 64 query rows of one sequence (row rows[i] at q + rows[i]·q_stride,
/// position query_pos[i]; output at out + rows[i]·out_stride) in llama.cpp's tiled CPU
/// flash-attention numerics (f32 q·k and accumulator, cells in tiles of 64, its exp polynomial);
/// see kernels_misc.inc. Visibility and softcap as for cn_attend_heads; `sink` (NULL: none) is the
/// head's sink logit.
void cn_attend_tiled_f16(int path, const float *q, size_t q_stride, const int32_t *rows, const int32_t *query_pos,
                         int count, const uint16_t *keys, const uint16_t *values, size_t stride,
                         const int32_t *positions, int cells, int window, float scale, float softcap,
                         const float *sink, int hd, float *out, size_t out_stride);

/// out[i] = gelu16(gate[i])·up[i] with gelu16 read from an f16 table of 65536 entries and one more (padding for
/// 4-byte gathers) (x ≤ −10 → 0, x ≥ 10 → x).
void cn_gelu_f16_mul(int path, const float *gate, const float *up, int n, const uint16_t *table, float *out);

/// out[i] = silu(gate[i])·up[i] as llama.cpp's AVX-512 build computes it (its vector e^x for whole blocks of
/// 16, libm's expf for the rest); the same bits on both paths and in VectorMath's portable version.
void cn_swiglu(int path, const float *gate, const float *up, int n, float *out);

/// RoPE.apply for `heads` vectors x + h·stride: the first `dims` elements rotated by the interleaved
/// (cos, sin) angles `cs`, pairs (i, i + dims/2) when `neox`, else (2i, 2i + 1); RoPE.apply's bits.
void cn_rope(int path, float *x, int heads, size_t stride, int dims, int neox, const float *cs);

/// VectorMath.dot (Σ a[i]·b[i] in its fixed order), the same bits.
float cn_dot_f32(int path, const float *a, const float *b, int n);

/// ExpertRouting.softmax (ggml's soft_max order), the same bits: y may not overlap x.
void cn_softmax(int path, const float *x, int n, float *y);

/// y = x·s when `first`, else y += x·s (the product rounded, then the add): VectorMath.scaleAdd's bits.
void cn_scale_add(int path, float *y, const float *x, float s, int n, int first);

/// f32 → f16 (round to nearest even) and back, for KV-cache stores.
void cn_f32_to_f16(int path, const float *x, int n, uint16_t *out);

/// Reads `bytes` bytes at `p` with wide loads and returns a checksum of them: the speed of this
/// loop is the memory read bandwidth that bounds a decode step (`cria bench --profile`).
uint64_t cn_read_checksum(const void *p, size_t bytes);

// Persistent thread pool: the caller is worker 0; workers spin briefly, then sleep on a condvar.
typedef struct cn_pool cn_pool;
typedef void (*cn_task_fn)(void *ctx, int64_t task);
cn_pool *cn_pool_create(int threads);
void cn_pool_destroy(cn_pool *pool);
/// Hands memory freed to the C heap back to the system where the C library can (glibc's
/// malloc_trim); a no-op elsewhere.
void cn_release_free_heap(void);
/// Threads the pool has (the caller included): fewer than asked when the system refused to create more.
int cn_pool_size(const cn_pool *pool);
/// Runs fn(ctx, i) for i < tasks on `threads` workers (≤ the pool's size), tasks taken in order.
void cn_pool_run(cn_pool *pool, int threads, cn_task_fn fn, void *ctx, int64_t tasks);
/// Tests only: worker `id` (≥ 1) waits before entering any region until called again with 0,
/// standing in for a worker the OS does not schedule.
void cn_pool_hold_worker(cn_pool *pool, int id);

#ifdef __cplusplus
}
#endif
#endif
