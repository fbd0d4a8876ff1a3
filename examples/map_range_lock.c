/* SPDX-License-Identifier: MIT */
/* map_range_lock.c — rampart's maps (rampart/map.h): a large anonymous mapping of which only the
 * part that holds secrets is locked in RAM, with nested range locks.
 *
 * Locking a whole large buffer costs memlock budget for bytes that need no protection; range
 * locks lock the pages of one sub-range. Locks on a page nest: it stays locked until every lock
 * taken on it is released. Build: cc map_range_lock.c $(pkg-config --cflags --libs rampart)
 */
#include <rampart.h>
#include <stdio.h>
#include <string.h>

static size_t locked_pages(const rp_map_t *map) {
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    return rp_map_info(map, &info) == RP_OK ? info.locked_pages : (size_t)-1;
}

int main(void) {
    size_t page = rp_page_size();
    /* 64 pages, read-write, left out of core dumps and zero in fork children. */
    rp_map_options_t opt = rp_map_options_default();
    opt.source = RP_MAP_ANONYMOUS;
    opt.length = 64 * page;
    opt.prot = RP_MAP_PROT_READ_WRITE;
    opt.flags = RP_MAP_NODUMP | RP_MAP_WIPEONFORK;
    rp_map_t *map;
    if (rp_map_create(&opt, &map) != RP_OK) {
        fprintf(stderr, "map_range_lock: cannot map: %s\n", rp_last_error()->message);
        return 1;
    }
    int rc = 1;
    /* The secrets go in pages 8..11: lock those four only (4 pages of the memlock budget). */
    size_t secret_off = 8 * page, secret_len = 4 * page;
    if (rp_map_lock(map, secret_off, secret_len) != RP_OK) {
        fprintf(stderr, "map_range_lock: %s\n%s\n", rp_last_error()->message,
                rp_last_error()->remedy ? rp_last_error()->remedy : "");
        goto out;
    }
    /* A second user of page 9 takes its own lock: the counts nest. */
    if (rp_map_lock(map, 9 * page, page) != RP_OK) goto fail;
    if (rp_map_write(map, secret_off, "a secret", 9) != RP_OK) goto fail;
    printf("map_range_lock: %zu of 64 pages locked\n", locked_pages(map));
    if (locked_pages(map) != 4) goto fail;

    /* The first user is done: pages 8, 10, 11 unlock, page 9 stays locked for the second. */
    rp_memzero((char *)rp_map_ptr(map) + secret_off, secret_len);
    if (rp_map_unlock(map, secret_off, secret_len) != RP_OK) goto fail;
    printf("map_range_lock: after the first unlock, %zu page stays locked (nested)\n", locked_pages(map));
    if (locked_pages(map) != 1) goto fail;
    if (rp_map_unlock(map, 9 * page, page) != RP_OK || locked_pages(map) != 0) goto fail;
    printf("map_range_lock: all unlocked\n");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "map_range_lock: unexpected result: %s\n", rp_last_error()->message);
out:
    rp_map_destroy(map);
    return rc;
}
