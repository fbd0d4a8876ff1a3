/* SPDX-License-Identifier: MIT */
/* tests/vg_heap.c — one bug per run, for Valgrind memcheck to report (tests/valgrind.sh): an
 * overflow, a use after free, an uninitialised read and a 100-byte leak of rp_heap_malloc
 * blocks, and "clean", which exercises every path that annotates (threads, realloc, calloc,
 * rp_free_part, donation, large blocks, in-place resize to 0 bytes too, validate, destroy) and
 * must give no error at all. Run outside Valgrind it only does what it says (the bugs are small ones).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rampart.h"

static rp_heap_t *heap;

/* Allocations and the bug in functions of their own, so that no stale copy of a pointer stays in
 * main's frame for the leak search to find. */
static __attribute__((noinline)) void leak(void) {
    volatile char *p = rp_heap_malloc(heap, 100);
    p[0] = 1;
}

static __attribute__((noinline)) void scrub_stack(void) {
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

static void *remote_free(void *arg) {
    void **blocks = arg;
    for (int i = 0; i < 64; i++) rp_free(blocks[i]);
    return NULL;
}

static int clean(void) {
    /* The default heap, from two threads: blocks freed by a thread that does not own them. */
    void *blocks[64];
    for (int i = 0; i < 64; i++) {
        blocks[i] = rp_malloc((size_t)(i * 24 + 1));
        memset(blocks[i], i, (size_t)(i * 24 + 1));
    }
    pthread_t t;
    if (pthread_create(&t, NULL, remote_free, blocks) != 0) return 1;
    pthread_join(t, NULL);
    for (int i = 0; i < 64; i++) rp_free(rp_malloc(40)); /* the owner collects them */

    /* realloc keeps the bytes (grow, shrink, in place), calloc is zeros, usable size. */
    char *p = rp_heap_malloc(heap, 10);
    memcpy(p, "0123456789", 10);
    p = rp_heap_realloc(heap, p, 3000);
    p[2999] = 'x';
    p = rp_heap_realloc(heap, p, 5);
    if (memcmp(p, "01234", 5) != 0) return 2;
    if (rp_realloc_in_place(p, 8) == p) p[7] = '7';
    char *r = rp_heap_malloc(heap, 100);
    memset(r, 1, 100);
    r = rp_heap_realloc(heap, r, 110); /* in place: its class holds 112 bytes */
    r[109] = 2;
    if (r[99] != 1) return 8;
    rp_free(r);
    rp_free(p);
    unsigned char *z = rp_heap_calloc(heap, 50, 2);
    for (int i = 0; i < 100; i++)
        if (z[i] != 0) return 3;
    if (rp_usable_size(z) < 100) return 4;
    rp_free(z);

    /* Large blocks, aligned blocks, a sized free. */
    char *big = rp_heap_malloc(heap, 300 * 1000);
    memset(big, 1, 300 * 1000);
    rp_free(big);
    char *al = rp_heap_aligned_alloc(heap, 256, 100);
    memset(al, 2, 100);
    rp_free_sized(al, 100);

    /* rp_free_part: the tail first, then the head, which completes the block. */
    char *part = rp_heap_malloc(heap, 200);
    memset(part, 3, 200);
    if (rp_free_part(part + 100, 100) != RP_OK || rp_free_part(part, 100) != RP_OK) return 5;

    /* Shrinking in place always succeeds, to 0 bytes too (memcheck took that for a free). */
    char *none = rp_heap_malloc(heap, 100);
    if (rp_realloc_in_place(none, 0) != none) return 9;
    rp_free(none);
    none = rp_heap_malloc(heap, 300 * 1000);
    if (rp_realloc_in_place(none, 0) != none) return 10;
    rp_free(none);

    /* Releasing [0, rp_usable_size) frees any block, an aligned one included; under Valgrind the
     * usable size is the size asked for, and that release must free it too. */
    rp_heap_stats_t before = {RP_SIZED(rp_heap_stats_t)}, after = {RP_SIZED(rp_heap_stats_t)};
    if (rp_heap_stats(heap, &before) != RP_OK) return 11;
    char *aligned = rp_heap_aligned_alloc(heap, 256, 20);
    memset(aligned, 6, 20);
    if (rp_free_part(aligned, rp_usable_size(aligned)) != RP_OK) return 12;
    if (rp_heap_stats(heap, &after) != RP_OK || after.allocated != before.allocated) return 13;

    /* Donation: blocks from a buffer of ours, which is ours again after the destroy. */
    static _Alignas(4096) char donated[16384];
    rp_heap_t *d = NULL;
    if (rp_heap_create(NULL, &d) != RP_OK || rp_heap_donate(d, donated, sizeof donated) != RP_OK) return 6;
    char *db = rp_heap_malloc(d, 64);
    memset(db, 4, 64);
    rp_free(db);
    if (rp_heap_validate(heap) != RP_OK) return 7;
    /* A block still live when its heap is destroyed is not a leak. */
    char *kept = rp_heap_malloc(d, 64);
    kept[0] = 1;
    rp_heap_destroy(d);
    memset(donated, 5, sizeof donated);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "clean";
    if (rp_heap_create(NULL, &heap) != RP_OK) return 1;
    volatile char *p;
    if (strcmp(mode, "overflow") == 0) {
        p = rp_heap_malloc(heap, 100);
        p[100] = 1; /* one byte past the block */
        rp_free((void *)p);
    } else if (strcmp(mode, "use-after-free") == 0) {
        p = rp_heap_malloc(heap, 100);
        memset((void *)p, 1, 100);
        rp_free((void *)p);
        p[10] = 2;
    } else if (strcmp(mode, "uninitialised") == 0) {
        p = rp_heap_malloc(heap, 100);
        if (p[50] == 7) puts("seven"); /* a decision on a byte never written */
        rp_free((void *)p);
    } else if (strcmp(mode, "leak") == 0) {
        leak();
        scrub_stack();
        return 0; /* the heap is not destroyed: its block is lost, not freed */
    } else if (strcmp(mode, "clean") == 0) {
        int rc = clean();
        if (rc != 0) {
            fprintf(stderr, "vg_heap clean: step %d failed\n", rc);
            return rc;
        }
    } else {
        fprintf(stderr, "vg_heap: unknown mode %s\n", mode);
        return 2;
    }
    rp_heap_destroy(heap);
    return 0;
}
