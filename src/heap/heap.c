/* SPDX-License-Identifier: MIT */
/* heap/heap.c — heaps and threads: the default process heap, first-class heaps, per-thread
 * local caches (created on a thread's first allocation, handed to the next new thread when the
 * thread exits), options from RAMPART_* variables, out-of-memory handlers, fork safety.
 *
 * Initialisation needs no allocation: the default heap is a static object, options come from
 * core/env.c, and the first allocation of a thread only maps a page for its local cache. Calls that
 * arrive while the process-wide initialisation runs on the same thread (pthread_atfork may
 * allocate) and calls from a thread whose exit hook already ran use the heap's shared local
 * under its lock, so they never recurse and never lose memory.
 */
#include <errno.h>
#include <stdlib.h>

#include "heap/heap_internal.h"

rp__heap_config_t rp__config = {500, (size_t)64 << 20, false};

/* The key of the "freed" mark (heap_internal.h). Set once at initialisation, before any block
 * exists, from addresses (ASLR), the clock and the pid; a constant until then. */
uintptr_t rp__cookie = (uintptr_t)0x9E3779B97F4A7C15ull;

static uintptr_t rp__mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uintptr_t)(z ^ (z >> 31));
}

static rp_heap_t rp__default = {
    .lock = RP__OS_MUTEX_INIT, .pages = NULL, .limit = SIZE_MAX, .is_default = true,
    .seg_slices = RP__SEG_SLICES_MAX};

/* RP__LOCAL_NONE's current pages, written out (C11 has no range initialiser). */
#define RP__E1 &rp__empty_page
#define RP__E8 RP__E1, RP__E1, RP__E1, RP__E1, RP__E1, RP__E1, RP__E1, RP__E1
#define RP__NOKEY UINTPTR_MAX
_Static_assert(RP__CLASSES == 11 * 8 && RP__TABLE_GRANULES == 8 * 8 + 1 && RP__LEAF_SLOTS == 8,
               "rp__local_none's initialiser has every entry");
const rp__local_t rp__local_none = {
    .leaf_key = {RP__NOKEY, RP__NOKEY, RP__NOKEY, RP__NOKEY, RP__NOKEY, RP__NOKEY, RP__NOKEY, RP__NOKEY},
    .entry_bits = 2, /* bit 0 clear: no entry (0, a span, a page) has these low bits */
    .cur = {RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8},
    .cur_by_granule = {RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E8, RP__E1},
};

_Thread_local rp__local_t *rp__tls_local RP__TLS_MODEL = RP__LOCAL_NONE;
_Thread_local rp__local_t *rp__tls_mine RP__TLS_MODEL;
static _Thread_local bool rp__tls_dead RP__TLS_MODEL;     /* the exit hook ran */
static _Thread_local bool rp__tls_initing RP__TLS_MODEL;  /* inside rp__global_init */

static _Atomic int rp__init_state; /* 0: not yet, 1: running, 2: done */
static rp__os_thread_key_t rp__key;
static bool rp__key_ok;

static rp_heap_t *rp__heaps; /* first-class heaps, for fork */
static rp__os_mutex_t rp__heaps_lock = RP__OS_MUTEX_INIT;

/* The heap lock guards short bookkeeping (the span cache, a large block's list link), never a
 * system call, so a thread that finds it taken does better to wait a moment than to sleep: with
 * two threads allocating large blocks (mstress, three sections per block), a run at scale 1 made
 * about 3400 futex calls (a wait and a wake each time the lock was found taken; tcmalloc 150),
 * 1474 at scale 0.4, and 12 with this spin. It is bounded (64 pauses, a few microseconds) for a
 * holder that was preempted. */
#define RP__LOCK_SPINS 64
void rp__heap_lock(rp_heap_t *heap) {
    for (unsigned i = 0; i < RP__LOCK_SPINS; i++) {
        if (rp__os_mutex_trylock(&heap->lock)) return;
        rp__os_cpu_relax();
    }
    rp__os_mutex_lock(&heap->lock);
}
void rp__heap_unlock(rp_heap_t *heap) {
    rp__os_mutex_unlock(&heap->lock);
    /* Spans given back under the lock are unmapped here, after it (syscalls outside locks). */
    if (atomic_load_explicit(&heap->doomed, memory_order_relaxed) != NULL) rp__span_flush(heap);
}

/* ---- options ------------------------------------------------------------------------------------- */

