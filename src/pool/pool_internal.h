/* SPDX-License-Identifier: MIT */
/* pool/pool_internal.h — the secure pool's private structures, shared by its four files:
 *
 *   pagemap.c  address -> arena, a process-wide radix tree over 4 KiB pages (lock-free reads)
 *   arena.c    one page-allocator allocation: guards, locking, advice, wipe, release
 *   run.c      runs: arenas cut from the pages of a shared region, and their release
 *   cache.c    per-thread caches of free slots, the registry of live pools, thread exit
 *   pool.c     the public API: size classes, fast paths, slow paths, trim, default pool
 *   stats.c    rp_pool_stats, and the locked walk of every arena it shares with the printer
 *   stats_print.c, show.c  the statistics for people, and at exit (RAMPART_SHOW_STATS)
 *
 * Glossary. An arena is a set of slots of one stride with out-of-band metadata. It is either a
 * run (a range of whole pages inside a region) or a mapping of its own (one allocation from the
 * page allocator). A region is one allocation from the page allocator with a guard page at each
 * end, locked and advised as a whole, whose data pages are handed out as runs (a page bitmap,
 * outside the pages, says which are free); it holds no slots itself and is not in the page map.
 * Small arenas are runs serving one size class (the first run of a class in a shard is one page
 * or so, later ones larger, up to arena_size), so every class shares the lock budget; large
 * arenas hold one allocation: a run up to RP__LARGE_RUN_MAX, a mapping of their own above;
 * guarded arenas are mappings with slots of k data pages each followed by a guard page. A
 * shard is a lock with its regions and the lists of arenas that have free slots; each thread
 * is bound to one shard, so threads do not share arenas (no shared cache lines on the fast
 * path) unless memory is freed across threads.
 *
 * Slot states, and where each is recorded (all outside the arena's pages):
 *   free in the arena   freebits bit set (shard lock), live byte 0
 *   in a thread cache   freebits bit clear, live byte 0; the pointer sits in the cache's
 *                       quarantine ring (just freed) or, pushed out of it, in a bin
 *   handed out          live byte 1
 * The live byte is set with a plain atomic store (the slot came out of this thread's cache, so
 * nobody else may touch it) and cleared with one atomic exchange on free: finding it already 0
 * is a double free, and of two threads freeing the same pointer at once exactly one sees the 1.
 * A byte per slot rather than a bit keeps allocation free of read-modify-write instructions.
 * Every free slot is all zeros (wiped on free; fresh arenas are zero, and arena.c wipes those of
 * a page allocator that does not promise it), which is why rp_pool_zalloc needs no memset.
 *
 * Threat model of the canary: it catches linear overflows (and, in guarded mode, underflows)
 * made without knowledge of the pool's 64-bit key, which comes from the OS random source. It is
 * mixed with the slot address, so copying one slot's canary onto another does not pass. It does
 * not stop an attacker who can read the pool's memory.
 *
 * Lock order: registry (cache.c) -> shard -> pool. No lock is held across a page-allocator call
 * or any other system call except inside rp_pool_destroy and thread exit, which hold only the
 * registry lock.
 */
#ifndef RP_POOL_INTERNAL_H
#define RP_POOL_INTERNAL_H

#include <stdatomic.h>
#include <string.h>

#include "core/annotate.h"
#include "internal.h"
#include "os/os.h"
#include "rampart/pool.h"

/* Size classes: 16..128 by 16, then four per power of two up to RP_POOL_MAX_SMALL. */
#define RP__CLASSES 28
/* Guarded slots of 1..RP__GUARDED_CLASSES data pages share arenas; larger ones get their own. */
#define RP__GUARDED_CLASSES 8
#define RP__GUARDED_SLOTS_MAX 16
#define RP__SHARDS 8
#define RP__ARENA_SIZE_MAX (16u * 1024u * 1024u) /* keeps slot offsets below 2^24 (see magic) */
/* Regions: a new one has a quarter of the data bytes of the regions the pool holds, at least
 * RP__REGION_FIRST and at most RP__REGION_MAX (or what one run needs), clamped to the lock
 * budget: small pools stay small, large ones get fewer, larger regions, and the free pages of
 * the newest region are at most about a fifth of the total. Large allocations up to
 * RP__LARGE_RUN_MAX are runs; larger ones get a mapping. */
