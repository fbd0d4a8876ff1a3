/* SPDX-License-Identifier: MIT */
/* tests/heap_closed_stderr.c — a program that closes its standard error in an atexit handler, as
 * gnulib's close_stdout does in ls, cat, sort and the other coreutils. Run under the preload with
 * RAMPART_SHOW_STATS=1 (test_heap_preload_show_stats_closed), the heap's report at exit, which
 * runs after atexit handlers, must still reach what was standard error.
 */
#include <stdlib.h>
#include <unistd.h>

static void close_stderr(void) { close(STDERR_FILENO); }

int main(void) {
    /* Volatile: clang removes a malloc whose block is only freed. */
    void *volatile block = malloc(100);
    free(block);
    return atexit(close_stderr) == 0 ? 0 : 1;
}