/* Process-wide tuning, read at the first allocation, which has no way to return an error (in
 * librampart-malloc.so it runs before main): a malformed value stops the process with the message
 * (rp__env_exit) rather than run with a value the user did not ask for. Not secure: they change
 * speed and memory use, and wiping can only be added, never removed. */
static void rp__read_env(void) {
    static const char *const wipe_words[] = {"0", "1"};
    size_t delay = rp__config.purge_delay_ms, wipe = 0;
    if (rp__env_count("RAMPART_PURGE_DELAY", false, true, &delay) != RP_OK ||
        rp__env_bytes("RAMPART_CACHE_MAX", false, &rp__config.cache_max) != RP_OK ||
        rp__env_word("RAMPART_HEAP_WIPE", false, wipe_words, 2, &wipe) != RP_OK)
        rp__env_exit("rampart heap");
    if (delay == SIZE_MAX) rp__config.purge_off = true;
    else rp__config.purge_delay_ms = delay;
    if (wipe == 1) rp__default.flags |= RP_HEAP_WIPE;
    rp__heap_show_env(wipe == 1); /* RAMPART_SHOW_STATS, RAMPART_VERBOSE (show.c) */
}

/* ---- fork ---------------------------------------------------------------------------------------- */

static rp__os_mutex_t rp__oom_lock = RP__OS_MUTEX_INIT; /* the process-wide OOM handler */

/* The locks other threads may hold at fork: the short ones of donations and OOM handlers first
 * (no path takes another lock while holding them), then the heaps' and the side tables'. */
static void rp__fork_prepare(void) {
    rp__donate_fork(0);
    rp__os_mutex_lock(&rp__oom_lock);
    rp__os_mutex_lock(&rp__heaps_lock);
    rp__os_mutex_lock(&rp__default.lock);
    for (rp_heap_t *h = rp__heaps; h != NULL; h = h->next_heap) rp__os_mutex_lock(&h->lock);
    rp__partial_fork(0);
    rp__segment_fork_lock(true);
}

static void rp__fork_parent(void) {
    rp__segment_fork_lock(false);
    rp__partial_fork(1);
    for (rp_heap_t *h = rp__heaps; h != NULL; h = h->next_heap) rp__os_mutex_unlock(&h->lock);
    rp__os_mutex_unlock(&rp__default.lock);
    rp__os_mutex_unlock(&rp__heaps_lock);
    rp__os_mutex_unlock(&rp__oom_lock);
    rp__donate_fork(1);
}

/* In the child only the forking thread exists; locks held by others at fork time are reset.
 * The caches of the other threads become orphans, so the child's next new threads take them over
 * with their pages and the blocks freed into them. A cache whose thread was inside a slow path at
 * the instant of fork (busy) may have half-changed lists: it is left alone, and its pages stay
 * mapped and unused in the child (docs/heap.md, drop-in section). The list of orphans is made
 * again from every cache: orphans that a thread was collecting at the fork (rp__orphans_collect
 * takes them off the list meanwhile) were on no list in the child, their pages never reused. */
static void rp__fork_child(void) {
    unsigned orphans = 0;
    rp__default.orphans = NULL;
    for (rp__local_t *l = rp__default.locals; l != NULL; l = l->next_all) {
        if (l == rp__tls_mine) continue;
        /* Remote frees that thread had gathered (free.c) may be half written: dropped, so their
         * blocks stay in use in the child. */
        rp__xbatch_drop(l);
        if (l->shared || atomic_load_explicit(&l->busy, memory_order_relaxed) != 0) continue;
        l->orphan = true;
        l->next_orphan = rp__default.orphans;
        rp__default.orphans = l;
        orphans++;
    }
    atomic_store_explicit(&rp__default.orphan_count, orphans, memory_order_relaxed);
    rp__segment_fork_reset();
    rp__partial_fork(2);
    for (rp_heap_t *h = rp__heaps; h != NULL; h = h->next_heap) rp__os_mutex_reset(&h->lock);
    rp__os_mutex_reset(&rp__default.lock);
    rp__os_mutex_reset(&rp__heaps_lock);
    rp__os_mutex_reset(&rp__oom_lock);
    rp__donate_fork(2);
}

/* ---- threads ------------------------------------------------------------------------------------- */

static void rp__thread_exit(void *value) {
    rp__local_t *local = value;
    rp__tls_local = RP__LOCAL_NONE;
    rp__tls_mine = NULL;
    rp__tls_dead = true;
    rp__local_enter(local);
    rp__local_release(local);
    rp__local_leave(local);
    rp_heap_t *heap = local->heap;
    rp__heap_lock(heap);
    local->orphan = true;
    local->next_orphan = heap->orphans;
    heap->orphans = local;
    atomic_fetch_add_explicit(&heap->orphan_count, 1, memory_order_relaxed);
    rp__heap_unlock(heap);
}

