/* SPDX-License-Identifier: MIT */
/* core/corruption.c — the one place where a failed security check ends.
 *
 * Double frees, foreign pointers, damaged canaries and damaged metadata all call rp__corrupt().
 * It calls the user's handler (if any) and then aborts: a handler may log or flush, but the
 * process does not continue with a heap it has found inconsistent. The message is formatted into
 * a stack buffer and written with one system call: no stdio buffering, no allocation, so it
 * works when the allocator itself is what broke.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "os/os.h"

/* Handler and context are published together through one pointer to an immutable pair, so a
 * concurrent rp_set_corruption_handler never yields a handler with the wrong context. */
typedef struct rp__corruption_slot {
    rp_corruption_handler_t handler;
    void *ctx;
} rp__corruption_slot_t;

static rp__corruption_slot_t rp__slots[2];
static _Atomic(rp__corruption_slot_t *) rp__current;
static rp__os_mutex_t rp__slot_lock = RP__OS_MUTEX_INIT;

void rp_set_corruption_handler(rp_corruption_handler_t handler, void *ctx) {
    rp__os_mutex_lock(&rp__slot_lock);
    if (handler == NULL) {
        atomic_store(&rp__current, NULL);
    } else {
        rp__corruption_slot_t *cur = atomic_load(&rp__current);
        rp__corruption_slot_t *next = (cur == &rp__slots[0]) ? &rp__slots[1] : &rp__slots[0];
        next->handler = handler;
        next->ctx = ctx;
        atomic_store(&rp__current, next);
    }
    rp__os_mutex_unlock(&rp__slot_lock);
}

void rp__corrupt(const char *what, const void *addr) {
    rp__corruption_slot_t *slot = atomic_load(&rp__current);
    if (slot != NULL) {
        slot->handler(what, addr, slot->ctx);
    } else {
        char line[256];
        int n = snprintf(line, sizeof line, "rampart(%d): %s at %p\n", rp__os_getpid(), what, addr);
        if (n > 0) rp__os_write_stderr(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    abort();
}
