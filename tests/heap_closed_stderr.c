/* SPDX-License-Identifier: MIT */
/* tests/heap_closed_stderr.c — a program that closes its standard error in an atexit handler, as
 * gnulib's close_stdout does in ls, cat, sort and the other coreutils. Run under the preload with
 * RAMPART_SHOW_STATS=1 (test_heap_preload_show_stats_closed), the heap's report at exit, which
 * runs after atexit handlers, must still reach what was standard error.
 *
 * With a file name (test_heap_preload_show_stats_reused) it first closes every descriptor above
 * 2, as a daemon's closefrom does, and opens that file on each number from 3 to 127 that it can:
 * the heap's kept copy of stderr is gone, and its number now belongs to the program's own file,
 * which the report must not go into.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static void close_stderr(void) { close(STDERR_FILENO); }

int main(int argc, char **argv) {
    /* Volatile: clang removes a malloc whose block is only freed. */
    void *volatile block = malloc(100);
    free(block);
    if (argc > 1) {
        for (int fd = 3; fd < 128; fd++) close(fd);
        int file = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (file < 0) return 2;
        for (int fd = 3; fd < 128; fd++)
            if (fd != file && dup2(file, fd) != fd) return 3;
    }
    return atexit(close_stderr) == 0 ? 0 : 1;
}
