/* SPDX-License-Identifier: MIT */
/* tests/vg_plain.c — a plain C program with one bug per run (overflow, use after free,
 * uninitialised read, 100-byte leak) or none ("clean": threads, realloc, calloc, posix_memalign),
 * run under Valgrind with librampart-malloc.so preloaded (tests/valgrind.sh): memcheck must
 * report rampart's blocks as it reports glibc's. Knows nothing of rampart.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The bugs are on purpose: GCC sees some of them too. */
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

static __attribute__((noinline)) void leak(void) {
    volatile char *p = malloc(100);
    p[0] = 1;
}

static __attribute__((noinline)) void scrub_stack(void) {
    volatile char junk[4096];
    memset((char *)junk, 0, sizeof junk);
}

static void *remote_free(void *arg) {
    void **blocks = arg;
    for (int i = 0; i < 32; i++) free(blocks[i]);
    return NULL;
}

static int clean(void) {
    void *blocks[32];
    for (int i = 0; i < 32; i++) {
        blocks[i] = malloc((size_t)(i * 40 + 1));
        memset(blocks[i], i, (size_t)(i * 40 + 1));
    }
    pthread_t t;
    if (pthread_create(&t, NULL, remote_free, blocks) != 0) return 1;
    pthread_join(t, NULL);
    char *p = malloc(10);
    memcpy(p, "0123456789", 10);
    p = realloc(p, 200000);
    p[199999] = 'x';
    p = realloc(p, 4);
    if (memcmp(p, "0123", 4) != 0) return 2;
    free(p);
    unsigned char *z = calloc(30, 3);
    for (int i = 0; i < 90; i++)
        if (z[i] != 0) return 3;
    free(z);
    void *al = NULL;
    if (posix_memalign(&al, 512, 100) != 0) return 4;
    memset(al, 1, 100);
    free(al);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "clean";
    volatile char *p;
    if (strcmp(mode, "overflow") == 0) {
        p = malloc(100);
        p[100] = 1;
        free((void *)p);
    } else if (strcmp(mode, "use-after-free") == 0) {
        p = malloc(100);
        memset((void *)p, 1, 100);
        free((void *)p);
        p[10] = 2;
    } else if (strcmp(mode, "uninitialised") == 0) {
        p = malloc(100);
        if (p[50] == 7) puts("seven");
        free((void *)p);
    } else if (strcmp(mode, "leak") == 0) {
        leak();
        scrub_stack();
    } else if (strcmp(mode, "clean") == 0) {
        int rc = clean();
        if (rc != 0) fprintf(stderr, "vg_plain clean: step %d failed\n", rc);
        return rc;
    } else {
        fprintf(stderr, "vg_plain: unknown mode %s\n", mode);
        return 2;
    }
    return 0;
}
