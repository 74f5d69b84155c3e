// How far ahead of their loads the packed kernels prefetch (packed_layouts.h, pk_prefetch_ahead),
// chosen per CPU when the library loads, before any kernel runs.
//
// Why per CPU: on an Intel Xeon (Emerald Rapids, family 6 model 207) the decode kernels read their
// weights at 61–84% of what a plain read loop reaches with the same two threads; the hardware
// prefetcher alone does not keep enough lines in flight while the core also multiplies. Asking
// for the lines 4 KiB ahead brought every format to 90–110% of it (one 178 MB Q8_0 product
// and 300 MB Q4_K, Q6_K and Q5_0 ones, two threads, alternating runs; docs/benchmarking.md).
// The kernels were tuned on AMD Zen 3 and Zen 4 without a set distance, and reach 85–100% of the
// read loop on Zen 4, so AMD keeps 0 until measured otherwise (scripts/compare-llama --prefetch).
//
// CRIA_PREFETCH=<bytes> (0 to 65536, a multiple of 64; 0 turns it off) overrides the choice, to
// measure it on a new CPU. Q4_K/Q5_K do not use the distance itself: their kernels ask for the next
// super-block pair by pair (packed_q4k.c), the AVX2 ones whatever the setting, the AVX-512 ones
// when it is not 0 — measured better than the set distance for their short expert streams.
#include "cnumerics.h"
#include "packed_layouts.h"
#include <stdlib.h>

int cn_prefetch_ahead = 0;

enum { CN_PREFETCH_INTEL = 4096, CN_PREFETCH_MAX = 65536 };

__attribute__((constructor)) static void cn_prefetch_choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    cn_prefetch_ahead = __builtin_cpu_is("intel") ? CN_PREFETCH_INTEL : 0;
    const char *setting = getenv("CRIA_PREFETCH");
    if (setting && *setting) {
        char *end = 0;
        const long bytes = strtol(setting, &end, 10);
        if (*end == '\0' && bytes >= 0 && bytes <= CN_PREFETCH_MAX && bytes % 64 == 0) cn_prefetch_ahead = (int)bytes;
    }
#endif
}

int cn_prefetch_distance(void) { return cn_prefetch_ahead; }
