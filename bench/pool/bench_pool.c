/* SPDX-License-Identifier: MIT */
/* bench_pool.c — the secure pool against the physical floor (glibc malloc + explicit_bzero),
 * glibc malloc, the secure allocators of libsodium, OpenSSL, libgcrypt and Botan, and a model of
 * Bitcoin Core's LockedPool (lockedpool_model.cpp), side by side in one run (issues 5 and 11).
 *
 * Measures, for each allocator:
 *   pairs    alloc + touch one byte + free of 32 B to 1 MiB on one thread. The floor is glibc
 *            malloc + explicit_bzero of the whole size + free: a secret must be wiped, and
 *            explicit_bzero cannot be dropped by the compiler. The repetitions are interleaved
 *            (each repetition runs every size of every allocator in turn), and each ratio is
 *            taken within one repetition, so load on the machine hits both sides of a ratio.
 *   threads  1, 2, 4, ... up to MAX_THREADS threads at once, or the counts of a list, two
 *            patterns: 32-byte pairs, and a
 *            mixed pattern (256 live objects per thread, sizes 16-512 B, random replacement, one
 *            object in eight handed to the next thread through a lock-free queue and freed
 *            there); throughput of all threads together, the speed-up over one thread, rampart's
 *            throughput over glibc malloc's at each count (same repetition), and the
 *            voluntary context switches per 1000 operations (getrusage: a thread that sleeps on a
 *            contended lock switches out, so this counts lock waits that did not spin out).
 *   large    alloc + touch + free pairs of 8 KiB to 4 MiB for rampart's pool with and without a
 *            canary and the LockedPool model, against the floor, interleaved the same way (issue
 *            11: large allocations through runs and the cache of large mappings); alone, in a
 *            short run, with `bench_pool --large REPORT.md`
 *   batch    10,000 live 32-byte secrets: ns per alloc and per free, bytes the kernel charges as
 *            locked (VmLck) per secret, and locked bytes left after freeing them all (rampart:
 *            also after rp_pool_trim) — all relative to VmLck before the allocator was initialised
 *   protect  one NONE + READ-WRITE round trip on a live 32-byte guarded secret: rp_pool_protect
 *            against libsodium's sodium_mprotect_noaccess + sodium_mprotect_readwrite
 * Every figure is the median of REPS repetitions, each sized to take about TARGET_MS on one
 * thread; spreads are the smallest and largest repetition. Writes a markdown report and a data
 * file for gnuplot (bench/pool/pool.gp).
 *
 * Usage: bench_pool REPORT.md DATA.dat [THREADS]           the full report; THREADS is a count N
 *                                                          (1, 2, 4, ... N; default 2) or a list
 *                                                          such as 1,4,16 (1 is always run: the
 *                                                          speed-ups are against it)
 *        bench_pool --run ALLOCATOR pairs|mixed THREADS     one pattern only (pairs: 32 B), for perf stat
 *        bench_pool --list                                  the allocators' names, one a line
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rampart.h"

#ifdef HAVE_SODIUM
#include <sodium.h>
#endif
#ifdef HAVE_OPENSSL
#include <openssl/crypto.h>
#endif
#ifdef HAVE_GCRYPT
#include <gcrypt.h>
#endif
#ifdef HAVE_BOTAN
void *botan_shim_alloc(size_t n);
void botan_shim_free(void *p, size_t n);
#endif
void *lpm_alloc(size_t n);
void lpm_free(void *p, size_t n);

enum { REPS = 5, TARGET_MS = 40, BATCH = 10000, MAX_THREADS = 64 };
enum { MIXED_LIVE = 256, MIXED_MIN = 16, MIXED_MAX = 512, MIXED_HANDOFF = 8, MIXED_DRAIN = 32 };
static const size_t pair_sizes[] = {32, 256, 4096, 4097, 8192, 65536, 262144, 1048576};
#define NSIZES (sizeof pair_sizes / sizeof pair_sizes[0])
enum { SMALL_SIZES = 3 }; /* 32, 256, 4096: also compared with glibc malloc without the wipe */

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long voluntary_switches(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_nvcsw;
}

