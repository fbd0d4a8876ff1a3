/* SPDX-License-Identifier: MIT */
/* bench_pool.c — the secure pool against glibc malloc and the secure allocators of libsodium,
 * OpenSSL, libgcrypt and Botan, side by side in one run (issue 5).
 *
 * Measures, for each allocator:
 *   pairs  alloc + touch one byte + free of 32, 256 and 4096 bytes, on 1 thread and on 2 threads
 *          at once (throughput of both together); ns per pair and the ratio to glibc malloc
 *   batch  10,000 live 32-byte secrets: ns per alloc and per free, bytes the kernel charges as
 *          locked (VmLck) per secret, and locked bytes left after freeing them all (rampart:
 *          also after rp_pool_trim) — all relative to VmLck before the allocator was initialised
 *   protect  one NONE + READ-WRITE round trip on a live 32-byte guarded secret: rp_pool_protect
 *          against libsodium's sodium_mprotect_noaccess + sodium_mprotect_readwrite (ns per
 *          round trip: two mprotect calls each, so mostly the kernel's cost)
 * Every figure is the median of REPS repetitions; each repetition is sized to take about
 * TARGET_MS. Writes a markdown report and a data file for gnuplot (bench/pool/pool.gp).
 *
 * Usage: bench_pool REPORT.md DATA.dat
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum { REPS = 5, TARGET_MS = 40, BATCH = 10000 };
static const size_t pair_sizes[] = {32, 256, 4096};
#define NSIZES (sizeof pair_sizes / sizeof pair_sizes[0])

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
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

static rp_pool_t *pool;
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

static const allocator_t allocators[] = {
    {"glibc malloc", "malloc / free", init_none, glibc_alloc, glibc_free, NULL, false},
    {"rampart pool", "rp_pool_alloc / rp_pool_free (default pool config: locked, guards, wipe)", rampart_init,
     rampart_alloc, rampart_free, rampart_trim, true},
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
    {"Botan", "Botan::allocate_memory / deallocate_memory (its 512 KiB mlock pool takes requests up to 256 B; larger ones, such as the 4096 B pairs, get calloc memory that is not locked)", init_none, botan_alloc,
     botan_shim_free, NULL, true},
#endif
};
#define NALLOC (sizeof allocators / sizeof allocators[0])

/* ---- pairs ------------------------------------------------------------------------------------- */

typedef struct pair_job {
    const allocator_t *a;
    size_t size;
    long iters;
    pthread_barrier_t *start;
    int failed;
} pair_job_t;

static void pair_loop(pair_job_t *j) {
    for (long i = 0; i < j->iters; i++) {
        volatile char *p = j->a->alloc(j->size);
        if (p == NULL) {
            j->failed = 1;
            return;
        }
        p[0] = 1;
        j->a->release((void *)p, j->size);
    }
}

static void *pair_thread(void *arg) {
    pair_job_t *j = arg;
    pthread_barrier_wait(j->start);
    pair_loop(j);
    return NULL;
}

/* Seconds for `threads` threads each doing iters pairs at once. */
static double pair_run(const allocator_t *a, size_t size, long iters, int threads, int *failed) {
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_t t[2];
    pair_job_t j[2];
    for (int i = 0; i < threads; i++) {
        j[i] = (pair_job_t){a, size, iters, &start, 0};
        pthread_create(&t[i], NULL, pair_thread, &j[i]);
    }
    pthread_barrier_wait(&start);
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double dt = now() - t0;
    pthread_barrier_destroy(&start);
    for (int i = 0; i < threads; i++) *failed |= j[i].failed;
    return dt;
}

/* Iterations that take about TARGET_MS on one thread. */
static long pair_calibrate(const allocator_t *a, size_t size) {
    pair_job_t j = {a, size, 200, NULL, 0};
    pair_loop(&j); /* warm up */
    double t0 = now();
    pair_loop(&j);
    double per = (now() - t0) / 200;
    long n = (long)(TARGET_MS * 1e-3 / (per > 1e-9 ? per : 1e-9));
    return n < 500 ? 500 : n;
}

