/* SPDX-License-Identifier: MIT */
/* core/sized.c — the rule every layer applies to a growing struct the caller hands in.
 *
 * The struct's first member is its size as the caller's headers saw it (rampart/common.h,
 * "Growing structs"). Read (options, vtables): an older, smaller struct is read up to its size
 * and the library's later fields keep their defaults; a newer, larger one is accepted only when
 * the bytes this library does not know are zero, because a non-zero one is a request it cannot
 * honour. Written (statistics, status, info): the library fills its own whole struct, then
 * copies only the part the caller's struct_size covers, so an older binary's smaller struct is
 * never written past its end.
 */
#include <string.h>

#include "internal.h"

rp_status_t rp__sized_in_check(const void *given, size_t size_v1, size_t known_size, const char *what) {
    size_t size;
    memcpy(&size, given, sizeof size); /* struct_size is the first member of every growing struct */
    if (size < size_v1)
        return rp__fail(RP_ERR_INVALID, 0,
                        "%s: struct_size %zu is smaller than the first version's %zu bytes "
                        "(set it with RP_SIZED() or the *_default() function)", what, size, size_v1);
    if (size > RP__SIZED_MAX)
        return rp__fail(RP_ERR_INVALID, 0, "%s: struct_size %zu is not a size (uninitialised?)", what, size);
    const unsigned char *bytes = given;
    for (size_t i = known_size; i < size; i++)
        if (bytes[i] != 0)
            return rp__fail(RP_ERR_INVALID, 0,
                            "%s: struct_size %zu is newer than this library's %zu bytes and byte %zu "
                            "is set; this library cannot honour that field", what, size, known_size, i);
    return RP_OK;
}

rp_status_t rp__read_sized(const void *given, size_t size_v1, void *known, size_t known_size, const char *what) {
    rp_status_t st = rp__sized_in_check(given, size_v1, known_size, what);
    if (st != RP_OK) return st;
    size_t size;
    memcpy(&size, given, sizeof size);
    memcpy(known, given, size < known_size ? size : known_size);
    return RP_OK;
}

rp_status_t rp__sized_out_check(const void *given, size_t size_v1, const char *what) {
    size_t size;
    memcpy(&size, given, sizeof size);
    if (size < size_v1)
        return rp__fail(RP_ERR_INVALID, 0,
                        "%s: the output's struct_size %zu is smaller than the first version's %zu bytes "
                        "(set it with RP_SIZED())", what, size, size_v1);
    if (size > RP__SIZED_MAX)
        return rp__fail(RP_ERR_INVALID, 0, "%s: the output's struct_size %zu is not a size (uninitialised?)", what, size);
    return RP_OK;
}

void rp__sized_out_write(void *given, const void *filled, size_t filled_size) {
    size_t size;
    memcpy(&size, given, sizeof size);
    size_t n = size < filled_size ? size : filled_size;
    memcpy((unsigned char *)given + sizeof size, (const unsigned char *)filled + sizeof size, n - sizeof size);
    /* a newer caller's fields this library does not know: zero, and struct_size says where ours end */
    if (size > n) memset((unsigned char *)given + n, 0, size - n);
    memcpy(given, &n, sizeof n);
}