/* The caches of exited threads: blocks other threads freed into their pages wait on the pages'
 * remote lists until a cache is collected, which a dead thread's cache never was until a new
 * thread adopted it. Collect them here, so that their blocks count as freed and their emptied
 * segments go back. The orphans leave their list meanwhile (they are then nobody's: a thread
 * starting now makes a cache of its own) and are put back after. */
void rp__orphans_collect(rp_heap_t *heap, bool force) {
    rp__heap_lock(heap);
    rp__local_t *list = heap->orphans;
    heap->orphans = NULL;
    rp__heap_unlock(heap);
    if (list == NULL) return;
    rp__local_t *last = list;
    for (rp__local_t *l = list; l != NULL; l = l->next_orphan) {
        rp__local_enter(l);
        rp__local_release(l);
        rp__local_purge(l, force);
        rp__local_leave(l);
        last = l;
    }
    rp__heap_lock(heap);
    last->next_orphan = heap->orphans;
    heap->orphans = list;
    rp__heap_unlock(heap);
}

/* The fork handlers, registered once: when the library is loaded, or by the first allocation
 * if that comes first (another library's constructor). pthread_atfork runs prepare handlers in
 * the reverse order of their registration and child handlers in that order, so handlers
 * registered first take the heap locks last and give them back first, as glibc's malloc does
 * inside fork itself. Registered at the first allocation, they ran inside every earlier
 * registration's: a child handler that allocated found the heap locked, and a prepare handler's
 * lock held by a thread that was allocating deadlocked fork (glibc: no hang). */
static atomic_bool rp__fork_registered;

static void rp__fork_register(void) {
    /* Set first: pthread_atfork may allocate, and that allocation's initialisation comes here. */
    if (!atomic_exchange(&rp__fork_registered, true)) rp__os_atfork(rp__fork_prepare, rp__fork_parent, rp__fork_child);
}

__attribute__((constructor)) static void rp__fork_register_at_load(void) { rp__fork_register(); }

static void rp__global_init(void) {
    int expect = 0;
    if (atomic_compare_exchange_strong(&rp__init_state, &expect, 1)) {
        rp__tls_initing = true;
        /* The freed mark's key: 8 random bytes when the kernel has them ready (as glibc's malloc
         * keys its thread cache), else the clock and the process id; mixed with where the stack
         * and the library lie. errno is kept: a malloc that succeeds does not change it. */
        int stack_var = 0, saved_errno = errno;
        uint64_t seed = 0;
        if (rp__os_random_nowait(&seed, sizeof seed) != 0)
            seed = rp__os_clock_ms() ^ ((uint64_t)(unsigned)rp__os_getpid() << 40);
        errno = saved_errno;
        rp__cookie = rp__mix((uint64_t)(uintptr_t)&stack_var ^ ((uint64_t)(uintptr_t)&rp__cookie << 17) ^ seed) | 1;
        rp__read_env();
        rp__annotate_init(); /* before the first block: Valgrind must see every one */
        rp__key_ok = rp__os_thread_key_create(rp__thread_exit, &rp__key) == 0;
        atomic_store(&rp__init_state, 2);
        /* After the state is published: pthread_atfork may allocate. */
        rp__fork_register();
        rp__tls_initing = false;
        return;
    }
    while (atomic_load(&rp__init_state) != 2 && !rp__tls_initing) rp__os_yield();
}

/* A fresh cache for heap, not yet on its list of caches. */
static rp__local_t *rp__local_map(rp_heap_t *heap, bool shared) {
    void *mem = NULL;
    if (rp__os_alloc(rp__align_up(sizeof(rp__local_t), rp__os_page_size()), &mem) != 0) return NULL;
    rp__local_t *local = mem;
    for (unsigned i = 0; i < RP__LEAF_SLOTS; i++) local->leaf_key[i] = UINTPTR_MAX;
    for (unsigned c = 0; c < RP__CLASSES; c++) local->cur[c] = &rp__empty_page;
    for (unsigned g = 0; g < RP__TABLE_GRANULES; g++) local->cur_by_granule[g] = &rp__empty_page;
    static _Atomic unsigned caches_made; /* the tags go round in the order caches are made */
    unsigned tag = atomic_fetch_add_explicit(&caches_made, 1, memory_order_relaxed) % RP__MAP_OWNER_TAGS + 1;
    local->entry_bits = RP__MAP_TAG_PAGE | (uintptr_t)tag << 1;
    local->heap = heap;
    local->shared = shared;
    return local;
}

