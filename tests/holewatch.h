/* SPDX-License-Identifier: MIT */
/* tests/holewatch.h — for tests of a growth the kernel refuses: a watcher thread whose mappings
 * must survive it, and the size the kernel refuses.
 *
 * mremap onto a fixed destination unmaps the destination first, and some refusals come after that:
 * code that then gives back "its" reservation unmaps whatever another thread mapped into the hole
 * meanwhile. The watcher reserves 1 GiB areas one after another (address space only: no access,
 * no commit), keeps up to 8, and checks after each reservation that every area it keeps is still
 * mapped at both ends (mincore fails with ENOMEM on an unmapped page). Areas that large go where
 * such a hole would be, not into the small gaps between the process's other mappings. Linux.
 */
#ifndef RP_TEST_HOLEWATCH_H
#define RP_TEST_HOLEWATCH_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#include "testhelper.h"

#define HW_AREAS 8
#define HW_AREA ((size_t)1 << 30)

static atomic_bool hw_watching;

static bool hw_mapped(unsigned char *area) {
    unsigned char vec[1];
    return !(mincore(area, 4096, vec) != 0 && errno == ENOMEM) &&
           !(mincore(area + HW_AREA - 4096, 4096, vec) != 0 && errno == ENOMEM);
}

static void *hw_watcher(void *arg) {
    (void)arg;
    uintptr_t lost = 0;
    unsigned char *area[HW_AREAS];
    unsigned n = 0;
    while (atomic_load(&hw_watching) && lost == 0) {
        void *a = mmap(NULL, HW_AREA, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (a == MAP_FAILED) continue;
        area[n++] = a;
        for (unsigned i = 0; i < n; i++)
            if (!hw_mapped(area[i])) lost++;
        if (n == HW_AREAS && lost == 0) {
            for (unsigned i = 0; i < n; i++) munmap(area[i], HW_AREA);
            n = 0;
        }
    }
    /* A lost area's place may be another mapping now: leave every area of a failed run alone. */
    if (lost == 0)
        for (unsigned i = 0; i < n; i++) munmap(area[i], HW_AREA);
    return (void *)lost;
}

/* Start the watcher: 0, or pthread_create's error. */
static int hw_start(pthread_t *t) {
    atomic_store(&hw_watching, true);
    return pthread_create(t, NULL, hw_watcher, NULL);
}

/* Stop it: how many of its areas it found unmapped under it (SIZE_MAX: the join failed). */
static size_t hw_stop(pthread_t t) {
    atomic_store(&hw_watching, false);
    void *lost = NULL;
    return pthread_join(t, &lost) == 0 ? (size_t)(uintptr_t)lost : SIZE_MAX;
}

/* Bytes the kernel refuses to commit at once under its default heuristic: twice memory and swap
 * together. 0 when it commits anything (vm.overcommit_memory = 1) or the figures are unknown. */
static size_t hw_refused_growth(void) {
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    int mode = -1;
    if (f != NULL) {
        if (fscanf(f, "%d", &mode) != 1) mode = -1;
        fclose(f);
    }
    if (mode == 1 || mode < 0) return 0;
    f = fopen("/proc/meminfo", "r");
    if (f == NULL) return 0;
    char line[128];
    unsigned long long kib = 0, v = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1 || sscanf(line, "SwapTotal: %llu kB", &v) == 1) kib += v;
    fclose(f);
    unsigned long long bytes = kib * 1024ull * 2ull;
    return kib == 0 || bytes > (SIZE_MAX >> 3) ? 0 : (size_t)bytes;
}

/* Make rounds growths the kernel refuses (attempt(huge): true when its growth failed cleanly)
 * while the watcher runs: every one fails cleanly and the watcher loses nothing. */
static void hw_check_refusals(bool (*attempt)(size_t huge), unsigned rounds) {
    size_t huge = hw_refused_growth();
    if (huge == 0) {
        fprintf(stderr, "    (skipped: this kernel commits any size, so no growth is refused)\n");
        return;
    }
    pthread_t t;
    REQUIRE(hw_start(&t) == 0);
    unsigned failed = 0;
    for (unsigned i = 0; i < rounds; i++) failed += attempt(huge);
    size_t lost = hw_stop(t);
    CHECK_SAYING(failed == rounds, "%u of %u growths to %zu bytes failed cleanly", failed, rounds, huge);
    CHECK_SAYING(lost == 0, "another thread's mappings were unmapped under it (%zu seen lost)", lost);
}

#endif