#define RP__REGION_FIRST (64u * 1024u)
#define RP__REGION_MAX (4u * 1024u * 1024u)
#define RP__LARGE_RUN_MAX (1024u * 1024u)
/* Mappings of their own (large allocations above RP__LARGE_RUN_MAX) are kept when freed, wiped,
 * still locked, guarded and holding their lock-budget reservation, for reuse without a system
 * call: up to RP__LCACHE per shard, RP__LCACHE_BYTES in the pool and at most a quarter of the
 * page allocator's get_limit(); one is released once RP__LCACHE_AGE large operations on its
 * shard went by without using it, on rp_pool_trim, on destroy, or when an allocation needs the
 * budget (run.c). Each mapping has a spare data page, and its slot starts RP__LARGE_TURN bytes
 * further into it on each reuse (wrapping after a page), so a reused mapping never hands out
 * the address it was freed at: a stale second free of that address is refused. Large runs the
 * thread ring does not keep (rp__run_turns: above RP__TLARGE_MAX) have a spare page and turn
 * the same way, in the same cache (within RP__LCACHE_BYTES only: their pages are part of a
 * region, locked whether the run is cached or not), so a loop of pairs reuses one run's warm
 * pages at once instead of cycling through the quarantine's. */
#define RP__LCACHE 4
#define RP__LCACHE_BYTES (16u * 1024u * 1024u)
#define RP__LCACHE_AGE 64u
#define RP__LARGE_TURN 64u
/* Freed large allocations each shard holds back (wiped, live byte 0) before their pages can be
 * reused, and the most bytes they may hold (the newest is held whatever its size): a second
 * free in that window is caught (run.c). */
#define RP__LARGE_QUARANTINE 8
#define RP__LARGE_QUARANTINE_BYTES (1024u * 1024u)
/* Large runs for up to RP__TLARGE_MAX bytes (their pages: RP__TLARGE_MAX, and one page more for
 * a canary) freed by a thread with a cache stay with it instead: its last RP__TLARGE_RING frees
 * wait in a ring (the same window), the ones pushed out wait for reuse by the thread for the
 * same slot size (up to RP__TLARGE_READY of them, the oldest giving way to the newest),
 * RP__TLARGE_BYTES in all (pool.c). The bytes hold a full ring of the largest such runs (68 KiB
 * with a canary on 4 KiB pages) and one ready run: a loop of 64 KiB pairs keeps reusing. */
#define RP__TLARGE_MAX (64u * 1024u)
#define RP__TLARGE_RING 8
#define RP__TLARGE_READY 8
#define RP__TLARGE_BYTES ((RP__TLARGE_RING + 1u) * (RP__TLARGE_MAX + 4096u))
/* Whether a large run of slot size stride turns (see RP__LCACHE): one the thread ring would not
 * keep, so its spare page costs at most a seventeenth of it. */
static inline bool rp__run_turns(size_t stride, size_t page, size_t canary) {
    return rp__align_up(stride, page) > RP__TLARGE_MAX + (canary != 0 ? page : 0);
}
#define RP__CACHELINE 64

typedef enum rp__arena_kind { RP__ARENA_SMALL, RP__ARENA_LARGE, RP__ARENA_GUARDED, RP__ARENA_REGION } rp__arena_kind_t;