static size_t vm_locked(void) {
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    if (rp_system_info(&si) != RP_OK || !si.locked_known) return 0;
    return si.locked_bytes;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
/* Median of v[0..n); sorts v, so v[0] and v[n-1] are then the spread. */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the allocators --------------------------------------------------------------------------- */

typedef struct allocator {
    const char *name;
    const char *how;                 /* what is measured, for the report */
    bool (*init)(void);
    void *(*alloc)(size_t n);
    void (*release)(void *p, size_t n);
    void (*trim)(void);              /* NULL: nothing to trim */
    bool locks;                      /* claims to lock memory */
} allocator_t;

static bool init_none(void) { return true; }
static void *glibc_alloc(size_t n) { return malloc(n); }
static void glibc_free(void *p, size_t n) {
    (void)n;
    free(p);
}
static void glibc_wipe_free(void *p, size_t n) {
    explicit_bzero(p, n);
    free(p);
}

static rp_pool_t *pool, *canary_pool;
static bool rampart_init(void) {
    if (rp_pool_create(NULL, &pool) != RP_OK) fprintf(stderr, "rampart: %s\n", rp_last_error()->message);
    return pool != NULL;
}
static void *rampart_alloc(size_t n) { return rp_pool_alloc(pool, n); }
static void rampart_free(void *p, size_t n) {
    (void)n;
    rp_pool_free(pool, p);
}
static void rampart_trim(void) { rp_pool_trim(pool); }
static bool canary_init(void) {
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.flags = RP_POOL_CANARY;
    if (rp_pool_create(&cfg, &canary_pool) != RP_OK) fprintf(stderr, "rampart canary: %s\n", rp_last_error()->message);
    return canary_pool != NULL;
}
static void *canary_alloc(size_t n) { return rp_pool_alloc(canary_pool, n); }
static void canary_free(void *p, size_t n) {
    (void)n;
    rp_pool_free(canary_pool, p);
}
static void canary_trim(void) { rp_pool_trim(canary_pool); }

#ifdef HAVE_SODIUM
static bool sodium_start(void) { return sodium_init() >= 0; }
static void *sodium_alloc(size_t n) { return sodium_malloc(n); }
static void sodium_release(void *p, size_t n) {
    (void)n;
    sodium_free(p);
}
#endif
#ifdef HAVE_OPENSSL
static bool openssl_start(void) { return CRYPTO_secure_malloc_init(1u << 20, 16) != 0; }
static void *openssl_alloc(size_t n) { return CRYPTO_secure_malloc(n, __FILE__, __LINE__); }
static void openssl_release(void *p, size_t n) {
    (void)n;
    CRYPTO_secure_free(p, __FILE__, __LINE__);
}
#endif
#ifdef HAVE_GCRYPT
static bool gcrypt_start(void) {
    if (!gcry_check_version(NULL)) return false;
    gcry_control(GCRYCTL_INIT_SECMEM, 1u << 20, 0);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return true;
}
static void *gcrypt_alloc(size_t n) { return gcry_malloc_secure(n); }
static void gcrypt_release(void *p, size_t n) {
    (void)n;
    gcry_free(p);
}
#endif
#ifdef HAVE_BOTAN
static void *botan_alloc(size_t n) { return botan_shim_alloc(n); }
#endif

/* The first two rows are the references: the floor for every ratio, and plain malloc for the
 * issue 5 comparison of small pairs. */
enum { FLOOR = 0, GLIBC = 1, RAMPART = 2, RAMPART_CANARY = 3 };
static const allocator_t allocators[] = {
    {"floor: malloc+wipe", "malloc / explicit_bzero(p, size) / free: the least a wiped secret can cost", init_none,
     glibc_alloc, glibc_wipe_free, NULL, false},
    {"glibc malloc", "malloc / free, nothing wiped", init_none, glibc_alloc, glibc_free, NULL, false},
    {"rampart pool", "rp_pool_alloc / rp_pool_free (default pool config: locked, guards, wipe)", rampart_init,
     rampart_alloc, rampart_free, rampart_trim, true},
    {"rampart + canary", "the same with RP_POOL_CANARY", canary_init, canary_alloc, canary_free, canary_trim, true},
    {"LockedPool model", "a model of Bitcoin Core's LockedPool with secure_allocator's wipe (bench/pool/lockedpool_model.cpp, "
     "not Bitcoin's code): 256 KiB mlock'd arenas, best fit, one mutex; refuses requests over 256 KiB",
     init_none, lpm_alloc, lpm_free, NULL, true},
#ifdef HAVE_SODIUM
    {"libsodium", "sodium_malloc / sodium_free", sodium_start, sodium_alloc, sodium_release, NULL, true},
#endif
#ifdef HAVE_OPENSSL
    {"OpenSSL", "CRYPTO_secure_malloc / CRYPTO_secure_free (1 MiB secure heap, minsize 16)", openssl_start,
     openssl_alloc, openssl_release, NULL, true},
#endif
#ifdef HAVE_GCRYPT
    {"libgcrypt", "gcry_malloc_secure / gcry_free (1 MiB secure memory)", gcrypt_start, gcrypt_alloc,
     gcrypt_release, NULL, true},
#endif
#ifdef HAVE_BOTAN
    {"Botan", "Botan::allocate_memory / deallocate_memory (its 512 KiB mlock pool takes requests up to 256 B; "
     "larger ones get calloc memory that is wiped on free but not locked)", init_none, botan_alloc,
     botan_shim_free, NULL, true},
#endif
};
#define NALLOC (sizeof allocators / sizeof allocators[0])

/* ---- pairs, on any number of threads ---------------------------------------------------------- */

typedef enum pattern { PAIRS, MIXED, NPATTERNS } pattern_t;
static const char *const pattern_names[NPATTERNS] = {"pairs", "mixed"};
static const char *const pattern_titles[NPATTERNS] = {"32-byte alloc + free pairs", "mixed: 256 live objects per thread, 16-512 B, random replacement, 1 in 8 freed by another thread"};

/* An object of the mixed pattern: its first bytes say its size and link it into a handoff queue. */
typedef struct mixed_obj {
    struct mixed_obj *next;
    size_t size;
} mixed_obj_t;

/* A thread's inbox: a lock-free stack that any thread pushes to and its owner empties at once
 * with one exchange (so there is no ABA problem and no lock in the benchmark itself). */
typedef struct inbox {
    _Alignas(64) _Atomic(mixed_obj_t *) head;
} inbox_t;

typedef struct job {
    const allocator_t *a;
    size_t size;          /* pairs: bytes per allocation */
    pattern_t pattern;
    long iters;
    int index, threads;
    inbox_t *inboxes;     /* mixed: one per thread */
    pthread_barrier_t *start, *stop;
    double began, ended;  /* this thread's own loop, without waking from the barriers */
    int failed;
} job_t;

static bool pair_loop(const allocator_t *a, size_t size, long iters) {
    for (long i = 0; i < iters; i++) {
        volatile char *p = a->alloc(size);
        if (p == NULL) return false;
        p[0] = 1;
        a->release((void *)p, size);
    }
    return true;
}

static uint64_t next_random(uint64_t *s) { /* xorshift64 */
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void drain(const allocator_t *a, inbox_t *in) {
    mixed_obj_t *o = atomic_exchange_explicit(&in->head, NULL, memory_order_acquire);
    while (o) {
        mixed_obj_t *next = o->next;
        a->release(o, o->size);
        o = next;
    }
}

static mixed_obj_t *mixed_new(const allocator_t *a, uint64_t *rnd) {
    size_t size = MIXED_MIN + (size_t)(next_random(rnd) % (MIXED_MAX - MIXED_MIN + 1));
    mixed_obj_t *o = a->alloc(size);
    if (o) {
        o->next = NULL;
        o->size = size;
    }
    return o;
}

/* Replaces a random live object iters times; one in MIXED_HANDOFF goes to the next thread's
 * inbox instead of being freed here (with one thread: to its own inbox, freed later). */
static bool mixed_loop(job_t *j, mixed_obj_t **live, uint64_t *rnd) {
    inbox_t *mine = &j->inboxes[j->index], *next = &j->inboxes[(j->index + 1) % j->threads];
    for (long i = 0; i < j->iters; i++) {
        uint64_t r = next_random(rnd);
        size_t k = (size_t)(r % MIXED_LIVE);
        mixed_obj_t *old = live[k];
        if ((r >> 32) % MIXED_HANDOFF == 0) {
            old->next = atomic_load_explicit(&next->head, memory_order_relaxed);
            while (!atomic_compare_exchange_weak_explicit(&next->head, &old->next, old, memory_order_release,
                                                          memory_order_relaxed)) {
            }
        } else {
            j->a->release(old, old->size);
        }
        if ((live[k] = mixed_new(j->a, rnd)) == NULL) return false;
        if (i % MIXED_DRAIN == 0) drain(j->a, mine);
    }
    return true;
}

static void *job_thread(void *arg) {
    job_t *j = arg;
    if (j->pattern == PAIRS) {
        pthread_barrier_wait(j->start);
        j->began = now();
        j->failed = !pair_loop(j->a, j->size, j->iters);
        j->ended = now();
        pthread_barrier_wait(j->stop);
        return NULL;
    }
    mixed_obj_t *live[MIXED_LIVE];
    uint64_t rnd = 0x9E3779B97F4A7C15u * (uint64_t)(j->index + 1);
    size_t made = 0;
    for (; made < MIXED_LIVE; made++)
        if ((live[made] = mixed_new(j->a, &rnd)) == NULL) break;
    j->failed = made < MIXED_LIVE;
    pthread_barrier_wait(j->start);
    j->began = now();
    if (!j->failed) j->failed = !mixed_loop(j, live, &rnd);
    j->ended = now();
    pthread_barrier_wait(j->stop); /* every producer has stopped: the inboxes fill no more */
    drain(j->a, &j->inboxes[j->index]);
    for (size_t k = 0; k < made; k++)
        if (live[k]) j->a->release(live[k], live[k]->size);
    return NULL;
}

static long long operations_run; /* by every job_run, calibration included (for --run) */

typedef struct run_result {
    double seconds;      /* from the first thread's start to the last thread's end */
    double loop_seconds; /* the slowest thread's own loop */
    long switches; /* voluntary context switches during the timed part */
    bool ok;
} run_result_t;

/* `threads` threads each doing iters operations at once. Each thread times its own loop and the
 * run lasts from the first start to the last end: with more threads than CPUs the main thread
 * may not run again until the workers are well under way, so its own clock would miss work. The
 * setup and teardown of the mixed pattern's live objects are outside the loops. */
static run_result_t job_run(const allocator_t *a, pattern_t pattern, size_t size, long iters, int threads) {
    pthread_barrier_t start, stop;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&stop, NULL, (unsigned)threads + 1);
    static inbox_t inboxes[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    job_t j[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        atomic_init(&inboxes[i].head, NULL);
        j[i] = (job_t){a, size, pattern, iters, i, threads, inboxes, &start, &stop, 0, 0, 0};
        pthread_create(&t[i], NULL, job_thread, &j[i]);
    }
    long s0 = voluntary_switches();
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&stop);
    run_result_t r = {0, 0, voluntary_switches() - s0, true};
    double first = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        r.ok &= !j[i].failed;
        if (i == 0 || j[i].began < first) first = j[i].began;
        if (j[i].ended > last) last = j[i].ended;
        if (j[i].ended - j[i].began > r.loop_seconds) r.loop_seconds = j[i].ended - j[i].began;
    }
    r.seconds = last - first;
    operations_run += (long long)iters * threads;
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&stop);
    return r;
}