rp__local_t *rp__local_new(rp_heap_t *heap, bool shared) {
    rp__local_t *local = NULL;
    if (!shared) {
        rp__heap_lock(heap);
        local = heap->orphans;
        if (local != NULL) {
            heap->orphans = local->next_orphan;
            atomic_fetch_sub_explicit(&heap->orphan_count, 1, memory_order_relaxed);
            local->next_orphan = NULL;
            local->orphan = false;
        }
        rp__heap_unlock(heap);
        if (local != NULL) return local;
    }
    local = rp__local_map(heap, shared); /* mapped outside the heap lock */
    if (local == NULL) return NULL;
    rp__heap_lock(heap);
    local->next_all = heap->locals;
    heap->locals = local;
    rp__heap_unlock(heap);
    return local;
}

/* The default heap makes its shared cache at the first call that needs it: only a thread without
 * a cache of its own uses it (one exiting, or inside the library's start), so most processes
 * never do, and each process started under the preload maps and faults one page less. */
rp__local_t *rp__heap_shared_locked(rp_heap_t *heap) {
    if (heap->shared == NULL) {
        rp__local_t *local = rp__local_map(heap, true);
        if (local == NULL) return NULL;
        local->next_all = heap->locals;
        heap->locals = local;
        heap->shared = local;
    }
    return heap->shared;
}

rp__local_t *rp__local_slow(void) {
    if (atomic_load_explicit(&rp__init_state, memory_order_acquire) != 2) rp__global_init();
    if (rp__tls_dead || rp__tls_initing) return NULL;
    rp__local_t *local = rp__local_new(&rp__default, false);
    if (local == NULL) return NULL;
    rp__tls_mine = local;
    /* Under Valgrind the fast paths keep RP__LOCAL_NONE, so every call takes the slow paths,
     * which describe the blocks to memcheck. */
    if (!rp__vg_on()) rp__tls_local = local;
    if (rp__key_ok) rp__os_thread_key_set(rp__key, local);
    return local;
}

rp_heap_t *rp__heap_default(void) {
    if (atomic_load_explicit(&rp__init_state, memory_order_acquire) != 2) rp__global_init();
    return &rp__default;
}

rp_heap_t *rp_heap_default(void) { return rp__heap_default(); }

/* ---- out of memory ------------------------------------------------------------------------------- */

typedef struct rp__oom_slot {
    rp_oom_handler_t fn;
    void *ctx;
} rp__oom_slot_t;
static rp__oom_slot_t rp__oom_process;
static _Thread_local rp__oom_slot_t rp__oom_thread RP__TLS_MODEL;

void rp_set_oom_handler(rp_oom_handler_t handler, void *ctx) {
    rp__os_mutex_lock(&rp__oom_lock);
    rp__oom_process = (rp__oom_slot_t){handler, ctx};
    rp__os_mutex_unlock(&rp__oom_lock);
}

void rp_set_thread_oom_handler(rp_oom_handler_t handler, void *ctx) {
    rp__oom_thread = (rp__oom_slot_t){handler, ctx};
}

/* Set while this thread runs a handler: an allocation that fails inside one (a handler that
 * logs, say) just fails, instead of calling the handler again without end. */
static _Thread_local bool rp__oom_running RP__TLS_MODEL;

bool rp__oom(rp_heap_t *heap, size_t size) {
    if (rp__oom_running) return false;
    rp__oom_running = true;
    bool retry = false;
    rp__oom_slot_t once = rp__oom_thread;
    if (once.fn != NULL) {
        rp__oom_thread = (rp__oom_slot_t){NULL, NULL};
        retry = once.fn(heap, size, once.ctx);
    }
    /* A one-shot handler that could not help leaves the turn to the process-wide one. */
    if (!retry) {
        rp__os_mutex_lock(&rp__oom_lock);
        rp__oom_slot_t all = rp__oom_process;
        rp__os_mutex_unlock(&rp__oom_lock);
        retry = all.fn != NULL && all.fn(heap, size, all.ctx);
    }
    rp__oom_running = false;
    return retry;
}

/* ---- first-class heaps ----------------------------------------------------------------------------- */

