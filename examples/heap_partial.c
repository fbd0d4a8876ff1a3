/* SPDX-License-Identifier: MIT */
/* heap_partial.c — rampart's heap (rampart/heap.h): a private locked heap, a block given back in
 * pieces (partial free), and a buffer the program already owns handed to the heap (donation).
 * Build: cc heap_partial.c $(pkg-config --cflags --libs rampart)
 */
#include <rampart.h>
#include <stdio.h>
#include <string.h>

/* Memory the program owns and will not touch again: the heap may serve allocations from it. */
static unsigned char spare[16 * 1024];

int main(void) {
    /* A heap on locked OS pages that wipes every block it frees. */
    rp_heap_options_t opt = rp_heap_options_default();
    opt.pages = rp_pages_os();
    opt.flags = RP_HEAP_WIPE;
    rp_heap_t *heap = NULL;
    if (rp_heap_create(&opt, &heap) != RP_OK) {
        fprintf(stderr, "heap_partial: cannot create the heap: %s\n", rp_last_error()->message);
        return 1;
    }
    int rc = 1;
    /* Partial free: one 200-byte message, parsed into a 100-byte header and a 100-byte body;
     * each half goes back when its reader is done with it, and the block returns to the heap once
     * both halves have (no leak, no copy). */
    char *msg = rp_heap_malloc(heap, 200);
    if (msg == NULL) {
        fprintf(stderr, "heap_partial: allocation failed: %s\n", rp_last_error()->message);
        goto out;
    }
    memset(msg, 'h', 100);
    memset(msg + 100, 'b', 100);
    if (rp_free_part(msg, 100) != RP_OK ||        /* the header is done with */
        msg[100] != 'b' ||                        /* the body is still valid */
        rp_free_part(msg + 100, 100) != RP_OK) {  /* now the body: the block is free */
        fprintf(stderr, "heap_partial: partial free failed: %s\n", rp_last_error()->message);
        goto out;
    }
    printf("heap_partial: a 200-byte block freed as two 100-byte halves\n");

    /* Donation: the heap takes spare[] and serves small blocks from it when its own pages of a
     * size class run out. Donated bytes are not locked by the heap (stats.donated counts them),
     * so donate only memory that needs no locking. */
    if (rp_heap_donate(heap, spare, sizeof spare) != RP_OK) {
        fprintf(stderr, "heap_partial: donation failed: %s\n", rp_last_error()->message);
        goto out;
    }
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    if (rp_heap_stats(heap, &st) != RP_OK || st.donated != sizeof spare) {
        fprintf(stderr, "heap_partial: the heap does not count the donation\n");
        goto out;
    }
    printf("heap_partial: %zu bytes donated; heap holds %zu bytes of pages\n", st.donated, st.mapped);
    if (rp_heap_validate(heap) != RP_OK) {
        fprintf(stderr, "heap_partial: heap check failed: %s\n", rp_last_error()->message);
        goto out;
    }
    rc = 0;
out:
    rp_heap_destroy(heap);   /* wipes and releases its pages; forgets spare[] */
    return rc;
}
