/* SPDX-License-Identifier: MIT */
/* lock_helper.c — a partly locked process for `rampart status` to judge: it takes one 32-byte
 * secret from the default pool (a locked arena: VmLck > 0) and locks nothing else, prints its
 * pid, and waits until its standard input closes. Exit 1 when the secret cannot be had.
 */
#include <stdio.h>
#include <unistd.h>

#include "rampart.h"

int main(void) {
    void *secret = rp_secret_alloc(32);
    if (secret == NULL) {
        fprintf(stderr, "lock_helper: %s\n", rp_last_error()->message);
        return 1;
    }
    printf("%d\n", (int)getpid());
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    rp_secret_free(secret);
    return 0;
}
