/* SPDX-License-Identifier: MIT */
/* heap_asprobe.c — how much a program can allocate under an address-space limit: small blocks,
 * then pages, then 64 KiB and 1 MiB blocks, each written, until malloc fails (or 256 MiB). Prints
 * the bytes served. tests/heap_preload.sh runs it under `prlimit --as` with and without
 * librampart-malloc.so: a preloaded program that allocates little must map little. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    static const size_t sizes[] = {64, 4096, 65536, (size_t)1 << 20};
    const size_t per_size = (size_t)2 << 20, cap = (size_t)256 << 20;
    size_t total = 0;
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        bool last = k + 1 == sizeof sizes / sizeof sizes[0];
        for (size_t part = 0; (part < per_size || last) && total < cap; part += sizes[k]) {
            char *p = malloc(sizes[k]);
            if (p == NULL) goto done;
            memset(p, 1, sizes[k]);
            total += sizes[k];
        }
    }
done:
    printf("%zu\n", total);
    return 0;
}