typedef struct rp__arena rp__arena_t;
struct rp__arena {
    rp_pool_t *pool;
    uintptr_t base;      /* a mapping: the page-allocator allocation [base, base + len); a run:
                            its pages [base, base + len), base == first unless it turns */
    size_t len;
    rp__arena_t *region; /* a run: the region holding its pages; NULL for a mapping */
    uintptr_t first;     /* slot 0; a region: its first data page */
    size_t stride;       /* bytes from one slot to the next */
    size_t span;         /* slots * stride */
    uint64_t magic;      /* small arenas: slot index = (offset * magic) >> 40, exact for offsets
                            below 2^24 and strides below 2^16 (ceil(2^40 / stride)) */
    size_t data;         /* guarded: data bytes before each slot's guard (k pages) */
    uint32_t slots;      /* a region: its data pages */
    uint32_t nfree;      /* slots free in the arena (freebits), under the shard lock; a region:
                            free pages (freebits is then its page bitmap) */
    uint16_t cls;        /* size class, or guarded class (k - 1) */
    uint8_t kind;        /* rp__arena_kind_t */
    uint8_t shard;
    bool locked;
    bool guards_lightweight;
    bool guards_mixed;   /* some guards fell back to PROT_NONE, others did not */
    bool listed;         /* on its shard's partial list */
    bool turns;          /* a large run with a spare page, its slot at base + cursor *
                            RP__LARGE_TURN (rp__run_turns) */
    uint32_t guard_count;
    uint32_t cursor;     /* guarded: where the next slot search starts (next fit, so a freed
                            slot comes back only after the arena's other free slots); a region:
                            the same for large runs' pages; a large mapping: its slot's turn
                            (first = base + page + turn * RP__LARGE_TURN); a run that turns: the
                            same, from base */
    size_t reserved;     /* bytes of pool->reserved this arena holds (0 or len) */
    rp__arena_t *next, *prev;         /* shard partial list; regions: the shard's regions */
    rp__arena_t *all_next, *all_prev; /* mappings: the pool's list of them; runs: the shard's */
    size_t *sizes;                    /* guarded: requested size per slot */
    _Atomic uint32_t protected_slots; /* guarded: bit i set while slot i may be other than
                                         read-write (rp_pool_protect; protect.c) */
    _Atomic uint8_t *live;       /* one byte per slot: 1 while handed out */
    uint64_t *freebits;
};

typedef struct rp__shard {
    _Alignas(RP__CACHELINE) rp__os_mutex_t lock;
    rp__arena_t *partial[RP__CLASSES];
    rp__arena_t *spare[RP__CLASSES];   /* one empty run kept per class (hysteresis) */
    rp__arena_t *gpartial[RP__GUARDED_CLASSES + 1]; /* [k - 1]; the last is for single-slot arenas */
    rp__arena_t *gspare[RP__GUARDED_CLASSES]; /* one empty guarded arena kept per shared class */
    uint16_t nruns[RP__CLASSES];       /* live runs per class: the next one's size grows with it */
    rp__arena_t *regions;              /* the shard's regions (next/prev) */
    rp__arena_t *spare_region;         /* one empty region kept (hysteresis), on the list too */
    rp__arena_t *runs;                 /* every run of the shard (all_next/all_prev) */
    rp__arena_t *lq[RP__LARGE_QUARANTINE]; /* freed large runs held back, oldest at lqpos */
    uint32_t lqpos;
    size_t lqbytes;
    rp__arena_t *meta_free;            /* metadata blocks of released runs, for the next ones */
    /* Freed large mappings kept for reuse (RP__LCACHE), each with the shard's lops when cached;
     * lops counts the shard's large operations (allocations and frees past the thread rings). */
    rp__arena_t *lcache[RP__LCACHE];
    uint64_t lstamp[RP__LCACHE];
    uint32_t lcount;
    uint64_t lops;
} rp__shard_t;

/* A cached free slot with its arena, so allocation needs no page-map lookup. */
typedef struct rp__cached {
    void *p;
    rp__arena_t *a;
} rp__cached_t;

typedef struct rp__bin {
    uint32_t count, cap;
    rp__cached_t *slots;
} rp__bin_t;