/* Operations that take about TARGET_MS on one thread (0: the allocator refused). Timed inside the
 * thread: on a shared machine, waking from a barrier can take milliseconds, which would make a
 * short calibration run look slow. The fastest of three runs stands for the allocator. */
static long calibrate(const allocator_t *a, pattern_t pattern, size_t size) {
    long n = 8;
    double best = 0;
    for (;; n *= 4) {
        run_result_t r = job_run(a, pattern, size, n, 1);
        if (!r.ok) return 0;
        best = r.loop_seconds;
        if (best >= 2e-3 || n >= (1L << 24)) break;
    }
    for (int i = 0; i < 2; i++) {
        run_result_t r = job_run(a, pattern, size, n, 1);
        if (!r.ok) return 0;
        if (r.loop_seconds < best) best = r.loop_seconds;
    }
    double iters = (double)n * TARGET_MS * 1e-3 / (best > 1e-9 ? best : 1e-9);
    return iters < 20 ? 20 : iters > (1L << 26) ? (1L << 26) : (long)iters;
}

/* ---- results ----------------------------------------------------------------------------------- */

typedef struct spread {
    double med, lo, hi;
} spread_t;

static spread_t spread_of(double *v, int n) {
    spread_t s;
    s.med = median(v, n);
    s.lo = v[0];
    s.hi = v[n - 1];
    return s;
}

typedef struct result {
    bool ok;
    bool pair_ok[NSIZES];
    double pair_ns[NSIZES];      /* one thread: median ns per pair */
    spread_t vs_floor[NSIZES];   /* ratio to the floor, per repetition */
    spread_t vs_glibc[NSIZES];   /* ratio to glibc malloc without the wipe */
    bool thr_ok[NPATTERNS][8];
    double mops[NPATTERNS][8];       /* millions of operations per second, all threads together */
    spread_t speedup[NPATTERNS][8];  /* throughput / one thread's, per repetition */
    spread_t vs_glibc_thr[NPATTERNS][8]; /* throughput / glibc malloc's at that count, per repetition */
    double switches[NPATTERNS][8];   /* voluntary context switches per 1000 operations */
    double alloc_ns, free_ns;        /* batch: per secret */
    double locked_per_secret;        /* batch: VmLck growth / BATCH */
    double locked_after_free;        /* bytes above the baseline after freeing all */
    double locked_after_trim;
    size_t baseline;
} result_t;

static void batch_run(const allocator_t *a, result_t *r) {
    static void *v[BATCH];
    double al[REPS], fr[REPS], per[REPS], after[REPS], trimmed[REPS];
    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now();
        for (int i = 0; i < BATCH; i++) {
            v[i] = a->alloc(32);
            if (v[i] == NULL) {
                r->ok = false;
                return;
            }
            memset(v[i], 0x5A, 32);
        }
        double t1 = now();
        size_t live = vm_locked();
        double t2 = now();
        for (int i = 0; i < BATCH; i++) a->release(v[i], 32);
        double t3 = now();
        size_t freed = vm_locked();
        if (a->trim) a->trim();
        size_t trim = vm_locked();
        al[rep] = (t1 - t0) * 1e9 / BATCH;
        fr[rep] = (t3 - t2) * 1e9 / BATCH;
        per[rep] = ((double)live - (double)r->baseline) / BATCH;
        after[rep] = (double)freed - (double)r->baseline;
        trimmed[rep] = (double)trim - (double)r->baseline;
    }
    r->alloc_ns = median(al, REPS);
    r->free_ns = median(fr, REPS);
    r->locked_per_secret = median(per, REPS);
    r->locked_after_free = median(after, REPS);
    r->locked_after_trim = median(trimmed, REPS);
}

/* ---- the interleaved runs ---------------------------------------------------------------------- */

static int thread_counts[8], nthread_counts;
static long ncpu;

