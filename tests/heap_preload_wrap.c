/* SPDX-License-Identifier: MIT */
/* heap_preload_wrap.c — run under librampart-malloc.so (test_heap_preload_wrap): a program that
 * defines malloc and free on top of glibc's __libc_malloc and __libc_free, as hook and tracing
 * libraries do. The preload exports those names too; they must reach its heap, not the exported
 * malloc, which here is the program's own: calling it went round forever (a loop of tail calls;
 * the test's timeout turns that into a failure).
 * Fails when malloc_info is not rampart's (the preload missing).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *p, size_t size);

static unsigned long wrapped;

void *malloc(size_t size) {
    wrapped++;
    return __libc_malloc(size);
}
void free(void *p) { __libc_free(p); }
void *calloc(size_t count, size_t size) {
    wrapped++;
    return __libc_calloc(count, size);
}
void *realloc(void *p, size_t size) {
    wrapped++;
    return __libc_realloc(p, size);
}

int main(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len); /* allocates through the wrappers */
    if (m == NULL) return 1;
    malloc_info(0, m);
    fclose(m);
    int ours = buf != NULL && strstr(buf, "rampart") != NULL;
    free(buf);
    if (!ours) {
        fprintf(stderr, "FAILED: malloc_info is not rampart's: run this under LD_PRELOAD=librampart-malloc.so\n");
        return 1;
    }
    char *p = malloc(100);
    p = realloc(p, 5000);
    if (p == NULL) return 1;
    strcpy(p, "ok");
    printf("%s after %lu wrapped calls\n", p, wrapped);
    free(p);
    return wrapped > 0 ? 0 : 1;
}