_Static_assert((RP_POOL_QUARANTINE & (RP_POOL_QUARANTINE - 1)) == 0, "the quarantine ring wraps with a mask");

typedef struct rp__tcache rp__tcache_t;
struct rp__tcache {
    rp_pool_t *pool;
    uint32_t shard;
    rp__tcache_t *next, *prev; /* the pool's list */
    rp__bin_t bins[RP__CLASSES];
    /* The thread's last RP_POOL_QUARANTINE small frees (wiped, live byte 0), oldest at qpos:
     * a slot enters its bin only when RP_POOL_QUARANTINE later frees push it out, so a second
     * free of it in that window still finds its live byte clear (pool.c). */
    uint32_t qpos;
    rp__cached_t quarantine[RP_POOL_QUARANTINE];
    /* Large runs this thread freed (wiped, live byte 0, still in the page map): the ring of the
     * last RP__TLARGE_RING, oldest at lpos, then those ready for reuse; lbytes: both together. */
    uint32_t lpos, lready_count;
    size_t lbytes;
    rp__arena_t *lring[RP__TLARGE_RING];
    rp__arena_t *lready[RP__TLARGE_READY];
    rp__cached_t storage[];    /* the bins' slots */
};

/* Blocks of arena metadata, carved from pages of the pool's own and recycled, never returned
 * before rp_pool_destroy: a stale page-map read (only possible on a double or foreign free)
 * then still reads mapped memory and is refused by the checks. */
typedef struct rp__meta_chunk rp__meta_chunk_t;
struct rp__meta_chunk {
    rp__meta_chunk_t *next;
    size_t len;
};

struct rp_pool {
    uint64_t id;                  /* unique for the process's life; thread caches key on it */
    uint32_t epoch;               /* rp__fork_epoch when created: another value means a fork
                                     child inherited the pool (see rp__pool_inherited) */
    bool is_default;              /* made by rp_secret_pool */
    rp_pool_options_t cfg;
    size_t page;
    size_t canary;                /* 0 or RP_POOL_CANARY_SIZE */
    uint64_t canary_key;
    bool guarded;
    uint32_t max_slots;           /* of a small run (or pages of a region): bitmaps are sized for it */
    size_t meta_size;             /* bytes of one arena's metadata block */
    size_t tcache_size;
    /* Everything above is written once, at creation, and read by every allocation and free of
     * every thread; what follows is written while the pool is in use, so it starts a cache line
     * of its own (a compare-and-swap on reserved, at each arena made or released, would
     * otherwise take the line away from every thread reading canary and guarded). */
    _Alignas(RP__CACHELINE) _Atomic uint32_t next_shard;
    _Atomic bool reported;        /* RP_POOL_LOCK_REPORT without a callback printed its line */
    /* Bytes of the lock budget taken by arenas being created or held locked: reserved with a
     * compare-and-swap before an arena is mapped, so that threads creating arenas at once
     * never pass get_limit() together (arena.c). */
    _Atomic size_t reserved;
    /* The smallest arena the OS refused to lock since the pool last gave locked memory back
     * (0: none): under the report and silent policies, an arena shrinks to fit the process's
     * budget only while that could help (arena.c). */
    _Atomic size_t lock_refused_len;
    _Atomic size_t region_data;   /* data bytes of the regions held: the next one's size */
    _Atomic size_t lcache_bytes;  /* bytes of the mappings in the shards' large caches */
    _Atomic uint32_t large_turn;  /* the turn of the next new large mapping (arena.c) */

    rp__os_mutex_t lock;          /* everything below */
    rp__arena_t *arenas;          /* every mapping (regions, guarded and large arenas) */

    rp__arena_t *meta_free;       /* recycled metadata blocks */
    rp__meta_chunk_t *meta_chunks;
    rp__tcache_t *tcaches, *tcache_free;
    rp_pool_t *reg_next;          /* the registry of live pools (cache.c) */
    size_t locked_bytes, unlocked_bytes, arena_count, lock_failures, guard_pages;
    bool any_heavy_guard;

