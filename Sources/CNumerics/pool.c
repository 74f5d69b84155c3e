// Persistent compute pool. The calling thread is worker 0. A region publishes (fn, ctx and its task
// segments) and bumps `generation`; workers spin on it briefly (cheap wake-up for back-to-back kernels),
// then sleep on a condition variable so an idle engine costs no CPU. Tasks are handed out by
// atomic counters, one per thread's segment (below); which thread runs a task never changes its
// result.
//
// The generation word also carries the region's thread count (low 16 bits; CN_STOP ends the
// workers). A worker that sits a region out is not waited for, so it may look at the pool
// only after the caller has published the next region; reading the count from the very value
// it woke on (instead of a separate field the caller may already have overwritten) keeps it
// from joining a region that is not the one it saw (ThreadSanitizer found the race on the
// separate field).
//
// A region ends when its tasks are done, not when every worker has looked in: a worker the OS
// has not scheduled yet (another process on the core, or more threads than cores) would
// otherwise hold up every region of every step until it runs, and two threads sharing a core
// with one other busy process decoded slower than one thread alone. So a worker enters a
// region by raising `inside` and then checking that the region it woke for is still `open`.
// When the caller's own pass returns, every task has been taken (it takes over what is left of
// every segment); it clears `open` and waits only for the workers inside, which are finishing
// tasks they took or are between two instructions. Both sides use sequentially consistent
// operations for that pair, so either the worker sees the region closed or the caller sees the
// worker inside.
#include "cnumerics.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CN_PAUSE() _mm_pause()
#else
#define CN_PAUSE() ((void)0)
#endif

enum { CN_SPIN = 2000 };  // tens of µs of pause instructions before sleeping (regions of one step follow within µs)
enum { CN_COUNT_BITS = 16, CN_STOP = 0xFFFF };

// A region's tasks are cut into one contiguous segment per thread. Thread i takes the tasks of
// segment i in order, then helps finish the others from their fronts: each thread reads one long
// run of the weights (a stream the hardware prefetcher follows) instead of jumping to every
// other task, and a thread slowed by another process still leaves its tail to the rest.
// Gemma 3 270M's decode on Zen 4 (`cria bench --profile`, alternating with the old hand-out of
// every other task at 53-55 GB/s reads): its small layer products 2.36 -> 1.66-1.69 ms per token,
// the Q5_0 ones 30-31 -> 40-46 GB/s.
typedef struct {
    _Alignas(64) _Atomic int64_t next;
    int64_t end;
} cn_segment;

struct cn_pool {
    int size;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic uint64_t generation;
    _Atomic int sleepers;
    _Alignas(64) _Atomic uint64_t open;  // the generation whose region workers may still enter; 0 once closed
    _Atomic int inside;                  // workers inside a region's tasks
    _Atomic int held;                    // a worker id told to wait before entering (tests), 0 for none
    cn_task_fn fn;
    void *ctx;
    int segments;
    cn_segment *segment;  // one per thread (size), each on its own cache line
};

typedef struct { cn_pool *pool; int id; } cn_worker_arg;

static void cn_work(cn_pool *p, int id) {
    const int n = p->segments;
    for (int k = 0; k < n; k++) {
        cn_segment *s = &p->segment[(id + k) % n];
        for (;;) {
            int64_t t = atomic_fetch_add_explicit(&s->next, 1, memory_order_relaxed);
            if (t >= s->end) break;
            p->fn(p->ctx, t);
        }
    }
}