/* Every size of every allocator in turn, REPS times; ratios within each repetition. */
static void measure_pairs(result_t *res) {
    static long iters[NALLOC][NSIZES];
    static double ns[NALLOC][NSIZES][REPS];
    for (size_t a = 0; a < NALLOC; a++)
        for (size_t s = 0; s < NSIZES; s++) {
            iters[a][s] = res[a].ok ? calibrate(&allocators[a], PAIRS, pair_sizes[s]) : 0;
            res[a].pair_ok[s] = iters[a][s] > 0;
        }
    for (int rep = 0; rep < REPS; rep++) {
        fprintf(stderr, "bench_pool: pairs, repetition %d of %d\n", rep + 1, REPS);
        for (size_t s = 0; s < NSIZES; s++)
            for (size_t a = 0; a < NALLOC; a++) {
                if (!res[a].pair_ok[s]) continue;
                run_result_t r = job_run(&allocators[a], PAIRS, pair_sizes[s], iters[a][s], 1);
                res[a].pair_ok[s] = r.ok; /* an allocator that ran out of room part-way is left out */
                ns[a][s][rep] = r.seconds * 1e9 / (double)iters[a][s];
            }
    }
    for (size_t a = 0; a < NALLOC; a++)
        for (size_t s = 0; s < NSIZES; s++) {
            if (!res[a].pair_ok[s]) continue;
            double f[REPS], g[REPS];
            for (int rep = 0; rep < REPS; rep++) {
                f[rep] = ns[a][s][rep] / ns[FLOOR][s][rep];
                g[rep] = ns[a][s][rep] / ns[GLIBC][s][rep];
            }
            res[a].vs_floor[s] = spread_of(f, REPS);
            res[a].vs_glibc[s] = spread_of(g, REPS);
            res[a].pair_ns[s] = median(ns[a][s], REPS);
        }
}

/* Both patterns at every thread count for every allocator in turn, REPS times. Each thread does
 * a share of one thread's calibrated work so that a run takes about TARGET_MS whatever the count. */
static void measure_threads(result_t *res) {
    static long iters[NALLOC][NPATTERNS];
    static double tput[NALLOC][NPATTERNS][8][REPS], sw[NALLOC][NPATTERNS][8][REPS];
    for (size_t a = 0; a < NALLOC; a++)
        for (int p = 0; p < NPATTERNS; p++) {
            iters[a][p] = res[a].ok ? calibrate(&allocators[a], (pattern_t)p, 32) : 0;
            for (int t = 0; t < nthread_counts; t++) res[a].thr_ok[p][t] = iters[a][p] > 0;
        }
    for (int rep = 0; rep < REPS; rep++) {
        fprintf(stderr, "bench_pool: threads, repetition %d of %d\n", rep + 1, REPS);
        for (int p = 0; p < NPATTERNS; p++)
            for (int t = 0; t < nthread_counts; t++)
                for (size_t a = 0; a < NALLOC; a++) {
                    if (!res[a].thr_ok[p][t]) continue;
                    int n = thread_counts[t];
                    long busy = n < ncpu ? n : ncpu;
                    long each = iters[a][p] * busy / n;
                    if (each < 20) each = 20;
                    run_result_t r = job_run(&allocators[a], (pattern_t)p, 32, each, n);
                    res[a].thr_ok[p][t] = r.ok;
                    tput[a][p][t][rep] = (double)each * n / r.seconds;
                    sw[a][p][t][rep] = (double)r.switches * 1000.0 / ((double)each * n);
                }
    }
    for (size_t a = 0; a < NALLOC; a++)
        for (int p = 0; p < NPATTERNS; p++)
            for (int t = 0; t < nthread_counts; t++) {
                if (!res[a].thr_ok[p][t] || !res[a].thr_ok[p][0]) {
                    res[a].thr_ok[p][t] = false;
                    continue;
                }
                double up[REPS], vs[REPS];
                for (int rep = 0; rep < REPS; rep++) up[rep] = tput[a][p][t][rep] / tput[a][p][0][rep];
                res[a].speedup[p][t] = spread_of(up, REPS);
                if (res[GLIBC].thr_ok[p][t]) {
                    for (int rep = 0; rep < REPS; rep++) vs[rep] = tput[a][p][t][rep] / tput[GLIBC][p][t][rep];
                    res[a].vs_glibc_thr[p][t] = spread_of(vs, REPS);
                }
                res[a].mops[p][t] = median(tput[a][p][t], REPS) / 1e6;
                res[a].switches[p][t] = median(sw[a][p][t], REPS);
            }
}

/* ---- large pairs ------------------------------------------------------------------------------- */

static const size_t large_sizes[] = {8192, 65536, 262144, 1048576, 4194304};
#define NLARGE (sizeof large_sizes / sizeof large_sizes[0])
/* The allocators of the large pairs, by name: the floor first. */
static const char *const large_names[] = {"floor: malloc+wipe", "rampart pool", "rampart + canary", "LockedPool model"};
#define NLARGE_ALLOC (sizeof large_names / sizeof large_names[0])

typedef struct large_result {
    const allocator_t *a;
    bool ok[NLARGE];
    double ns[NLARGE];         /* median ns per pair */
    spread_t vs_floor[NLARGE]; /* ratio to the floor, per repetition */
} large_result_t;

static const allocator_t *allocator_named(const char *name) {
    for (size_t i = 0; i < NALLOC; i++)
        if (strcmp(allocators[i].name, name) == 0) return &allocators[i];
    return NULL;
}

/* Every size of every allocator in turn, REPS times, as measure_pairs does; the allocators must
 * be initialised (ok[] false for one that is not). */
static void measure_large(large_result_t *lr, const bool *ready) {
    static long iters[NLARGE_ALLOC][NLARGE];
    static double ns[NLARGE_ALLOC][NLARGE][REPS];
    for (size_t a = 0; a < NLARGE_ALLOC; a++) {
        lr[a].a = allocator_named(large_names[a]);
        for (size_t s = 0; s < NLARGE; s++) {
            iters[a][s] = lr[a].a && ready[a] ? calibrate(lr[a].a, PAIRS, large_sizes[s]) : 0;
            lr[a].ok[s] = iters[a][s] > 0;
        }
    }
    for (int rep = 0; rep < REPS; rep++) {
        fprintf(stderr, "bench_pool: large pairs, repetition %d of %d\n", rep + 1, REPS);
        for (size_t s = 0; s < NLARGE; s++)
            for (size_t a = 0; a < NLARGE_ALLOC; a++) {
                if (!lr[a].ok[s]) continue;
                run_result_t r = job_run(lr[a].a, PAIRS, large_sizes[s], iters[a][s], 1);
                lr[a].ok[s] = r.ok;
                ns[a][s][rep] = r.seconds * 1e9 / (double)iters[a][s];
            }
    }
    for (size_t a = 0; a < NLARGE_ALLOC; a++)
        for (size_t s = 0; s < NLARGE; s++) {
            if (!lr[a].ok[s] || !lr[0].ok[s]) {
                lr[a].ok[s] = false;
                continue;
            }
            double f[REPS];
            for (int rep = 0; rep < REPS; rep++) f[rep] = ns[a][s][rep] / ns[0][s][rep];
            lr[a].vs_floor[s] = spread_of(f, REPS);
            lr[a].ns[s] = median(ns[a][s], REPS);
        }
}