    rp__shard_t shards[RP__SHARDS];
};

/* Whether slot idx of a is handed out (its live byte; see the slot states above). */
static inline bool rp__live(rp__arena_t *a, size_t idx) {
    return atomic_load_explicit(&a->live[idx], memory_order_relaxed) == 1;
}

/* ---- show.c ------------------------------------------------------------------------------------- */
/* RAMPART_SHOW_STATS for the default pool: read it (a malformed value is RP_ERR_INVALID naming
 * it), and have pool's statistics printed to stderr at exit. */
rp_status_t rp__pool_show_env(bool *show);
void rp__pool_show_at_exit(rp_pool_t *pool);

/* ---- pagemap.c ---------------------------------------------------------------------------------- */
#define RP__PM_SHIFT 12u
#define RP__PM_BITS 12u
#define RP__PM_FAN (1u << RP__PM_BITS)
typedef _Atomic(rp__arena_t *) rp__pm_leaf_t[RP__PM_FAN];
typedef _Atomic(rp__pm_leaf_t *) rp__pm_node_t[RP__PM_FAN];
extern _Atomic(rp__pm_node_t *) rp__pm_root[RP__PM_FAN];

/* The arena holding addr, or NULL. Lock-free: three dependent loads (inline: free's fast path). */
static inline rp__arena_t *rp__pagemap_get(uintptr_t addr) {
    uint64_t pn = (uint64_t)addr >> RP__PM_SHIFT;
    if (RP_UNLIKELY(pn >> (3u * RP__PM_BITS))) return NULL;
    rp__pm_node_t *node = atomic_load_explicit(&rp__pm_root[pn >> (2u * RP__PM_BITS)], memory_order_acquire);
    if (RP_UNLIKELY(node == NULL)) return NULL;
    rp__pm_leaf_t *leaf = atomic_load_explicit(&(*node)[(pn >> RP__PM_BITS) & (RP__PM_FAN - 1)], memory_order_acquire);
    if (RP_UNLIKELY(leaf == NULL)) return NULL;
    return atomic_load_explicit(&(*leaf)[pn & (RP__PM_FAN - 1)], memory_order_acquire);
}
/* Map every 4 KiB page of [addr, addr + len) to a (NULL to clear). Returns an OS error. */
int rp__pagemap_set(uintptr_t addr, size_t len, rp__arena_t *a);

/* ---- arena.c ------------------------------------------------------------------------------------ */
/* A new mapping of the given kind. GUARDED: cls is k - 1 and need is ignored unless
 * k > RP__GUARDED_CLASSES (fewer slots when the lock budget is short); LARGE: need is the slot
 * size; REGION: need is the data bytes wanted, min the fewest acceptable (the region shrinks to
 * the lock budget down to that). The lock budget and policy are applied here. NULL +
 * rp_last_error() on failure. Takes the pool lock. */
rp__arena_t *rp__arena_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, size_t min,
                              unsigned shard);
/* Whether a new arena of len bytes (guard pages included) would pass the pool's lock budget, as
 * rp__arena_create counts it (what it holds or is making). A shard then takes room in another
 * shard's regions and arenas before it makes one (run.c, pool.c): with the budget short, one
 * shard's region can hold all of it, and every other thread would be refused, or served unlocked
 * memory, while that region has room. A hint, read without a lock. */
bool rp__budget_short(rp_pool_t *pool, size_t len);
/* Release an arena nobody can reach any more (off every shard list): a run goes back to its
 * region (run.c); a mapping is wiped and given back. Takes the pool lock (mappings) or the
 * shard lock (runs); never holds a lock across the page allocator. */
void rp__arena_release(rp_pool_t *pool, rp__arena_t *a);
/* Metadata blocks (arena.c). */
rp__arena_t *rp__meta_get(rp_pool_t *pool);
void rp__meta_put(rp_pool_t *pool, rp__arena_t *a);
/* Set up a's bitmaps inside its metadata block, n bits set (free). */
void rp__meta_bits(rp_pool_t *pool, rp__arena_t *a, size_t n);
size_t rp__class_size(unsigned cls);

