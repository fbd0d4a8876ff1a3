/* SPDX-License-Identifier: MIT */
/* maps_helper.c — a process that uses rampart, for `rampart maps` to inspect: it takes pages from
 * the OS page source (locked, excluded from core dumps) and a map that is locked, excluded from
 * core dumps and wiped on fork, and a stack map with a guard page below it, prints
 * "PID ADDR1 ADDR2 GUARD LIGHT" (addresses as the table prints them; LIGHT 1 when the guard is a
 * lightweight one, MADV_GUARD_INSTALL),
 * and waits until its standard input closes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rampart.h"

int main(void) {
    const size_t len = 16 * rp_page_size();
    bool locked = false;
    void *pages = rp_pages_allocate_locked(rp_pages_os(), len, &locked);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = 8 * rp_page_size(), .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_LOCKED | RP_MAP_NODUMP | RP_MAP_WIPEONFORK};
    rp_map_t *map = NULL, *stack = NULL;
    /* A stack map: its guard page is a lightweight guard where the kernel has them. */
    rp_map_options_t so = {RP_SIZED(rp_map_options_t), .length = 4 * rp_page_size(), .prot = RP_MAP_PROT_READ_WRITE, .flags = RP_MAP_STACK};
    if (pages == NULL || !locked || rp_map_create(&o, &map) != RP_OK || rp_map_create(&so, &stack) != RP_OK) {
        fprintf(stderr, "maps_helper: %s\n", rp_last_error()->message);
        return 1;
    }
    memset(pages, 1, len);
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    bool light = rp_system_info(&si) == RP_OK && si.guard_lightweight;
    printf("%d %012llx %012llx %012llx %d\n", (int)getpid(), (unsigned long long)(uintptr_t)pages,
           (unsigned long long)(uintptr_t)rp_map_ptr(map),
           (unsigned long long)((uintptr_t)rp_map_ptr(stack) - rp_page_size()), light ? 1 : 0);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    rp_map_destroy(map);
    rp_map_destroy(stack);
    return rp_pages_free_locked(rp_pages_os(), pages, len) == RP_OK ? 0 : 1;
}
