// How far ahead of their loads the packed kernels prefetch (packed_layouts.h, pk_prefetch_ahead),
// chosen per CPU when the library loads, before any kernel runs, or later by a model's load
// (cn_set_prefetch_distance).
//
// Why per CPU: on an Intel Xeon (Emerald Rapids, family 6 model 207) the decode kernels read their
// weights at 61–84% of what a plain read loop reaches with the same two threads; the hardware
// prefetcher alone does not keep enough lines in flight while the core also multiplies. Asking
// for the lines 4 KiB ahead brought every format to 90–110% of it (one 178 MB Q8_0 product
// and 300 MB Q4_K, Q6_K and Q5_0 ones, two threads, alternating runs; docs/benchmarking.md).
// On AMD Zen 4 (family 25 with AVX-512) the kernels were tuned without a set distance and reach
// 85–100% of the read loop. Those two are the table: the families measured both ways. Any other
// CPU (Zen 2 and 3, Zen 5, older or newer Intel cores, Hygon) starts at 0 and is left to the
// first model large enough to tell, which times its own products both ways when it loads
// (Numerics/PrefetchCalibration.swift); the table is not extended by assumption.
//
// CRIA_PREFETCH=<bytes> (0 to 65536, a multiple of 64; 0 turns it off) overrides the choice, and
// CRIA_PREFETCH=auto has the first model measure it on any x86 CPU, whatever the model's size.
// Q4_K/Q5_K do not use the distance itself: their kernels ask for the next super-block pair by
// pair (packed_q4k.c), the AVX2 ones whatever the setting, the AVX-512 ones when it is not 0 —
// measured better than the set distance for their short expert streams.
#include "cnumerics.h"
#include "packed_layouts.h"
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

int cn_prefetch_ahead = 0;
static int cn_prefetch_from = CN_PREFETCH_NONE;

enum { CN_PREFETCH_INTEL = 4096, CN_PREFETCH_MAX = 65536 };

#if defined(__x86_64__)
// CPUID leaf 1's display family and model (the extended fields folded in, as the vendors say)
static void cn_cpu_family_model(unsigned *family, unsigned *model) {
    unsigned a = 0, b = 0, c = 0, d = 0;
    *family = *model = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    const unsigned base = (a >> 8) & 0xf;
    *family = base == 0xf ? base + ((a >> 20) & 0xff) : base;
    *model = (a >> 4) & 0xf;
    if (base == 0x6 || base == 0xf) *model |= ((a >> 16) & 0xf) << 4;
}
#endif

__attribute__((constructor)) static void cn_prefetch_choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    unsigned family, model;
    cn_cpu_family_model(&family, &model);
    cn_prefetch_ahead = 0;
    cn_prefetch_from = CN_PREFETCH_UNMEASURED;
    if (__builtin_cpu_is("intel") && family == 6 && model == 0xcf) {  // Emerald Rapids
        cn_prefetch_ahead = CN_PREFETCH_INTEL;
        cn_prefetch_from = CN_PREFETCH_TABLE;
    } else if (__builtin_cpu_is("amd") && family == 0x19 && __builtin_cpu_supports("avx512f")) {  // Zen 4
        cn_prefetch_from = CN_PREFETCH_TABLE;
    }
    const char *setting = getenv("CRIA_PREFETCH");
    if (setting && strcmp(setting, "auto") == 0) {
        cn_prefetch_ahead = 0;
        cn_prefetch_from = CN_PREFETCH_AUTO;
    } else if (setting && *setting) {
        char *end = 0;
        const long bytes = strtol(setting, &end, 10);
        if (*end == '\0' && bytes >= 0 && bytes <= CN_PREFETCH_MAX && bytes % 64 == 0) {
            cn_prefetch_ahead = (int)bytes;
            cn_prefetch_from = CN_PREFETCH_ENV;
        }
    }
#endif
}

int cn_prefetch_distance(void) { return pk_prefetch_distance(); }

int cn_prefetch_origin(void) { return cn_prefetch_from; }

void cn_set_prefetch_distance(int bytes) {
#if defined(__x86_64__)
    if (bytes >= 0 && bytes <= CN_PREFETCH_MAX && bytes % 64 == 0) __atomic_store_n(&cn_prefetch_ahead, bytes, __ATOMIC_RELAXED);
#else
    (void)bytes;
#endif
}