static const char *size_name(size_t n, char *buf, size_t cap);
static const char *time_name(double ns, char *buf, size_t cap);

static void large_table(FILE *md, const large_result_t *lr) {
    char b[32];
    fprintf(md, "## Large alloc + free pairs (one byte touched), cost relative to the floor\n\n");
    fprintf(md, "Issue 11: large allocations up to 1 MiB are runs of shared regions (a canary included), larger "
                "ones mappings of their own that a freed one's cache serves again. The floor is glibc `malloc` + "
                "`explicit_bzero` of the whole size + `free`, in the same repetition. \"refused\": the allocator "
                "returned NULL for that size.\n\n| allocator |");
    for (size_t s = 0; s < NLARGE; s++) fprintf(md, " %s |", size_name(large_sizes[s], b, sizeof b));
    fprintf(md, "\n|---|");
    for (size_t s = 0; s < NLARGE; s++) fprintf(md, "---:|");
    fprintf(md, "\n");
    for (size_t a = 0; a < NLARGE_ALLOC; a++) {
        if (lr[a].a == NULL) continue;
        fprintf(md, "| %s |", large_names[a]);
        for (size_t s = 0; s < NLARGE; s++) {
            if (!lr[a].ok[s]) fprintf(md, " refused |");
            else if (a == 0) fprintf(md, " = %s |", time_name(lr[a].ns[s], b, sizeof b));
            else
                fprintf(md, " %.2fx (%.2f-%.2f) %s |", lr[a].vs_floor[s].med, lr[a].vs_floor[s].lo, lr[a].vs_floor[s].hi,
                        time_name(lr[a].ns[s], b, sizeof b));
        }
        fprintf(md, "\n");
    }
    fprintf(md, "\n");
}

/* --large REPORT.md: the large pairs alone. */
static int run_large(const char *report) {
    static large_result_t lr[NLARGE_ALLOC];
    bool ready[NLARGE_ALLOC];
    for (size_t a = 0; a < NLARGE_ALLOC; a++) {
        const allocator_t *al = allocator_named(large_names[a]);
        ready[a] = al != NULL && al->init();
    }
    if (!ready[0]) return 1;
    measure_large(lr, ready);
    FILE *md = fopen(report, "w");
    if (md == NULL) {
        perror("bench_pool: output");
        return 1;
    }
    large_table(md, lr);
    fclose(md);
    return 0;
}

/* ---- protect round trips (rp_pool_protect vs sodium_mprotect_*) ------------------------------------ */

typedef struct protect_result {
    bool ok;
    double ns; /* per NONE + READ-WRITE round trip */
} protect_result_t;

static protect_result_t protect_rampart(void) {
    protect_result_t r = {false, 0};
    rp_pool_options_t cfg = rp_pool_options_default();
    cfg.flags = RP_POOL_GUARDED;
    cfg.lock_policy = RP_POOL_LOCK_SILENT;
    rp_pool_t *gp = NULL;
    unsigned char *p = rp_pool_create(&cfg, &gp) == RP_OK ? rp_pool_alloc(gp, 32) : NULL;
    if (p == NULL) return r;
    double v[REPS];
    long iters = 2000;
    for (int k = 0; k < REPS; k++) {
        double t0 = now();
        for (long i = 0; i < iters; i++) {
            if (rp_pool_protect(gp, p, RP_POOL_PROT_NONE) != RP_OK || rp_pool_protect(gp, p, RP_POOL_PROT_READWRITE) != RP_OK) {
                rp_pool_destroy(gp);
                return r;
            }
        }
        v[k] = (now() - t0) * 1e9 / (double)iters;
    }
    p[0] = 1; /* read-write again */
    rp_pool_free(gp, p);
    rp_pool_destroy(gp);
    r.ok = true;
    r.ns = median(v, REPS);
    return r;
}

#ifdef HAVE_SODIUM
static protect_result_t protect_sodium(void) {
    protect_result_t r = {false, 0};
    unsigned char *p = sodium_init() >= 0 ? sodium_malloc(32) : NULL;
    if (p == NULL) return r;
    double v[REPS];
    long iters = 2000;
    for (int k = 0; k < REPS; k++) {
        double t0 = now();
        for (long i = 0; i < iters; i++) {
            if (sodium_mprotect_noaccess(p) != 0 || sodium_mprotect_readwrite(p) != 0) {
                sodium_free(p);
                return r;
            }
        }
        v[k] = (now() - t0) * 1e9 / (double)iters;
    }
    p[0] = 1;
    sodium_free(p);
    r.ok = true;
    r.ns = median(v, REPS);
    return r;
}
#endif

/* ---- report ------------------------------------------------------------------------------------ */

static const char *mark(bool ok) { return ok ? "yes" : "**no**"; }

static const char *size_name(size_t n, char *buf, size_t cap) {
    if (n >= 65536 && n % 1024 == 0) snprintf(buf, cap, n % (1u << 20) ? "%zu KiB" : "%zu MiB", n % (1u << 20) ? n >> 10 : n >> 20);
    else if (n >= 8192 && n % 1024 == 0) snprintf(buf, cap, "%zu KiB", n >> 10);
    else snprintf(buf, cap, "%zu B", n);
    return buf;
}

static const char *time_name(double ns, char *buf, size_t cap) {
    if (ns >= 1000) snprintf(buf, cap, "%.1f µs", ns / 1000);
    else snprintf(buf, cap, "%.1f ns", ns);
    return buf;
}

