/* SPDX-License-Identifier: MIT */
/* heap_preload_info.c — run under librampart-malloc.so (test_heap_preload_info): mallinfo2,
 * mallinfo, malloc_stats, malloc_info and malloc_trim must describe rampart's heap, not glibc's.
 *
 * A plain program (no rampart headers): it allocates, then asks glibc's introspection calls.
 * Without the preload, glibc answers (malloc_info says version "1", malloc_stats says "Arena 0")
 * and the program fails, so the test cannot pass by accident. Exit 0: all answers are rampart's.
 * mallinfo is deprecated in glibc's header but still called by programs, so it is tested too.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload_expect.h"

/* What fn writes to stderr (fd 2), through a temporary file. */
static size_t capture_stderr(void (*fn)(void), char *buf, size_t size) {
    FILE *tmp = tmpfile();
    if (tmp == NULL) return 0;
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(buf, 1, size - 1, tmp);
    buf[n] = '\0';
    fclose(tmp);
    return n;
}

int main(void) {
    /* Volatile, so that the compiler keeps the allocations: clang removes a malloc whose block
     * is only written and freed. */
    void *volatile big = malloc(1 << 20);
    void *volatile small[10];
    for (int i = 0; i < 10; i++) small[i] = malloc(100);
    EXPECT(big != NULL);
    memset(big, 1, 1 << 20);

    struct mallinfo2 m2 = mallinfo2();
    EXPECT(m2.uordblks >= (1 << 20) + 10 * 100); /* live bytes include both */
    EXPECT(m2.hblks >= 1);                       /* the 1 MiB block is a large block */
    EXPECT(m2.arena >= m2.uordblks && m2.fordblks == m2.arena - m2.uordblks);
    struct mallinfo m1 = mallinfo();
    EXPECT((size_t)m1.uordblks == m2.uordblks || m1.uordblks == 2147483647);

    char out[16384];
    capture_stderr(malloc_stats, out, sizeof out);
    EXPECT(strstr(out, "rampart heap ") != NULL && strstr(out, "large blocks") != NULL);
    EXPECT(strstr(out, "Arena 0") == NULL);

    FILE *tmp = tmpfile();
    EXPECT(tmp != NULL);
    if (tmp != NULL) {
        EXPECT(malloc_info(0, tmp) == 0);
        rewind(tmp);
        size_t n = fread(out, 1, sizeof out - 1, tmp);
        out[n] = '\0';
        EXPECT(strstr(out, "<malloc version=\"rampart-1\">") != NULL);
        EXPECT(strstr(out, "to=\"112\"") != NULL && strstr(out, "count=\"10\"") != NULL);
        EXPECT(malloc_info(1, tmp) == -1);
        fclose(tmp);
    }

    free(big);
    for (int i = 0; i < 10; i++) free(small[i]);
    int trimmed = malloc_trim(0);
    EXPECT(trimmed == 0 || trimmed == 1);
    EXPECT(mallinfo2().uordblks < m2.uordblks); /* the frees are seen */
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
