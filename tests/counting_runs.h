/* SPDX-License-Identifier: MIT */
/* counting_runs.h — counts every run the pool makes, for tests that check a loop reuses what it
 * freed instead of cutting new runs. The test links with -Wl,--wrap=rp__run_create
 * (tests/pool.cmake), so the pool's calls reach the wrapper below, which counts and calls on.
 *
 *   runs_made   runs created so far (small-class and large runs alike)
 */
#ifndef RP_COUNTING_RUNS_H
#define RP_COUNTING_RUNS_H

#include <stdatomic.h>

#include "pool/pool_internal.h"

static _Atomic size_t runs_made;
rp__arena_t *__real_rp__run_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, unsigned shard);
rp__arena_t *__wrap_rp__run_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, unsigned shard);
rp__arena_t *__wrap_rp__run_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, unsigned shard) {
    runs_made++;
    return __real_rp__run_create(pool, kind, cls, need, shard);
}

#endif /* RP_COUNTING_RUNS_H */