/* Table of pair ratios for sizes [from, to) against the floor or glibc malloc. */
static void pairs_table(FILE *md, const result_t *res, size_t from, size_t to, bool floor) {
    char b[32];
    fprintf(md, "| allocator |");
    for (size_t s = from; s < to; s++) fprintf(md, " %s |", size_name(pair_sizes[s], b, sizeof b));
    fprintf(md, "\n|---|");
    for (size_t s = from; s < to; s++) fprintf(md, "---:|");
    fprintf(md, "\n");
    for (size_t a = 0; a < NALLOC; a++) {
        if (!res[a].ok || (!floor && a == FLOOR)) continue;
        fprintf(md, "| %s |", allocators[a].name);
        for (size_t s = from; s < to; s++) {
            if (!res[a].pair_ok[s]) {
                fprintf(md, " refused |");
                continue;
            }
            if (a == (floor ? FLOOR : GLIBC)) {
                fprintf(md, " = %s |", time_name(res[a].pair_ns[s], b, sizeof b));
                continue;
            }
            spread_t r = floor ? res[a].vs_floor[s] : res[a].vs_glibc[s];
            fprintf(md, " %.2fx (%.2f-%.2f) %s |", r.med, r.lo, r.hi, time_name(res[a].pair_ns[s], b, sizeof b));
        }
        fprintf(md, "\n");
    }
}

static void threads_table(FILE *md, const result_t *res, int p) {
    fprintf(md, "| allocator |");
    for (int t = 0; t < nthread_counts; t++) fprintf(md, " %d thread%s |", thread_counts[t], thread_counts[t] > 1 ? "s" : "");
    fprintf(md, " switches / 1000 ops at %d |\n|---|", thread_counts[nthread_counts - 1]);
    for (int t = 0; t <= nthread_counts; t++) fprintf(md, "---:|");
    fprintf(md, "\n");
    for (size_t a = 0; a < NALLOC; a++) {
        if (!res[a].ok || a == FLOOR) continue;
        fprintf(md, "| %s |", allocators[a].name);
        for (int t = 0; t < nthread_counts; t++) {
            const spread_t *u = &res[a].speedup[p][t];
            if (!res[a].thr_ok[p][t]) fprintf(md, " ran out (NULL) |");
            else if (t == 0) fprintf(md, " %.3g Mops/s |", res[a].mops[p][t]);
            else fprintf(md, " %.3g Mops/s, %.2fx (%.2f-%.2f) |", res[a].mops[p][t], u->med, u->lo, u->hi);
        }
        int last = nthread_counts - 1;
        if (res[a].thr_ok[p][last]) fprintf(md, " %.2f |\n", res[a].switches[p][last]);
        else fprintf(md, " |\n");
    }
    /* The issue 11 comparison at every count: rampart's throughput over glibc malloc's, taken
     * within each repetition (glibc's own row is measured by the same threads in the same turn). */
    fprintf(md, "| rampart pool / glibc malloc |");
    for (int t = 0; t < nthread_counts; t++) {
        const spread_t *v = &res[RAMPART].vs_glibc_thr[p][t];
        if (res[RAMPART].thr_ok[p][t] && res[GLIBC].thr_ok[p][t]) fprintf(md, " %.2fx (%.2f-%.2f) |", v->med, v->lo, v->hi);
        else fprintf(md, " |");
    }
    fprintf(md, " |\n");
}

static size_t size_index(size_t n) {
    for (size_t s = 0; s < NSIZES; s++)
        if (pair_sizes[s] == n) return s;
    abort();
}