/* ---- run.c -------------------------------------------------------------------------------------- */
/* A new run in shard's regions (a new region when none has room; where the lock budget leaves
 * no room for one, another shard's region, and the run is then that shard's: its shard field
 * says which): SMALL for class cls, LARGE for one allocation of need bytes (slot = need rounded
 * up to 16). Published in the page map; not on any partial list. NULL + rp_last_error() on
 * failure. Takes shard locks one at a time. */
rp__arena_t *rp__run_create(rp_pool_t *pool, rp__arena_kind_t kind, unsigned cls, size_t need, unsigned shard);
/* Give a run's pages back to its region (they must be zero), under the shard lock held by the
 * caller; a region left empty beyond the shard's one spare is unlinked and chained on *release
 * (via next) for the caller to release after unlocking. */
void rp__run_release_locked(rp_pool_t *pool, rp__shard_t *sh, rp__arena_t *a, rp__arena_t **release);
/* An empty region that a run's release left over (its shard keeps a larger spare region): kept
 * as the spare of another shard that has none, where a thread's first large runs find it, else
 * released. So up to one empty region per shard stays, as before, but they are not unmapped
 * while a shard lacks one, only for the next new thread's shard to map one again. Takes one
 * shard lock at a time; call it with none held. */
void rp__region_spare_or_release(rp_pool_t *pool, rp__arena_t *r);
/* A freed large allocation (wiped, live byte 0; a run or a mapping) into its shard's quarantine;
 * what it pushes out is released (a run's pages back to its region). Takes the shard lock. */
void rp__large_quarantine(rp_pool_t *pool, rp__arena_t *a);
/* Every shard's quarantined large allocations, cached large mappings and runs, and spare region
 * back (the last step of rp__pool_give_back), one shard lock at a time; whether there were any.
 * Call it with no lock held. */
bool rp__shards_give_back(rp_pool_t *pool);
/* A freed large mapping or turning run (wiped, live byte 0) into a large cache (a mapping's
 * shard's; a run's goes to the calling thread's, whose next allocation looks there first):
 * false when the cache bounds leave no room for it (the caller then quarantines it). Takes the
 * shard lock. */
bool rp__lcache_put(rp_pool_t *pool, rp__arena_t *a);
/* A cached mapping or run of shard (or, failing that, of another shard) whose data pages fit a
 * slot of stride bytes without wasting more than a quarter, set up for it (stride, next turn),
 * or NULL. Counts a large operation of the shard; cached mappings that aged out are released,
 * runs quarantined. Takes the shard lock. */
rp__arena_t *rp__lcache_get(rp_pool_t *pool, unsigned shard, size_t stride);

/* ---- cache.c ------------------------------------------------------------------------------------ */
/* Add to / remove from the registry of live pools (destroy holds the registry while it works). */
rp_status_t rp__registry_add(rp_pool_t *pool);
void rp__registry_lock(void);
void rp__registry_unlock(void);
/* false when pool is not registered (never created, or destroyed already); pool is not read. */
bool rp__registry_remove_locked(rp_pool_t *pool);
/* The calling thread's cache for pool, created on first use; NULL when there is none to be had
 * (the caller then takes the shard path). */
rp__tcache_t *rp__tcache_slow(rp_pool_t *pool);
typedef struct rp__tls_way {
    uint64_t id;
    rp__tcache_t *tc;
} rp__tls_way_t;
extern _Thread_local struct rp__tls {
    rp__tls_way_t way[4];
    bool registered;
    uint32_t shard;     /* 1 + the shard this thread uses for guarded and large allocations */
} rp__tls;
/* The calling thread's shard (assigned round robin on first use): guarded and large allocations
 * of different threads take different locks. */
