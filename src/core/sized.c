/* SPDX-License-Identifier: MIT */
/* core/sized.c — the check every layer applies to a growing struct the caller hands in.
 *
 * The struct's first member is its size as the caller's headers saw it (rampart/common.h,
 * "Growing structs"). An older, smaller struct is read up to its size and the library's later
 * fields keep their defaults; a newer, larger one is accepted only when the bytes this library
 * does not know are zero, because a non-zero one is a request it cannot honour.
 */
#include <string.h>

#include "internal.h"

rp_status_t rp__read_sized(const void *given, size_t size_v1, void *known, size_t known_size, const char *what) {
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
    memcpy(known, given, size < known_size ? size : known_size);
    return RP_OK;
}