static void write_report(FILE *md, const char *png, const result_t *res, const large_result_t *lres) {
    const result_t *rp = &res[RAMPART];
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    rp_system_info(&si);
    char b[32];
    fprintf(md, "# Secure pool benchmark\n\n");
    fprintf(md, "Written by `make bench` (bench/pool/bench_pool.c) on %s, %ld CPUs, threads up to %d; one run, "
                "interleaved: each of %d repetitions runs every allocator in turn, and a ratio is taken within one "
                "repetition. Each cell is the median ratio, the smallest and largest repetition in brackets, and "
                "the median cost.\n\n",
            si.os, ncpu, thread_counts[nthread_counts - 1], REPS);
    fprintf(md, "![secure pool benchmark](%s)\n\n", png);
    fprintf(md, "## Alloc + free pairs (one byte touched), cost relative to the floor\n\n");
    fprintf(md, "The floor is glibc `malloc` + `explicit_bzero` of the whole size + `free` in the same repetition: "
                "what a secret of that size costs at least when it is wiped. \"refused\": the allocator "
                "returned NULL for that size. Every allocator here wipes on free (glibc malloc's own row excepted).\n\n");
    pairs_table(md, res, 0, NSIZES, true);
    fprintf(md, "\n");
    large_table(md, lres);
    fprintf(md, "## Small pairs relative to glibc malloc without the wipe (issue 5)\n\n");
    pairs_table(md, res, 0, SMALL_SIZES, false);
    for (int p = 0; p < NPATTERNS; p++) {
        fprintf(md, "\n## Threads: %s\n\n", pattern_titles[p]);
        threads_table(md, res, p);
    }
    fprintf(md, "\nThroughput is every thread's operations (an operation is one alloc and one free) per second, "
                "all threads together; the speed-up is against one thread in the same repetition. This machine "
                "has %ld CPUs: beyond %ld threads the speed-up can only show whether an allocator holds its "
                "throughput under time-slicing, not whether it scales on more cores. Switches are voluntary "
                "context switches (getrusage) per 1000 operations: a thread that sleeps on a contended lock "
                "switches out, so they count lock waits that did not resolve by spinning (thread start and "
                "barrier waits add a few per run). With one thread, the mixed pattern's cross-thread frees "
                "go to the thread's own queue.\n\n",
            ncpu, ncpu);
    fprintf(md, "## 10,000 live 32-byte secrets\n\n");
    fprintf(md, "| allocator | alloc ns/secret | free ns/secret | locked bytes per secret | locked after freeing all | after trim |\n");
    fprintf(md, "|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < NALLOC; i++) {
        if (!res[i].ok || i == FLOOR) continue;
        const result_t *r = &res[i];
        char trim[32] = "n/a";
        if (allocators[i].trim) snprintf(trim, sizeof trim, "%.0f", r->locked_after_trim);
        fprintf(md, "| %s | %.1f | %.1f | %.1f | %.0f | %s |\n", allocators[i].name, r->alloc_ns, r->free_ns,
                r->locked_per_secret, r->locked_after_free, trim);
    }
    fprintf(md, "\nLocked bytes are what the kernel charges against RLIMIT_MEMLOCK (VmLck), measured from "
                "just before the allocator was initialised: a heap locked up front (OpenSSL, libgcrypt, Botan) "
                "counts whole, and stays after everything is freed.\n\n");
    protect_result_t pr = protect_rampart();
#ifdef HAVE_SODIUM
    protect_result_t ps = protect_sodium();
#else
    protect_result_t ps = {false, 0};
#endif
    fprintf(md, "## Protection round trips (NONE then READ-WRITE) on a live 32-byte secret\n\n");
    fprintf(md, "| allocator | ns per round trip | relative to libsodium |\n|---|---:|---:|\n");
    if (pr.ok) {
        if (ps.ok) fprintf(md, "| rampart `rp_pool_protect` (guarded pool) | %.0f | %.2fx |\n", pr.ns, pr.ns / ps.ns);
        else fprintf(md, "| rampart `rp_pool_protect` (guarded pool) | %.0f | n/a (libsodium left out) |\n", pr.ns);
    } else {
        fprintf(md, "| rampart `rp_pool_protect` (guarded pool) | failed | |\n");
    }
    if (ps.ok) fprintf(md, "| libsodium `sodium_mprotect_noaccess` + `_readwrite` | %.0f | 1.00x |\n", ps.ns);
    fprintf(md, "\nEach round trip is two `mprotect` calls in both libraries; the figures are mostly the kernel's.\n\n");

    fprintf(md, "## Targets (issues 5 and 11)\n\n| target | reached | value |\n|---|---|---|\n");
    fprintf(md, "| 32-byte pair within 2x of glibc malloc | %s | %.2fx |\n", mark(rp->vs_glibc[0].med <= 2.0),
            rp->vs_glibc[0].med);
    static const size_t large[] = {8192, 65536, 262144, 1048576};
    for (size_t i = 0; i < sizeof large / sizeof large[0]; i++) {
        size_t s = size_index(large[i]);
        if (rp->pair_ok[s])
            fprintf(md, "| %s pair at most 1.5x the floor | %s | %.2fx |\n", size_name(large[i], b, sizeof b),
                    mark(rp->vs_floor[s].med <= 1.5), rp->vs_floor[s].med);
        else
            fprintf(md, "| %s pair at most 1.5x the floor | **no** | refused |\n", size_name(large[i], b, sizeof b));
    }
    const result_t *lp = NULL;
    for (size_t a = 0; a < NALLOC; a++)
        if (strcmp(allocators[a].name, "LockedPool model") == 0 && res[a].ok) lp = &res[a];
    if (lp) {
        int served = 0, faster = 0;
        double worst = 0;
        for (size_t s = 0; s < NSIZES; s++) {
            if (!lp->pair_ok[s]) continue;
            served++;
            double q = rp->pair_ok[s] ? rp->pair_ns[s] / lp->pair_ns[s] : 1e9;
            faster += q < 1.0;
            if (q > worst) worst = q;
        }
        fprintf(md, "| cheaper than the LockedPool model at every size it serves | %s | %d of %d sizes; worst: rampart "
                    "costs %.2fx the model |\n", mark(served > 0 && faster == served), faster, served, worst);
    }
    const result_t *cp = &res[RAMPART_CANARY];
    if (cp->ok) {
        double lo = 1e9, hi = 0;
        for (size_t s = 0; s < NSIZES; s++) {
            if (!cp->pair_ok[s] || !rp->pair_ok[s]) continue;
            double q = cp->pair_ns[s] / rp->pair_ns[s];
            if (q < lo) lo = q;
            if (q > hi) hi = q;
        }
        fprintf(md, "| a canary costs the same at every size | %s | with / without canary: %.2fx-%.2fx over the sizes |\n",
                mark(hi <= 1.5), lo, hi);
    }
    int last = nthread_counts - 1;
    if (thread_counts[last] >= 2 && rp->thr_ok[PAIRS][1])
        fprintf(md, "| 2 threads >= 1.6x one thread (32 B pairs) | %s | %.2fx |\n", mark(rp->speedup[PAIRS][1].med >= 1.6),
                rp->speedup[PAIRS][1].med);
    if (thread_counts[last] >= 16 && ncpu >= 16 && rp->thr_ok[MIXED][last] && res[GLIBC].thr_ok[MIXED][last]) {
        fprintf(md, "| mixed pattern, %d threads >= 12x one thread | %s | %.2fx |\n", thread_counts[last],
                mark(rp->speedup[MIXED][last].med >= 12), rp->speedup[MIXED][last].med);
        const spread_t *v = &rp->vs_glibc_thr[MIXED][last];
        fprintf(md, "| mixed pattern, %d threads: rampart >= glibc malloc | %s | %.2f vs %.2f Mops/s; %.2fx (%.2f-%.2f) |\n",
                thread_counts[last], mark(v->med >= 1.0), rp->mops[MIXED][last], res[GLIBC].mops[MIXED][last],
                v->med, v->lo, v->hi);
    } else {
        fprintf(md, "| mixed pattern, 16 threads >= 12x one thread, and >= glibc malloc | not measured | needs 16 "
                    "threads on 16 cores; this run: %d threads on %ld CPUs |\n", thread_counts[last], ncpu);
    }
    fprintf(md, "| <= 40 locked bytes per 32-byte secret, 10,000 live | %s | %.1f |\n",
            mark(rp->locked_per_secret <= 40), rp->locked_per_secret);
    fprintf(md, "| locked bytes back to baseline after freeing all | %s | %.0f bytes above baseline after "
                "rp_pool_trim (%.0f before it) |\n",
            mark(rp->locked_after_trim <= 0), rp->locked_after_trim, rp->locked_after_free);
    fprintf(md, "\n## What was measured\n\n");
    for (size_t i = 0; i < NALLOC; i++) fprintf(md, "- **%s**: %s\n", allocators[i].name, allocators[i].how);
}

/* gnuplot data, four blocks (pool.gp reads them by index): 0 pair cost / floor by size, 1 and 2
 * speed-up by thread count (pairs, mixed), each with a header line; 3 locked bytes per live
 * 32-byte secret, no header. '?': missing. */
static void write_data(FILE *dat, const result_t *res) {
    fprintf(dat, "size");
    for (size_t a = 1; a < NALLOC; a++) fprintf(dat, " \"%s\"", allocators[a].name);
    fprintf(dat, "\n");
    for (size_t s = 0; s < NSIZES; s++) {
        fprintf(dat, "%zu", pair_sizes[s]);
        for (size_t a = 1; a < NALLOC; a++) {
            if (res[a].ok && res[a].pair_ok[s]) fprintf(dat, " %.4f", res[a].vs_floor[s].med);
            else fprintf(dat, " ?");
        }
        fprintf(dat, "\n");
    }
    for (int p = 0; p < NPATTERNS; p++) {
        fprintf(dat, "\n\nthreads");
        for (size_t a = 1; a < NALLOC; a++) fprintf(dat, " \"%s\"", allocators[a].name);
        fprintf(dat, "\n");
        for (int t = 0; t < nthread_counts; t++) {
            fprintf(dat, "%d", thread_counts[t]);
            for (size_t a = 1; a < NALLOC; a++) {
                if (res[a].ok && res[a].thr_ok[p][t]) fprintf(dat, " %.4f", res[a].speedup[p][t].med);
                else fprintf(dat, " ?");
            }
            fprintf(dat, "\n");
        }
    }
    fprintf(dat, "\n\n");
    for (size_t a = 0; a < NALLOC; a++)
        if (res[a].ok && allocators[a].locks) fprintf(dat, "\"%s\" %.2f\n", allocators[a].name, res[a].locked_per_secret);
}