typedef struct result {
    bool ok;
    double pair_ns[NSIZES];      /* one thread: ns per pair */
    double pair2_ns[NSIZES];     /* two threads: ns per pair of combined throughput */
    double scaling[NSIZES];      /* throughput 2 threads / 1 thread */
    double alloc_ns, free_ns;    /* batch: per secret */
    double locked_per_secret;    /* batch: VmLck growth / BATCH */
    double locked_after_free;    /* bytes above the baseline after freeing all */
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

static void measure(const allocator_t *a, result_t *r) {
    r->baseline = vm_locked();
    r->ok = a->init();
    if (!r->ok) return;
    for (size_t s = 0; s < NSIZES; s++) {
        long iters = pair_calibrate(a, pair_sizes[s]);
        double one[REPS], two[REPS], sc[REPS];
        int failed = 0;
        for (int rep = 0; rep < REPS; rep++) {
            double t1 = pair_run(a, pair_sizes[s], iters, 1, &failed);
            double t2 = pair_run(a, pair_sizes[s], iters, 2, &failed);
            one[rep] = t1 * 1e9 / (double)iters;
            two[rep] = t2 * 1e9 / (2.0 * (double)iters);
            sc[rep] = (2.0 * (double)iters / t2) / ((double)iters / t1);
        }
        if (failed) {
            r->ok = false;
            return;
        }
        r->pair_ns[s] = median(one, REPS);
        r->pair2_ns[s] = median(two, REPS);
        r->scaling[s] = median(sc, REPS);
    }
    if (a->trim) a->trim();
    batch_run(a, r);
}

/* ---- report ------------------------------------------------------------------------------------ */

static const char *mark(bool ok) { return ok ? "yes" : "**no**"; }

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

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s REPORT.md DATA.dat\n", argv[0]);
        return 2;
    }
    static result_t res[NALLOC];
    for (size_t i = 0; i < NALLOC; i++) {
        fprintf(stderr, "bench_pool: %s ...\n", allocators[i].name);
        measure(&allocators[i], &res[i]);
        if (!res[i].ok) fprintf(stderr, "bench_pool: %s failed; left out\n", allocators[i].name);
    }
    const result_t *g = &res[0], *rp = &res[1];

    FILE *md = fopen(argv[1], "w");
    FILE *dat = fopen(argv[2], "w");
    if (!md || !dat) {
        perror("bench_pool: output");
        return 1;
    }
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    rp_system_info(&si);
    fprintf(md, "# Secure pool benchmark\n\n");
    fprintf(md, "Written by `make bench` (bench/pool/bench_pool.c) on %s, %ld CPUs; one run, every figure the "
                "median of %d repetitions. Ratios are against glibc `malloc`/`free` measured in the same run.\n\n",
            si.os, sysconf(_SC_NPROCESSORS_ONLN), REPS);
    fprintf(md, "![secure pool benchmark](pool.png)\n\n");
    fprintf(md, "## Alloc + free pairs (one byte touched), cost relative to glibc malloc\n\n");
    fprintf(md, "| allocator | 32 B | 256 B | 4096 B | 32 B, 2 threads: scaling | 256 B scaling | 4096 B scaling |\n");
    fprintf(md, "|---|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < NALLOC; i++) {
        if (!res[i].ok) continue;
        fprintf(md, "| %s |", allocators[i].name);
        for (size_t s = 0; s < NSIZES; s++) fprintf(md, " %.2fx (%.1f ns) |", res[i].pair_ns[s] / g->pair_ns[s], res[i].pair_ns[s]);
        for (size_t s = 0; s < NSIZES; s++) fprintf(md, " %.2fx |", res[i].scaling[s]);
        fprintf(md, "\n");
    }
    fprintf(md, "\nScaling is the throughput of two threads running pairs at once divided by one thread's "
                "(2.00x is perfect on two cores).\n\n");
    fprintf(md, "## 10,000 live 32-byte secrets\n\n");
    fprintf(md, "| allocator | alloc ns/secret | free ns/secret | locked bytes per secret | locked after freeing all | after trim |\n");
    fprintf(md, "|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < NALLOC; i++) {
        if (!res[i].ok) continue;
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
    fprintf(md, "## Targets (issue 5)\n\n| target | reached | value |\n|---|---|---|\n");
    double r32 = rp->pair_ns[0] / g->pair_ns[0];
    fprintf(md, "| 32-byte pair within 2x of glibc malloc | %s | %.2fx |\n", mark(r32 <= 2.0), r32);
    fprintf(md, "| 2 threads >= 1.6x one thread (32 B) | %s | %.2fx |\n", mark(rp->scaling[0] >= 1.6), rp->scaling[0]);
    fprintf(md, "| <= 40 locked bytes per 32-byte secret, 10,000 live | %s | %.1f |\n",
            mark(rp->locked_per_secret <= 40), rp->locked_per_secret);
    fprintf(md, "| locked bytes back to baseline after freeing all | %s | %.0f bytes above baseline after "
                "rp_pool_trim (%.0f before it) |\n",
            mark(rp->locked_after_trim <= 0), rp->locked_after_trim, rp->locked_after_free);
    fprintf(md, "\n## What was measured\n\n");
    for (size_t i = 0; i < NALLOC; i++) fprintf(md, "- **%s**: %s\n", allocators[i].name, allocators[i].how);
    fclose(md);

    /* gnuplot data: name, ratio 32/256/4096, scaling 32/256/4096, locked per secret */
    for (size_t i = 0; i < NALLOC; i++) {
        if (!res[i].ok) continue;
        const result_t *r = &res[i];
        fprintf(dat, "\"%s\"", allocators[i].name);
        for (size_t s = 0; s < NSIZES; s++) fprintf(dat, " %.4f", r->pair_ns[s] / g->pair_ns[s]);
        for (size_t s = 0; s < NSIZES; s++) fprintf(dat, " %.4f", r->scaling[s]);
        fprintf(dat, " %.2f\n", allocators[i].locks ? r->locked_per_secret : 0.0);
    }
    fclose(dat);
    fprintf(stderr, "bench_pool: rampart 32 B pair %.2fx glibc, 2-thread scaling %.2fx, %.1f locked bytes per "
                    "secret, %.0f locked bytes left after free + trim\n",
            r32, rp->scaling[0], rp->locked_per_secret, rp->locked_after_trim);
    return 0;
}