/* rp_heap_options_t as first released (struct_size, pages, limit, flags); later fields go after. */
#define RP__HEAP_OPTIONS_V1 (offsetof(rp_heap_options_t, flags) + sizeof(unsigned))

/* rp_heap_create's work: the heap, or NULL with the thread's last error set. */
static rp_heap_t *rp__heap_new(const rp_heap_options_t *options) {
    rp_heap_options_t o = {0};
    if (options != NULL && rp__read_sized(options, RP__HEAP_OPTIONS_V1, &o, sizeof o, "rp_heap_create") != RP_OK)
        return NULL;
    if (o.flags & ~(unsigned)(RP_HEAP_WIPE | RP_HEAP_REQUIRE_LOCKED)) {
        rp__fail(RP_ERR_INVALID, 0, "rp_heap_create: unknown flags 0x%x", o.flags);
        return NULL;
    }
    if (o.pages == NULL && (o.flags & RP_HEAP_REQUIRE_LOCKED)) {
        rp__fail(RP_ERR_INVALID, 0, "rp_heap_create: RP_HEAP_REQUIRE_LOCKED needs a locking page source (rp_pages_os())");
        return NULL;
    }
    if (o.pages == rp_pages_plain() && (o.flags & RP_HEAP_REQUIRE_LOCKED)) {
        rp__fail(RP_ERR_INVALID, 0, "rp_heap_create: RP_HEAP_REQUIRE_LOCKED on rp_pages_plain(), which never locks: "
                 "every allocation would fail (use rp_pages_os())");
        return NULL;
    }
    if (o.pages != NULL && rp__pages_check(o.pages, "rp_heap_create") != RP_OK) return NULL;
    rp__heap_default(); /* options from the environment */
    void *mem = NULL;
    int err = rp__os_alloc(rp__align_up(sizeof(rp_heap_t), rp__os_page_size()), &mem);
    if (err != 0) {
        rp__fail_os(err, "rp_heap_create: mapping the heap's descriptor");
        return NULL;
    }
    rp_heap_t *heap = mem;
    rp__os_mutex_reset(&heap->lock);
    heap->pages = o.pages;
    heap->limit = o.limit == 0 ? SIZE_MAX : o.limit;
    heap->flags = o.flags;
    heap->resident = o.pages == rp_pages_os() || (rp__os_secret_available() && o.pages == rp_pages_secret());
    heap->seg_slices = RP__SEG_SLICES_SOURCE; /* small heaps, limits and locked pages favour 1 MiB */
    heap->shared = rp__local_new(heap, true);
    if (heap->shared == NULL) {
        rp__fail(RP_ERR_NOMEM, rp__os_err_nomem(), "rp_heap_create: mapping the heap's cache");
        rp__os_release(mem, rp__align_up(sizeof(rp_heap_t), rp__os_page_size()));
        return NULL;
    }
    rp__os_mutex_lock(&rp__heaps_lock);
    heap->next_heap = rp__heaps;
    rp__heaps = heap;
    rp__os_mutex_unlock(&rp__heaps_lock);
    return heap;
}

rp_status_t rp_heap_create(const rp_heap_options_t *options, rp_heap_t **out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_heap_create: out is NULL");
    *out = rp__heap_new(options);
    return *out != NULL ? RP_OK : rp_last_error()->status;
}

void rp_heap_destroy(rp_heap_t *heap) {
    if (heap == NULL || heap == &rp__default) return;
    int saved = rp__os_last_error();
    rp__os_mutex_lock(&rp__heaps_lock);
    for (rp_heap_t **at = &rp__heaps; *at != NULL; at = &(*at)->next_heap) {
        if (*at == heap) {
            *at = heap->next_heap;
            break;
        }
    }
    rp__os_mutex_unlock(&rp__heaps_lock);
    rp__partial_forget_heap(heap);
    rp__vg_destroy(heap); /* Valgrind: every block of the heap is gone */
    /* No other thread may use the heap any more (the API's contract), so its lock is not taken:
     * the spans go back to the source without holding anything. */
    rp__segment_destroy_all(heap);
    rp__large_destroy_all(heap);
    rp__donated_destroy_all(heap);
    rp__cache_purge(heap, true);
    rp__span_flush(heap);
    for (rp__local_t *l = heap->locals, *next; l != NULL; l = next) {
        next = l->next_all;
        rp__os_release(l, rp__align_up(sizeof(rp__local_t), rp__os_page_size()));
    }
    rp__os_release(heap, rp__align_up(sizeof(rp_heap_t), rp__os_page_size()));
    rp__os_set_last_error(saved);
}