/* THREADS: a count N (1, 2, 4, ... N) or a list of counts separated by commas or spaces, rising,
 * each 1..MAX_THREADS, at most 8 with the 1 added in front when it is missing (every speed-up is
 * against one thread). false for anything else. */
static bool set_thread_counts(const char *arg) {
    int list[8], n = 0;
    const char *s = arg;
    while (*s != '\0') {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > MAX_THREADS || (n > 0 && v <= list[n - 1]) || n == 8) return false;
        list[n++] = (int)v;
        s = end;
        if (*s == ',' || *s == ' ') s++;
        else if (*s != '\0') return false;
    }
    if (n == 0) return false;
    nthread_counts = 0;
    if (n == 1) {
        for (int t = 1; t < list[0] && nthread_counts < 7; t *= 2) thread_counts[nthread_counts++] = t;
        thread_counts[nthread_counts++] = list[0];
        return true;
    }
    if (list[0] != 1) {
        if (n == 8) return false;
        thread_counts[nthread_counts++] = 1;
    }
    for (int i = 0; i < n; i++) thread_counts[nthread_counts++] = list[i];
    return true;
}

/* --run ALLOCATOR PATTERN THREADS: one pattern, REPS runs, figures on stdout, and last a line
 * "operations N" with every operation the process ran, calibration included, so that a count from
 * perf stat over the whole process can be taken per operation (contention.sh). */
static int run_one(const char *name, const char *pattern, int threads) {
    const allocator_t *a = NULL;
    for (size_t i = 0; i < NALLOC; i++)
        if (strcmp(allocators[i].name, name) == 0) a = &allocators[i];
    int p = -1;
    for (int i = 0; i < NPATTERNS; i++)
        if (strcmp(pattern, pattern_names[i]) == 0) p = i;
    if (a == NULL || p < 0 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "bench_pool --run: unknown allocator or pattern, or threads not in 1..%d\n", MAX_THREADS);
        return 2;
    }
    if (!a->init()) return 1;
    long iters = calibrate(a, (pattern_t)p, 32);
    if (iters == 0) return 1;
    for (int rep = 0; rep < REPS; rep++) {
        run_result_t r = job_run(a, (pattern_t)p, 32, iters, threads);
        if (!r.ok) return 1;
        printf("%s %s %d threads: %.3g Mops/s, %.2f voluntary switches / 1000 ops\n", name, pattern, threads,
               (double)iters * threads / r.seconds / 1e6, (double)r.switches * 1000.0 / ((double)iters * threads));
    }
    printf("operations %lld\n", operations_run);
    return 0;
}

int main(int argc, char **argv) {
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (argc == 5 && strcmp(argv[1], "--run") == 0) return run_one(argv[2], argv[3], atoi(argv[4]));
    if (argc >= 2 && strcmp(argv[1], "--large") == 0) {
        if (argc == 3) return run_large(argv[2]);
        fprintf(stderr, "usage: %s --large REPORT.md\n", argv[0]);
        return 2;
    }
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NALLOC; i++) printf("%s\n", allocators[i].name);
        return 0;
    }
    if ((argc != 3 && argc != 4) || !set_thread_counts(argc == 4 ? argv[3] : "2")) {
        fprintf(stderr, "usage: %s REPORT.md DATA.dat [THREADS: N (1, 2, 4, ... N) or a rising list such as 1,4,16; "
                        "each 1..%d, at most 8]\n"
                        "       %s --run ALLOCATOR pairs|mixed THREADS\n       %s --list\n", argv[0], MAX_THREADS,
                argv[0], argv[0]);
        return 2;
    }
    static result_t res[NALLOC];
    for (size_t i = 0; i < NALLOC; i++) {
        fprintf(stderr, "bench_pool: %s: 10,000 live secrets ...\n", allocators[i].name);
        res[i].baseline = vm_locked();
        res[i].ok = allocators[i].init();
        if (res[i].ok) batch_run(&allocators[i], &res[i]);
        if (res[i].ok && allocators[i].trim) allocators[i].trim();
        if (!res[i].ok) fprintf(stderr, "bench_pool: %s failed; left out\n", allocators[i].name);
    }
    if (!res[FLOOR].ok || !res[GLIBC].ok || !res[RAMPART].ok) {
        fprintf(stderr, "bench_pool: the references or rampart failed; no report\n");
        return 1;
    }
    measure_pairs(res);
    static large_result_t lres[NLARGE_ALLOC];
    bool ready[NLARGE_ALLOC];
    for (size_t a = 0; a < NLARGE_ALLOC; a++) {
        const allocator_t *al = allocator_named(large_names[a]);
        ready[a] = false;
        for (size_t i = 0; al != NULL && i < NALLOC; i++)
            if (&allocators[i] == al) ready[a] = res[i].ok;
    }
    measure_large(lres, ready);
    measure_threads(res);

    FILE *md = fopen(argv[1], "w");
    FILE *dat = fopen(argv[2], "w");
    if (!md || !dat) {
        perror("bench_pool: output");
        return 1;
    }
    /* The chart sits next to the report under the same name: pool.md -> pool.png. */
    const char *base = strrchr(argv[1], '/');
    base = base ? base + 1 : argv[1];
    char png[256];
    snprintf(png, sizeof png, "%.*s.png", (int)(strlen(base) > 3 ? strlen(base) - 3 : strlen(base)), base);
    write_report(md, png, res, lres);
    write_data(dat, res);
    fclose(md);
    fclose(dat);
    const result_t *rp = &res[RAMPART];
    fprintf(stderr, "bench_pool: rampart 32 B pair %.2fx glibc, 8 KiB %.2fx the floor, 1 MiB %.2fx, %.1f locked "
                    "bytes per secret\n",
            rp->vs_glibc[0].med, rp->vs_floor[size_index(8192)].med, rp->vs_floor[size_index(1048576)].med,
            rp->locked_per_secret);
    return 0;
}