unsigned rp__thread_shard(void);
/* How many fork()s separate this process from the one that loaded the library (cache.c bumps
 * it in every child). */
extern _Atomic uint32_t rp__fork_epoch;
/* Whether pool was created before a fork() of which this process is the child. Its arenas read
 * as zeros here and, as fork passes on neither mlock nor the guard markers of wiped-on-fork
 * mappings, are unlocked and unguarded: such a pool hands out nothing more (pool.c), but takes
 * back what it handed out. */
static inline bool rp__pool_inherited(const rp_pool_t *pool) {
    return pool->epoch != atomic_load_explicit(&rp__fork_epoch, memory_order_relaxed);
}
/* Bytes of one thread cache (header and bins). */
size_t rp__tcache_bytes(void);
static inline rp__tcache_t *rp__tcache_get(rp_pool_t *pool) {
    if (RP_LIKELY(rp__tls.way[0].id == pool->id)) return rp__tls.way[0].tc;
    return rp__tcache_slow(pool);
}

/* ---- protect.c ---------------------------------------------------------------------------------- */
/* Make guarded slot idx of a read-write again if rp_pool_protect changed it, so it can be
 * wiped. The caller owns the slot (freeing it, or destroying the pool). A failure goes to the
 * corruption handler: the slot could be neither wiped nor left behind. */
void rp__protect_restore(rp__arena_t *a, size_t idx);
static inline void rp__protect_restore_if(rp__arena_t *a, size_t idx) {
    if (RP_UNLIKELY(atomic_load_explicit(&a->protected_slots, memory_order_relaxed) & (1u << idx)))
        rp__protect_restore(a, idx);
}

/* ---- pool.c ------------------------------------------------------------------------------------- */
/* Return the slots in tc's bin cls beyond keep to their arenas; releases arenas that empty. */
void rp__bin_flush(rp_pool_t *pool, rp__tcache_t *tc, unsigned cls, uint32_t keep);
/* Give back what the calling thread and the shards hold without need (rp_pool_trim; and before
 * an allocation fails or an arena goes over the lock budget or unlocked, arena.c): the thread's
 * cached slots, quarantined slots and large runs, every shard's spare runs and guarded arenas,
 * then its cached and quarantined large allocations and its spare region (a region is empty only
 * once the runs in it went back); whether anything was held. Call it with no lock held. */
bool rp__pool_give_back(rp_pool_t *pool);
/* Return every cached slot of tc (bins, quarantine ring, large runs); whether it held any. */
bool rp__tcache_flush_all(rp_pool_t *pool, rp__tcache_t *tc);

/* ---- stats.c -------------------------------------------------------------------------------------- */
/* A consistent view of the whole pool for the statistics: rp__pool_lock_all takes every shard
 * lock in order, then the pool lock (the order every other path nests them in); while they are
 * held, rp__pool_each_arena calls visit for every arena that holds allocations (small, guarded,
 * large runs and mappings; a region is seen through its runs). */
void rp__pool_lock_all(rp_pool_t *pool);
void rp__pool_unlock_all(rp_pool_t *pool);
void rp__pool_each_arena(rp_pool_t *pool, void (*visit)(rp_pool_t *pool, rp__arena_t *a, void *ctx), void *ctx);

/* Wipe n bytes of a slot (n a multiple of 16). Small slots are wiped inline with 16-byte
 * stores and the same compiler barrier rp_memzero ends with (an asm that takes the pointer and
 * clobbers memory: the stores cannot be removed as dead); larger ones call rp_memzero. */
static inline void rp__wipe(void *p, size_t n) {
#if defined(__GNUC__)
    if (n <= 256) {
        unsigned char *q = p;
        for (size_t i = 0; i < n; i += 16) memset(q + i, 0, 16);
        __asm__ __volatile__("" : : "r"(p) : "memory");
        return;
    }
#endif
    rp_memzero(p, n);
}

#endif /* RP_POOL_INTERNAL_H */
