/* SPDX-License-Identifier: MIT */
/* lock_helper.c — processes for `rampart status` to judge. Each prints its pid and waits until its
 * standard input closes.
 *   (no argument)  partly locked: one 32-byte secret from the default pool (a locked arena:
 *                  VmLck > 0), nothing else locked. Exit 1 when the secret cannot be had.
 *   beyond-ram     maps twice the machine's memory, writable and untouched (MAP_NORESERVE):
 *                  locking its current memory must be refused before it is tried. Exit 77 when
 *                  the kernel refuses such a mapping (strict overcommit).
 */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rampart.h"

static void wait_for_stdin(void) {
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "beyond-ram")) {
        size_t ram = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE);
        void *p = mmap(NULL, 2 * ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            perror("lock_helper: mapping twice the machine's memory");
            return 77;
        }
        printf("%d\n", (int)getpid());
        fflush(stdout);
        wait_for_stdin();
        return 0;
    }
    void *secret = rp_secret_alloc(32);
    if (secret == NULL) {
        fprintf(stderr, "lock_helper: %s\n", rp_last_error()->message);
        return 1;
    }
    printf("%d\n", (int)getpid());
    fflush(stdout);
    wait_for_stdin();
    rp_secret_free(secret);
    return 0;
}
