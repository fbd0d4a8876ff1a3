/* SPDX-License-Identifier: MIT */
/* rampart — memory that stays resident in RAM, out of swap and core dumps, wiped when it is done
 * with, and fast to get.
 *
 * This is the one header to include. It pulls in one header per layer, bottom to top:
 *   rampart/common.h   version, export macro, status codes, last-error detail, remedies,
 *                      rp_memzero, the corruption handler
 *   rampart/pages.h    page allocators: allocate_locked / free_locked / get_limit (seed 000)
 *   rampart/system.h   machine and process facts; memory areas with their lock/dump/fork flags
 *   rampart/map.h      mappings: anonymous/file, protections, flush, range locks, huge pages (seeds 001, 003)
 * Later layers (process-wide locking, mappings, secure pool, heap) add their headers here.
 */
#ifndef RAMPART_H
#define RAMPART_H

#include "rampart/common.h"
#include "rampart/pages.h"
#include "rampart/system.h"
#include "rampart/lockall.h"
#include "rampart/map.h"
#include "rampart/pool.h"
#include "rampart/heap.h"

#endif /* RAMPART_H */
