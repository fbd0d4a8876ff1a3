/* SPDX-License-Identifier: MIT */
/* heap/show.c — RAMPART_SHOW_STATS=1 (the default heap's statistics at exit) and, with
 * RAMPART_VERBOSE=1, the heap's effective options at its first allocation.
 *
 * Read by the heap's first allocation (rp__read_env), which may run inside malloc under
 * librampart-malloc.so: nothing here allocates or uses stdio; lines go out through the platform's
 * raw stderr write. The statistics are printed by a destructor, which runs at exit() (and when
 * librampart-malloc.so is unloaded) after atexit handlers: whatever the program freed by then is
 * counted as freed.
 */
#include <inttypes.h>

#include "heap/heap_internal.h"

static bool rp__show_stats;

void rp__heap_show_env(bool wipe) {
    static const char *const words[] = {"0", "1"};
    size_t show = 0;
    if (rp__env_word("RAMPART_SHOW_STATS", false, words, 2, &show) != RP_OK) rp__env_exit("rampart heap");
    rp__show_stats = show == 1;
    if (rp__show_stats) rp__os_keep_stderr(); /* the program may close its stderr before the report */
    if (!rp__verbose()) return;
    char cache[32], line[256];
    if (rp__config.purge_off)
        snprintf(line, sizeof line, "rampart heap: options: purge delay never (RAMPART_PURGE_DELAY)");
    else
        snprintf(line, sizeof line, "rampart heap: options: purge delay %" PRIu64 " ms (RAMPART_PURGE_DELAY)",
                 rp__config.purge_delay_ms);
    size_t used = strlen(line);
    snprintf(line + used, sizeof line - used, ", cache max %s (RAMPART_CACHE_MAX), wipe %s (RAMPART_HEAP_WIPE), stats at exit %s (RAMPART_SHOW_STATS)",
             rp_format_bytes(rp__config.cache_max, cache, sizeof cache), wipe ? "on" : "off", rp__show_stats ? "on" : "off");
    rp__line_to_stderr(line, NULL);
}

__attribute__((destructor)) static void rp__heap_show_at_exit(void) {
    if (rp__show_stats) (void)rp_heap_stats_print_to(rp_heap_default(), rp__line_to_stderr, NULL);
}