static void *cn_worker(void *arg) {
    cn_worker_arg a = *(cn_worker_arg *)arg;
    free(arg);
    cn_pool *p = a.pool;
    uint64_t seen = 0;  // the generation at creation: a region published before this thread started still runs
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen && spins < CN_SPIN) {
            CN_PAUSE();
            spins++;
        }
        if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen) {
            pthread_mutex_lock(&p->mutex);
            atomic_fetch_add(&p->sleepers, 1);
            while (atomic_load(&p->generation) == seen) pthread_cond_wait(&p->wake, &p->mutex);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mutex);
        }
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        int active = (int)(seen & CN_STOP);
        if (active == CN_STOP) return 0;
        if (a.id < active) {
            while (atomic_load_explicit(&p->held, memory_order_relaxed) == a.id &&
                   (atomic_load_explicit(&p->generation, memory_order_relaxed) & CN_STOP) != CN_STOP)
                sched_yield();
            atomic_fetch_add_explicit(&p->inside, 1, memory_order_seq_cst);
            if (atomic_load_explicit(&p->open, memory_order_seq_cst) == seen) cn_work(p, a.id);
            atomic_fetch_sub_explicit(&p->inside, 1, memory_order_release);
        }
    }
}

cn_pool *cn_pool_create(int threads) {
    // aligned_alloc, not calloc: the struct's cache-line-aligned members need its 64-byte alignment.
    const size_t bytes = (sizeof(cn_pool) + 63) / 64 * 64;
    cn_pool *p = aligned_alloc(64, bytes);
    memset(p, 0, bytes);
    p->size = threads < 1 ? 1 : threads;
    pthread_mutex_init(&p->mutex, 0);
    pthread_cond_init(&p->wake, 0);
    p->threads = calloc((size_t)p->size, sizeof(pthread_t));
    p->segment = aligned_alloc(64, (size_t)p->size * sizeof(cn_segment));
    for (int i = 1; i < p->size; i++) {
        cn_worker_arg *arg = malloc(sizeof *arg);
        arg->pool = p;
        arg->id = i;
        if (pthread_create(&p->threads[i], 0, cn_worker, arg) != 0) {
            // Out of threads (a process limit): run with the ones that started.
            free(arg);
            p->size = i;
            break;
        }
    }
    return p;
}

int cn_pool_size(const cn_pool *p) { return p->size; }

// Only the pool's caller publishes, so load-then-store is not a lost update.
static void cn_publish(cn_pool *p, int active) {
    pthread_mutex_lock(&p->mutex);
    uint64_t g = atomic_load_explicit(&p->generation, memory_order_relaxed);
    uint64_t next = ((g >> CN_COUNT_BITS) + 1) << CN_COUNT_BITS | (uint64_t)active;
    atomic_store_explicit(&p->open, next, memory_order_relaxed);  // published by the release store below
    atomic_store_explicit(&p->generation, next, memory_order_release);
    if (atomic_load(&p->sleepers) > 0) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mutex);
}

void cn_pool_destroy(cn_pool *p) {
    if (!p) return;
    cn_publish(p, CN_STOP);
    for (int i = 1; i < p->size; i++) pthread_join(p->threads[i], 0);
    pthread_mutex_destroy(&p->mutex);
    pthread_cond_destroy(&p->wake);
    free(p->threads);
    free(p->segment);
    free(p);
}

void cn_pool_run(cn_pool *p, int threads, cn_task_fn fn, void *ctx, int64_t tasks) {
    if (threads > p->size) threads = p->size;
    if (threads >= CN_STOP) threads = CN_STOP - 1;
    if (threads > tasks) threads = (int)tasks;
    if (threads <= 1) {
        for (int64_t t = 0; t < tasks; t++) fn(ctx, t);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->segments = threads;
    for (int i = 0; i < threads; i++) {
        atomic_store_explicit(&p->segment[i].next, tasks * i / threads, memory_order_relaxed);
        p->segment[i].end = tasks * (i + 1) / threads;
    }
    cn_publish(p, threads);
    cn_work(p, 0);
    atomic_store_explicit(&p->open, 0, memory_order_seq_cst);
    int spins = 0;
    while (atomic_load_explicit(&p->inside, memory_order_seq_cst) != 0) {
        if (++spins < CN_SPIN) CN_PAUSE();
        else sched_yield();
    }
}

void cn_pool_hold_worker(cn_pool *p, int id) {
    atomic_store_explicit(&p->held, id, memory_order_relaxed);
}

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void cn_release_free_heap(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}
