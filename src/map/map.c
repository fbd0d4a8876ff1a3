/* SPDX-License-Identifier: MIT */
/* map/map.c — the mapping object: creation from options, protection transitions, flush, range
 * locks with per-page counts, reserve/commit, split/merge and resize. Policy only; every system
 * call goes through os/os.h.
 *
 * Coordinates. The OS mapping is [base, base + base_len); the caller's view is
 * [base + delta, base + delta + len). delta is non-zero for a file offset that is not a multiple
 * of the allocation granularity (the mapping starts at the granule below it) and for a stack map
 * (the guard page sits below the view). base_len is a multiple of map_page (the huge page size
 * for hugetlb maps), and state[] has one word per base page of base_len.
 *
 * Per-page state: the low bits count nested locks; RP__PAGE_DECOMMITTED marks a page of a
 * reserve map that is reserved but not committed. The OS lock is taken when a count goes 0 -> 1
 * and dropped when it goes 1 -> 0, so the kernel (which does not nest) always agrees with the
 * counts.
 *
 * The handle and the state array come from rp__os_alloc, not malloc: this layer sits below the
 * heap, and a map may hold secrets (the resident pages of RP_MAP_LOCKED / RP_MAP_NODUMP maps are
 * wiped before they go back to the OS).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"
#include "rampart/map.h"

#define RP__PAGE_DECOMMITTED 0x80000000u
#define RP__PAGE_COUNT_MASK 0x7fffffffu
_Static_assert((RP__PAGE_DECOMMITTED & RP__PAGE_COUNT_MASK) == 0, "state bits overlap");

/* Every RP_MAP_* flag map.h defines; any other bit is a caller's mistake (or a flag from a newer
 * header) and is refused rather than ignored. */
#define RP__KNOWN_FLAGS                                                                                       \
    (RP_MAP_SHARED | RP_MAP_JIT | RP_MAP_POPULATE | RP_MAP_NORESERVE | RP_MAP_STACK | RP_MAP_NODUMP |          \
     RP_MAP_LOCKED | RP_MAP_CREATE | RP_MAP_GROW | RP_MAP_RESERVE | RP_MAP_MAY_MOVE | RP_MAP_WIPEONFORK)

/* Transparent huge pages are PMD-sized; used to align THP maps when the OS lists no size. */
#define RP__THP_DEFAULT_SIZE ((size_t)2 << 20)

/* The flags a map must share with its neighbour to be merged with it. */
#define RP__MERGE_FLAGS \
    (RP_MAP_SHARED | RP_MAP_JIT | RP_MAP_NODUMP | RP_MAP_WIPEONFORK | RP_MAP_LOCKED | RP_MAP_RESERVE | RP_MAP_STACK)

struct rp_map {
    unsigned char *base;
    size_t base_len;
    size_t delta;
    size_t len;
    size_t page;          /* base page size: the unit of state[] and of locks */
    size_t map_page;      /* page size of the mapping (hugetlb size, or page) */
    uint32_t *state;
    size_t state_bytes;   /* bytes of the state allocation */
    rp__os_file_t file;
    uint64_t file_offset; /* file offset of base */
    rp_map_prot_t prot;
    rp_map_source_t source;
    unsigned flags;
    size_t guard;         /* guard bytes at base (stack maps) */
    bool guard_light;
    bool thp;
};

/* ---- small helpers ----------------------------------------------------------------------------- */

static size_t rp__map_pages(const rp_map_t *m) { return m->base_len / m->page; }

static bool rp__prot_valid(rp_map_prot_t p) {
    return (unsigned)p <= (unsigned)RP_MAP_PROT_READ_WRITE_EXEC;
}
static bool rp__prot_exec(rp_map_prot_t p) {
    return p == RP_MAP_PROT_READ_EXEC || p == RP_MAP_PROT_READ_WRITE_EXEC;
}
static bool rp__prot_write(rp_map_prot_t p) {
    return p == RP_MAP_PROT_READ_WRITE || p == RP_MAP_PROT_READ_WRITE_EXEC;
}
static rp__os_prot_t rp__os_prot_of(rp_map_prot_t p) {
    static const rp__os_prot_t table[] = {
        [RP_MAP_PROT_NONE] = RP__OS_PROT_NONE,
        [RP_MAP_PROT_READ] = RP__OS_PROT_READ,
        [RP_MAP_PROT_READ_WRITE] = RP__OS_PROT_READ_WRITE,
        [RP_MAP_PROT_READ_EXEC] = RP__OS_PROT_READ_EXEC,
        [RP_MAP_PROT_READ_WRITE_EXEC] = RP__OS_PROT_READ_WRITE_EXEC,
    };
    return table[p];
}

/* A map that may hold secrets (the caller asked for a lock, no dump or wipe on fork): its pages
 * are wiped before they go back to the OS. */
static bool rp__map_secret(const rp_map_t *m) {
    return m->source == RP_MAP_ANONYMOUS && !(m->flags & RP_MAP_SHARED) && (m->flags & (RP_MAP_LOCKED | RP_MAP_NODUMP | RP_MAP_WIPEONFORK));
}

/* The handle lives in its own pages; the lock counts of a small map (up to about a thousand
 * pages) fit in the rest of the handle's page, so most maps cost one extra mapping, not two. */
static size_t rp__handle_size(void) { return rp__align_up(sizeof(rp_map_t), rp__os_page_size()); }
static uint32_t *rp__inline_state(rp_map_t *m) {
    _Static_assert(sizeof(rp_map_t) % sizeof(uint32_t) == 0, "inline state would be misaligned");
    return (uint32_t *)(m + 1);
}

static void rp__state_free(rp_map_t *m) {
    if (m->state != rp__inline_state(m)) rp__os_release(m->state, m->state_bytes);
}

/* Make m->state hold pages entries, keeping the first keep (the rest of a new array is zero). */
static rp_status_t rp__state_reserve(rp_map_t *m, size_t pages, size_t keep) {
    size_t raw;
    if (rp__mul_overflows(pages, sizeof(uint32_t), &raw))
        return rp__fail(RP_ERR_NOMEM, 0, "map state for %zu pages overflows", pages);
    if (raw <= m->state_bytes) return RP_OK;
    size_t bytes = rp__align_up(raw, rp__os_page_size());
    void *fresh = NULL;
    int err = bytes == 0 ? rp__os_err_unsupported() : rp__os_alloc(bytes, &fresh);
    if (err != 0) return rp__fail_os(err, "allocating map state for %zu pages", pages);
    memcpy(fresh, m->state, keep * sizeof(uint32_t));
    rp__state_free(m);
    m->state = fresh;
    m->state_bytes = bytes;
    return RP_OK;
}

static rp_map_t *rp__handle_alloc(void) {
    void *p = NULL;
    if (rp__os_alloc(rp__handle_size(), &p) != 0) return NULL;
    rp_map_t *m = p;
    memset(m, 0, sizeof *m);
    m->file = RP__OS_FILE_NONE;
    m->state = rp__inline_state(m);
    m->state_bytes = rp__handle_size() - sizeof *m;
    return m;
}

static void rp__handle_free(rp_map_t *m) {
    rp__state_free(m);
    if (m->file != RP__OS_FILE_NONE) rp__os_file_close(m->file);
    rp__os_release(m, rp__handle_size());
}

/* Check [offset, offset+len) against the view and widen it to whole pages of the mapping:
 * *first and *count in state[] units (an empty range when the check fails). */
static rp_status_t rp__map_range(const rp_map_t *m, size_t offset, size_t len, const char *what, size_t *first,
                                 size_t *count) {
    *first = *count = 0;
    /* An empty range names no byte, so no offset can be out of it (seed 001): a no-op anywhere. */
    if (len == 0) return RP_OK;
    if (offset > m->len || len > m->len - offset)
        return rp__fail(RP_ERR_BOUNDS, 0, "%s: range at offset %zu with length %zu is past the end of the %zu-byte map",
                        what, offset, len, m->len);
    /* Whole pages of the mapping: a hugetlb area cannot be split inside a huge page. */
    size_t start = (m->delta + offset) & ~(m->map_page - 1);
    size_t end = rp__align_up(m->delta + offset + len, m->map_page);
    if (end > m->base_len) end = m->base_len;
    *first = start / m->page;
    *count = end / m->page - *first;
    return RP_OK;
}

static void *rp__page_addr(const rp_map_t *m, size_t index) { return m->base + index * m->page; }

/* Pages asked about per rp__os_resident call while wiping (one byte each, on the stack). */
#define RP__WIPE_CHUNK_PAGES 1024u

/* Zero the resident pages of [p, p + pages pages). A page that was never touched holds nothing
 * and writing it would fault it in: a sparse 64 GiB no-dump map would need 64 GiB of RAM to be
 * destroyed. Where the OS cannot tell, every page counts as resident. */
static void rp__wipe_resident(const rp_map_t *m, unsigned char *p, size_t pages) {
    unsigned char vec[RP__WIPE_CHUNK_PAGES];
    for (size_t done = 0; done < pages;) {
        size_t n = pages - done < RP__WIPE_CHUNK_PAGES ? pages - done : RP__WIPE_CHUNK_PAGES;
        unsigned char *at = p + done * m->page;
        if (rp__os_resident(at, n * m->page, vec) != 0) memset(vec, 1, n);
        for (size_t i = 0; i < n;) {
            if (!(vec[i] & 1)) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && (vec[j] & 1)) j++;
            rp_memzero(at + i * m->page, (j - i) * m->page);
            i = j;
        }
        done += n;
    }
}

/* Wipe pages [first, first+count) of a secret map that are committed, run by run (a run of a
 * hugetlb map is whole huge pages, which is what mprotect needs there). */
static void rp__map_wipe(rp_map_t *m, size_t first, size_t count) {
    if (!rp__map_secret(m)) return;
    size_t i = first > m->guard / m->page ? first : m->guard / m->page, end = first + count;
    while (i < end) {
        if (m->state[i] & RP__PAGE_DECOMMITTED) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < end && !(m->state[j] & RP__PAGE_DECOMMITTED)) j++;
        void *p = rp__page_addr(m, i);
        /* Read-only secrets still get wiped: open the pages for writing first. */
        if (rp__prot_write(m->prot) || rp__os_protect(p, (j - i) * m->page, RP__OS_PROT_READ_WRITE) == 0)
            rp__wipe_resident(m, p, j - i);
        i = j;
    }
}

/* ---- creation ---------------------------------------------------------------------------------- */

static rp_status_t rp__check_options(const rp_map_options_t *o) {
    const bool file = o->source != RP_MAP_ANONYMOUS;
    if ((unsigned)o->source > (unsigned)RP_MAP_FD) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: unknown source %d", (int)o->source);
    if (!rp__prot_valid(o->prot)) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: unknown protection %d", (int)o->prot);
    if (o->flags & ~RP__KNOWN_FLAGS)
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: unknown flag bits 0x%x in flags 0x%x (known: 0x%x)",
                        o->flags & ~RP__KNOWN_FLAGS, o->flags, RP__KNOWN_FLAGS);
    if (o->prot == RP_MAP_PROT_READ_WRITE_EXEC && !(o->flags & RP_MAP_JIT))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: read-write-execute memory needs RP_MAP_JIT");
    if (o->source == RP_MAP_PATH && (o->path == NULL || o->path[0] == '\0'))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: RP_MAP_PATH without a path");
    if (o->source == RP_MAP_FD && o->fd < 0) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: RP_MAP_FD with fd %d", o->fd);
    if (!file && o->length == 0) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: anonymous map of length 0");
    if (!file && o->offset != 0) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: anonymous map with a file offset");
    if (!file && (o->flags & (RP_MAP_CREATE | RP_MAP_GROW)))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: RP_MAP_CREATE/RP_MAP_GROW need a file");
    if (o->source != RP_MAP_PATH && (o->flags & RP_MAP_CREATE))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: RP_MAP_CREATE needs a path");
    if (file && (o->flags & (RP_MAP_STACK | RP_MAP_RESERVE)))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: RP_MAP_STACK and RP_MAP_RESERVE are for anonymous maps");
    if ((o->flags & RP_MAP_WIPEONFORK) && (file || (o->flags & RP_MAP_SHARED)))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: RP_MAP_WIPEONFORK is for private anonymous maps");
    if ((o->flags & RP_MAP_RESERVE) && (o->flags & RP_MAP_SHARED))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: a reserve map is private");
    if ((unsigned)o->huge > (unsigned)RP_MAP_HUGE_REQUIRE)
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: unknown huge page mode %d", (int)o->huge);
    if (o->huge_size != 0) {
        if (o->huge == RP_MAP_HUGE_OFF) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: huge_size %zu with huge pages off", o->huge_size);
        if ((o->huge_size & (o->huge_size - 1)) != 0 || o->huge_size <= rp__os_page_size())
            return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: huge_size %zu is not a power of two above the page size", o->huge_size);
        if (file) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: explicit huge pages are for anonymous maps (map a hugetlbfs file instead)");
        if (o->flags & RP_MAP_STACK) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: a stack map cannot use explicit huge pages");
    }
    if (o->address != NULL) {
        /* rp_map_ptr is exactly address, so a file offset inside a granule must be matched by
         * the address: the mapping itself starts at the granule boundary below both. */
        size_t gran = rp__os_alloc_granularity(), align = o->huge_size ? o->huge_size : gran;
        uintptr_t want = file ? (uintptr_t)(o->offset % gran) : 0;
        if (((uintptr_t)o->address & (align - 1)) != want)
            return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: address %p is not page-aligned%s", o->address,
                            want ? " plus the file offset's distance past its page boundary" : "");
    }
    return RP_OK;
}

/* Open or adopt the file, check the range against its size (growing it when asked), and fill
 * m->file, *length and *created (whether RP_MAP_CREATE made the file). */
static rp_status_t rp__open_file(const rp_map_options_t *o, rp_map_t *m, size_t *length, bool *created) {
    const bool want_write = (o->flags & (RP_MAP_GROW | RP_MAP_CREATE)) ||
                            ((o->flags & RP_MAP_SHARED) && rp__prot_write(o->prot));
    int err;
    if (o->source == RP_MAP_PATH) {
        bool not_regular = false;
        err = rp__os_file_open(o->path, want_write, (o->flags & RP_MAP_CREATE) != 0, &m->file, created, &not_regular);
        if (err != 0 && not_regular) return rp__fail_os(err, "%s cannot be mapped: only regular files can", o->path);
        if (err != 0) return rp__fail_os(err, "opening %s for mapping", o->path);
    } else {
        bool writable = false;
        err = rp__os_file_dup(o->fd, &m->file, &writable);
        if (err != 0) return rp__fail_os(err, "using descriptor %d for mapping", o->fd);
        if (want_write && !writable)
            return rp__fail(RP_ERR_PERMISSION, 0, "descriptor %d is not open for reading and writing but the map needs "
                            "to write the file", o->fd);
    }
    const char *name = o->source == RP_MAP_PATH ? o->path : "the descriptor's file";
    /* A directory, pipe or device has no size to check the range against (0 for most): say what
     * it is rather than call it empty or let mmap answer "no such device". */
    err = rp__os_file_mappable(m->file);
    if (err != 0) {
        if (o->source == RP_MAP_PATH) return rp__fail_os(err, "%s cannot be mapped: only regular files can", o->path);
        return rp__fail_os(err, "descriptor %d cannot be mapped: only regular files can", o->fd);
    }
    uint64_t size = 0;
    err = rp__os_file_size(m->file, &size);
    if (err != 0) return rp__fail_os(err, "reading the size of the file to map");
    if (size == 0 && !(o->flags & RP_MAP_GROW))
        return rp__fail(RP_ERR_INVALID, 0, "%s is empty (0 bytes): nothing to map; pass a length with RP_MAP_GROW to extend it", name);
    uint64_t want = o->length;
    if (o->length == 0) {
        if (o->offset >= size)
            return size == 0 ? rp__fail(RP_ERR_INVALID, 0, "%s is empty (0 bytes) and no length was given", name)
                             : rp__fail(RP_ERR_BOUNDS, 0, "offset %llu is at or past the end of %s (%llu bytes)",
                                        (unsigned long long)o->offset, name, (unsigned long long)size);
        want = size - o->offset;
    }
    if (want > SIZE_MAX || o->offset > UINT64_MAX - want)
        return rp__fail(RP_ERR_NOMEM, 0, "a map of %llu bytes at offset %llu does not fit in memory",
                        (unsigned long long)want, (unsigned long long)o->offset);
    if (o->offset + want > size) {
        if (!(o->flags & RP_MAP_GROW))
            return rp__fail(RP_ERR_BOUNDS, 0, "offset %llu + length %llu is past the end of %s (%llu bytes)",
                            (unsigned long long)o->offset, (unsigned long long)want, name, (unsigned long long)size);
        err = rp__os_file_grow(m->file, o->offset + want);
        if (err != 0) return rp__fail_os(err, "extending %s to %llu bytes", name, (unsigned long long)(o->offset + want));
    }
    *length = (size_t)want;
    return RP_OK;
}

/* Which explicit huge page size to use: RP_OK with *use = size, RP_OK with *use = 0 to fall back
 * (TRY), or the REQUIRE failure. */
static rp_status_t rp__pick_hugetlb(const rp_map_options_t *o, size_t *use) {
    rp__os_huge_size_t sizes[RP_MAX_HUGE_SIZES];
    size_t n = rp__os_huge_sizes(sizes, RP_MAX_HUGE_SIZES);
    if (n > RP_MAX_HUGE_SIZES) n = RP_MAX_HUGE_SIZES;
    *use = 0;
    for (size_t i = 0; i < n; i++) {
        if (sizes[i].size != o->huge_size) continue;
        if (sizes[i].free == 0 && o->huge == RP_MAP_HUGE_REQUIRE)
            return rp__fail(RP_ERR_NOMEM, 0,
                            "huge pages required: no free %zu KiB huge pages (%zu reserved, 0 free); reserve some "
                            "with: sysctl vm.nr_hugepages=N (or hugepages=N on the kernel command line)",
                            o->huge_size / 1024, sizes[i].total);
        *use = sizes[i].free == 0 ? 0 : o->huge_size;
        return RP_OK;
    }
    if (o->huge == RP_MAP_HUGE_REQUIRE)
        return rp__fail(RP_ERR_UNSUPPORTED, 0, "huge pages required: the OS offers no %zu KiB huge pages", o->huge_size / 1024);
    return RP_OK;
}

static size_t rp__thp_size(void) {
    rp__os_huge_size_t sizes[1];
    return rp__os_huge_sizes(sizes, 1) > 0 ? sizes[0].size : RP__THP_DEFAULT_SIZE;
}

/* Map req, over-allocating by align and trimming so the result is align-aligned (THP). */
static int rp__map_aligned(rp__os_map_request_t *req, size_t align, void **out) {
    size_t size = req->size, padded;
    if (rp__add_overflows(size, align, &padded)) return rp__os_err_nomem(); /* no such address space */
    req->size = padded;
    void *raw = NULL;
    int err = rp__os_map(req, &raw);
    req->size = size;
    if (err != 0) return err;
    uintptr_t start = (uintptr_t)raw, aligned = (start + align - 1) & ~(uintptr_t)(align - 1);
    if (aligned > start) rp__os_unmap(raw, aligned - start);
    size_t tail = (start + padded) - (aligned + size);
    if (tail > 0) rp__os_unmap((void *)(aligned + size), tail);
    *out = (void *)aligned;
    return 0;
}

static rp_status_t rp__create(const rp_map_options_t *o, rp_map_t *m, bool *created) {
    m->page = rp__os_page_size();
    m->map_page = m->page;
    m->prot = o->prot;
    m->flags = o->flags;
    m->source = o->source;
    size_t length = o->length;
    if (o->source != RP_MAP_ANONYMOUS) {
        rp_status_t st = rp__open_file(o, m, &length, created);
        if (st != RP_OK) return st;
        size_t gran = rp__os_alloc_granularity();
        m->delta = (size_t)(o->offset % gran);
        m->file_offset = o->offset - m->delta;
    }
    m->len = length;

    size_t huge = 0;
    if (o->huge != RP_MAP_HUGE_OFF && o->huge_size != 0) {
        rp_status_t st = rp__pick_hugetlb(o, &huge);
        if (st != RP_OK) return st;
    }
    const bool want_thp = o->huge != RP_MAP_HUGE_OFF && o->huge_size == 0;
    if (want_thp) {
        rp__os_thp_t mode = rp__os_thp_mode();
        bool usable = o->source == RP_MAP_ANONYMOUS && (mode == RP__OS_THP_MADVISE || mode == RP__OS_THP_ALWAYS);
        if (!usable && o->huge == RP_MAP_HUGE_REQUIRE)
            return rp__fail(RP_ERR_UNSUPPORTED, 0, "transparent huge pages required but %s",
                            o->source != RP_MAP_ANONYMOUS ? "they are for anonymous maps only"
                                                          : "the kernel has them off (transparent_hugepage/enabled)");
        m->thp = usable;
    }

    if (o->flags & RP_MAP_STACK) m->guard = m->page;
    m->delta += m->guard;
    for (;;) {
        m->map_page = huge ? huge : m->page;
        size_t total;
        if (rp__add_overflows(m->delta, length, &total) || (total = rp__align_up(total, m->map_page)) == 0)
            return rp__fail(RP_ERR_NOMEM, 0, "a map of %zu bytes overflows the address space", length);
        m->base_len = total;
        rp__os_map_request_t req = {
            .size = total,
            .prot = (o->flags & RP_MAP_RESERVE) ? RP__OS_PROT_NONE : rp__os_prot_of(o->prot),
            .file = m->file,
            .offset = m->file_offset,
            .shared = (o->flags & RP_MAP_SHARED) != 0,
            .populate = (o->flags & RP_MAP_POPULATE) != 0,
            /* Not for a reserve map: its reservation is PROT_NONE, which costs no commit charge
             * anyway, and MAP_NORESERVE would keep rp_map_commit from charging what it commits. */
            .noreserve = (o->flags & (RP_MAP_NORESERVE | RP_MAP_RESERVE)) == RP_MAP_NORESERVE,
            .stack = (o->flags & RP_MAP_STACK) != 0,
            .huge_size = huge,
            .fixed = o->address != NULL ? (unsigned char *)o->address - m->delta : NULL,
        };
        void *p = NULL;
        int err = (m->thp && o->address == NULL) ? rp__map_aligned(&req, rp__thp_size(), &p) : rp__os_map(&req, &p);
        if (err != 0 && huge != 0 && o->huge == RP_MAP_HUGE_TRY && rp__os_classify(err) != RP_ERR_EXISTS) {
            huge = 0; /* the pool ran dry between the check and the map: fall back */
            continue;
        }
        if (err != 0) {
            if (rp__os_classify(err) == RP_ERR_EXISTS)
                return rp__fail(RP_ERR_EXISTS, err, "address %p is already mapped (%zu bytes asked for)", o->address, total);
            if (huge != 0 && rp__os_classify(err) == RP_ERR_NOMEM)
                return rp__fail(RP_ERR_NOMEM, err, "huge pages required: mapping %zu bytes of %zu KiB huge pages failed; "
                                "reserve more with: sysctl vm.nr_hugepages=N", total, huge / 1024);
            if (huge != 0) return rp__fail_os(err, "huge pages required: mapping %zu bytes of %zu KiB huge pages", total, huge / 1024);
            return rp__fail_os(err, "mapping %zu bytes", total);
        }
        m->base = p;
        break;
    }

    rp_status_t st = rp__state_reserve(m, rp__map_pages(m), 0);
    if (st == RP_OK && (o->flags & RP_MAP_RESERVE))
        for (size_t i = 0; i < rp__map_pages(m); i++) m->state[i] = RP__PAGE_DECOMMITTED;
    if (st == RP_OK && m->guard) {
        int err = rp__os_guard_install(m->base, m->guard, &m->guard_light);
        if (err != 0) st = rp__fail_os(err, "installing the stack guard page at %p", (void *)m->base);
    }
    if (st == RP_OK && (o->flags & RP_MAP_NODUMP)) {
        int err = rp__os_advise(m->base, m->base_len, RP__OS_ADV_DONTDUMP);
        if (err != 0) st = rp__fail_os(err, "excluding %zu bytes at %p from core dumps", m->base_len, (void *)m->base);
    }
    if (st == RP_OK && (o->flags & RP_MAP_WIPEONFORK)) {
        int err = rp__os_advise(m->base, m->base_len, RP__OS_ADV_WIPEONFORK);
        if (err != 0) st = rp__fail_os(err, "marking %zu bytes at %p wipe-on-fork", m->base_len, (void *)m->base);
    }
    if (st == RP_OK && m->thp) {
        int err = rp__os_advise(m->base, m->base_len, RP__OS_ADV_HUGEPAGE);
        if (err != 0 && o->huge == RP_MAP_HUGE_REQUIRE) st = rp__fail_os(err, "asking for transparent huge pages");
        m->thp = err == 0;
    }
    if (st == RP_OK && (o->flags & RP_MAP_LOCKED)) st = rp_map_lock_all(m);
    if (st != RP_OK) {
        rp__os_unmap(m->base, m->base_len);
        m->base = NULL;
    }
    return st;
}

/* rp_map_options_t as first released (struct_size ... address); later fields go after. */
#define RP__MAP_OPTIONS_V1 (offsetof(rp_map_options_t, address) + sizeof(void *))

rp_status_t rp_map_create(const rp_map_options_t *options, rp_map_t **out) {
    if (out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: out is NULL");
    *out = NULL;
    if (options == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_create: options is NULL");
    rp_map_options_t known = {0};
    rp_status_t st = rp__read_sized(options, RP__MAP_OPTIONS_V1, &known, sizeof known, "rp_map_create");
    if (st != RP_OK) return st;
    options = &known; /* from here on only the fields this library knows */
    st = rp__check_options(options);
    if (st != RP_OK) return st;
    rp_map_t *m = rp__handle_alloc();
    if (m == NULL) return rp__fail_os(rp__os_last_error(), "allocating a map handle");
    bool created = false;
    st = rp__create(options, m, &created);
    if (st != RP_OK) {
        int saved = rp__os_last_error();
        rp__handle_free(m);
        /* A failed create leaves no file behind that it made (empty, or grown to the length). */
        if (created) rp__os_file_remove(options->path);
        rp__os_set_last_error(saved);
        return st;
    }
    *out = m;
    return RP_OK;
}

void rp_map_destroy(rp_map_t *m) {
    if (m == NULL) return;
    int saved = rp__os_last_error();
    rp__map_wipe(m, 0, rp__map_pages(m));
    rp__os_unmap(m->base, m->base_len);
    rp__handle_free(m);
    rp__os_set_last_error(saved);
}

/* ---- queries ----------------------------------------------------------------------------------- */

void *rp_map_ptr(const rp_map_t *m) { return m ? m->base + m->delta : NULL; }
size_t rp_map_len(const rp_map_t *m) { return m ? m->len : 0; }

rp_status_t rp_map_info(const rp_map_t *m, rp_map_info_t *out) {
    if (m == NULL || out == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_info: NULL argument");
    memset(out, 0, sizeof *out);
    out->ptr = m->base + m->delta;
    out->len = m->len;
    out->page_size = m->map_page;
    out->thp_advised = m->thp;
    out->prot = m->prot;
    out->flags = m->flags;
    out->source = m->source;
    out->offset = m->source == RP_MAP_ANONYMOUS ? 0 : m->file_offset + m->delta;
    for (size_t i = 0; i < rp__map_pages(m); i++) out->locked_pages += (m->state[i] & RP__PAGE_COUNT_MASK) != 0;
    return RP_OK;
}

typedef struct rp__map_area_filter {
    uintptr_t start, end;
    rp_area_fn fn;
    void *ctx;
} rp__map_area_filter_t;

static bool rp__map_area_filter(const rp_area_t *area, void *ctx) {
    rp__map_area_filter_t *f = ctx;
    if (area->start >= f->end) return false;
    if (area->end <= f->start) return true;
    return f->fn(area, f->ctx);
}

rp_status_t rp_map_areas(const rp_map_t *m, rp_area_fn fn, void *ctx) {
    if (m == NULL || fn == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_areas: NULL argument");
    rp__map_area_filter_t f = {(uintptr_t)m->base, (uintptr_t)m->base + m->base_len, fn, ctx};
    return rp_areas_foreach(0, rp__map_area_filter, &f);
}

/* ---- range locking ----------------------------------------------------------------------------- */

/* Whether the OS can hold a lock on page i now: committed, and the map accessible (mlock of
 * PROT_NONE memory fails). A counted page that is not gets its OS lock when it becomes
 * accessible (rp_map_commit, rp_map_protect). */
static bool rp__lockable(const rp_map_t *m, size_t i) {
    return m->prot != RP_MAP_PROT_NONE && !(m->state[i] & RP__PAGE_DECOMMITTED);
}
/* A page the OS must lock when its count goes 0 -> 1. */
static bool rp__needs_os_lock(const rp_map_t *m, size_t i) {
    return !(m->state[i] & RP__PAGE_COUNT_MASK) && rp__lockable(m, i);
}

/* Whether pages [first, end) of a file map reach past the last page of its file, which may have
 * been truncated under the map; *size gets the file's size. */
static bool rp__file_short(const rp_map_t *m, size_t first, size_t end, uint64_t *size) {
    *size = 0;
    if (m->source == RP_MAP_ANONYMOUS || end <= first || rp__os_file_size(m->file, size) != 0) return false;
    return m->file_offset + (uint64_t)(end - 1) * m->page >= *size;
}

/* A lock of pages [first, end) failed with err. mlock faults every page in, and a page past the
 * end of a file cannot be read: the kernel then says ENOMEM, which reads as "over the memlock
 * limit" (even for root). When the file is shorter than the map, say that instead, with sizes. */
static rp_status_t rp__fail_map_lock(const rp_map_t *m, int err, size_t first, size_t end, size_t bytes) {
    uint64_t size;
    if (rp__os_classify_lock(err) != RP_ERR_LIMIT || !rp__file_short(m, first, end, &size))
        return rp__fail_lock(err, bytes, "mlock");
    return rp__fail(RP_ERR_IO, err,
                    "mlock of %zu bytes failed: the file is %llu bytes, shorter than the map, which needs it to reach "
                    "byte %llu (truncated under the map?); pages past the end of a file cannot be read or locked",
                    bytes, (unsigned long long)size, (unsigned long long)(m->file_offset + (uint64_t)end * m->page));
}

/* Count one more lock on pages [first, first+count), taking the OS lock for pages that had none;
 * all or nothing. */
static rp_status_t rp__lock_pages(rp_map_t *m, size_t first, size_t count) {
    size_t end = first + count;
    for (size_t i = first; i < end; i++)
        if ((m->state[i] & RP__PAGE_COUNT_MASK) == RP__PAGE_COUNT_MASK)
            return rp__fail(RP_ERR_LIMIT, 0, "rp_map_lock: page %zu of the map is locked %u times already", i, RP__PAGE_COUNT_MASK);
    /* Lock the runs of pages nobody holds yet; undo them all if one fails. */
    size_t i = first;
    while (i < end) {
        if (!rp__needs_os_lock(m, i)) { i++; continue; }
        size_t j = i;
        while (j < end && rp__needs_os_lock(m, j)) j++;
        int err = rp__os_lock(rp__page_addr(m, i), (j - i) * m->page);
        if (err != 0) {
            /* The failed run too: Linux marks the whole range locked before it faults the pages
             * in, and keeps the pages it got when a later one fails. */
            rp__os_unlock(rp__page_addr(m, i), (j - i) * m->page);
            for (size_t k = first; k < i;) {
                if (!rp__needs_os_lock(m, k)) { k++; continue; }
                size_t r = k;
                while (r < i && rp__needs_os_lock(m, r)) r++;
                rp__os_unlock(rp__page_addr(m, k), (r - k) * m->page);
                k = r;
            }
            return rp__fail_map_lock(m, err, i, j, count * m->page);
        }
        i = j;
    }
    for (size_t k = first; k < end; k++) m->state[k]++;
    return RP_OK;
}

/* Take the OS lock on the counted pages of [first, end) that just became accessible: lockable
 * ones, or with committing every counted one (the range is being committed). */
static int rp__lock_counted(rp_map_t *m, size_t first, size_t end, bool committing) {
    size_t i = first;
    while (i < end) {
        size_t j = i;
        while (j < end && (m->state[j] & RP__PAGE_COUNT_MASK) && (committing || rp__lockable(m, j))) j++;
        if (j == i) {
            i++;
            continue;
        }
        int err = rp__os_lock(rp__page_addr(m, i), (j - i) * m->page);
        if (err != 0) return err;
        i = j;
    }
    return 0;
}

/* Drop the OS lock on every counted, lockable run (the undo of rp__lock_counted). */
static void rp__unlock_counted(rp_map_t *m) {
    size_t i = 0, end = rp__map_pages(m);
    while (i < end) {
        size_t j = i;
        while (j < end && (m->state[j] & RP__PAGE_COUNT_MASK) && rp__lockable(m, j)) j++;
        if (j == i) {
            i++;
            continue;
        }
        rp__os_unlock(rp__page_addr(m, i), (j - i) * m->page);
        i = j;
    }
}

rp_status_t rp_map_lock(rp_map_t *m, size_t offset, size_t len) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_lock: map is NULL");
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, "rp_map_lock", &first, &count);
    if (st != RP_OK || len == 0) return st;
    return rp__lock_pages(m, first, count);
}

rp_status_t rp_map_unlock(rp_map_t *m, size_t offset, size_t len) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_unlock: map is NULL");
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, "rp_map_unlock", &first, &count);
    if (st != RP_OK || len == 0) return st;
    /* The OS holds a lock on a page whose count is 1 unless it is reserved (decommit let the
     * lock go; a reserved page was never locked). */
    size_t end = first + count, i = first;
    while (i < end) {
        if (m->state[i] != 1) {
            if (m->state[i] & RP__PAGE_COUNT_MASK) m->state[i]--;
            i++;
            continue;
        }
        size_t j = i;
        while (j < end && m->state[j] == 1) j++;
        int err = rp__os_unlock(rp__page_addr(m, i), (j - i) * m->page);
        /* Pages the OS never locked (Windows: ERROR_NOT_LOCKED) are unlocked all the same. */
        if (err != 0 && !rp__os_is_not_locked(err))
            return rp__fail_os(err, "unlocking %zu bytes at offset %zu of the map", (j - i) * m->page, i * m->page);
        for (size_t k = i; k < j; k++) m->state[k]--;
        i = j;
    }
    return RP_OK;
}

rp_status_t rp_map_lock_all(rp_map_t *m) { return rp_map_lock(m, 0, m ? m->len : 0); }
rp_status_t rp_map_unlock_all(rp_map_t *m) { return rp_map_unlock(m, 0, m ? m->len : 0); }

/* ---- protection -------------------------------------------------------------------------------- */

/* Apply prot to every committed run of pages past the guard, flushing the instruction cache of
 * runs that become executable; on failure undo the runs already changed (back to old) and return
 * the error. */
static int rp__protect_runs(rp_map_t *m, rp_map_prot_t prot, rp_map_prot_t old) {
    size_t first = m->guard / m->page, end = rp__map_pages(m), i = first;
    int err = 0;
    while (i < end && err == 0) {
        if (m->state[i] & RP__PAGE_DECOMMITTED) { i++; continue; }
        size_t j = i;
        while (j < end && !(m->state[j] & RP__PAGE_DECOMMITTED)) j++;
        err = rp__os_protect(rp__page_addr(m, i), (j - i) * m->page, rp__os_prot_of(prot));
        if (err != 0) break;
        /* Code just became executable: make the instruction cache see what was written as data.
         * Run by run: on ARM the cache maintenance faults on the no-access pages between them. */
        if (rp__prot_exec(prot)) rp__os_icache_flush(rp__page_addr(m, i), (j - i) * m->page);
        i = j;
    }
    if (err == 0) return 0;
    for (size_t k = first; k < i;) {
        if (m->state[k] & RP__PAGE_DECOMMITTED) { k++; continue; }
        size_t j = k;
        while (j < i && !(m->state[j] & RP__PAGE_DECOMMITTED)) j++;
        rp__os_protect(rp__page_addr(m, k), (j - k) * m->page, rp__os_prot_of(old));
        k = j;
    }
    return err;
}

rp_status_t rp_map_protect(rp_map_t *m, rp_map_prot_t prot) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_protect: map is NULL");
    if (!rp__prot_valid(prot)) return rp__fail(RP_ERR_INVALID, 0, "rp_map_protect: unknown protection %d", (int)prot);
    if (prot == RP_MAP_PROT_READ_WRITE_EXEC && !(m->flags & RP_MAP_JIT))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_protect: read-write-execute needs a map created with RP_MAP_JIT");
    rp_map_prot_t old = m->prot;
    int err = rp__protect_runs(m, prot, old);
    if (err != 0) return rp__fail_os(err, "changing the protection of the %zu-byte map at %p", m->len, rp_map_ptr(m));
    if (old == RP_MAP_PROT_NONE && prot != RP_MAP_PROT_NONE) {
        /* Locks counted while the map had no access take effect now. */
        m->prot = prot;
        err = rp__lock_counted(m, 0, rp__map_pages(m), false);
        if (err != 0) {
            /* The runs locked before the one that failed would stay charged to the memlock
             * limit under a map that has no access again: let them go (unlocking a run that
             * was not locked is harmless). */
            rp__unlock_counted(m);
            m->prot = old;
            rp__protect_runs(m, old, prot);
            return rp__fail_map_lock(m, err, 0, rp__map_pages(m), m->base_len);
        }
    }
    m->prot = prot;
    return RP_OK;
}

/* ---- flush ------------------------------------------------------------------------------------- */

rp_status_t rp_map_flush(rp_map_t *m, size_t offset, size_t len, bool async) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_flush: map is NULL");
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, "rp_map_flush", &first, &count);
    if (st != RP_OK || len == 0 || m->source == RP_MAP_ANONYMOUS) return st;
    int err = rp__os_flush(rp__page_addr(m, first), count * m->page, async, m->file);
    if (err != 0) return rp__fail_os(err, "flushing %zu bytes at offset %zu of the map (%s)", len, offset, async ? "async" : "sync");
    /* The OS flushes what it can and says nothing of bytes past the end of a file that shrank
     * under the map: they are not in the file, and reading them kills with SIGBUS. */
    uint64_t size = 0, end = m->file_offset + m->delta + offset + len;
    err = rp__os_file_size(m->file, &size);
    if (err != 0) return rp__fail_os(err, "flushing: reading the size of the map's file");
    if (size < end)
        return rp__fail(RP_ERR_IO, 0, "flushing %zu bytes at offset %zu of the map: the file is %llu bytes, shorter than "
                        "the map (the range ends at byte %llu of the file; truncated under the map?): bytes past its end "
                        "are not in the file", len, offset, (unsigned long long)size, (unsigned long long)end);
    return RP_OK;
}

rp_status_t rp_map_flush_all(rp_map_t *m, bool async) {
    return rp_map_flush(m, 0, m ? m->len : 0, async);
}

/* ---- guarded copies ---------------------------------------------------------------------------- */

/* Check a copy of len bytes at offset: in the view, every page committed, the access allowed. */
static rp_status_t rp__check_copy(const rp_map_t *m, size_t offset, const void *buf, size_t len, bool write,
                                  const char *what) {
    if (m == NULL || (buf == NULL && len != 0)) return rp__fail(RP_ERR_INVALID, 0, "%s: NULL map or buffer", what);
    size_t first, count;
    rp_status_t st = rp__map_range(m, offset, len, what, &first, &count);
    if (st != RP_OK || len == 0) return st;
    if (m->prot == RP_MAP_PROT_NONE || (write && !rp__prot_write(m->prot)))
        return rp__fail(RP_ERR_PERMISSION, 0, "%s: the map is not %s", what, write ? "writable" : "readable");
    for (size_t i = first; i < first + count; i++)
        if (m->state[i] & RP__PAGE_DECOMMITTED)
            return rp__fail(RP_ERR_INVALID, 0, "%s: byte %zu of the map is reserved, not committed", what,
                            i * m->page > m->delta ? i * m->page - m->delta : 0);
    return RP_OK;
}

/* A guarded copy faulted: say why, with the file's size when it is shorter than the map. */
static rp_status_t rp__fail_copy(const rp_map_t *m, int err, size_t offset, size_t len, const char *what) {
    uint64_t size = 0, end = m->file_offset + m->delta + offset + len;
    if (m->source != RP_MAP_ANONYMOUS && rp__os_file_size(m->file, &size) == 0 && size < end)
        return rp__fail(RP_ERR_IO, err, "%s: %zu bytes at offset %zu of the map: the file is %llu bytes, shorter than the map "
                        "(the range ends at byte %llu of the file; truncated under the map?)", what, len, offset,
                        (unsigned long long)size, (unsigned long long)end);
    return rp__fail(RP_ERR_IO, err, "%s: %zu bytes at offset %zu of the map: the OS could not supply a page (I/O error "
                    "on the map's file?)", what, len, offset);
}

rp_status_t rp_map_read(const rp_map_t *m, size_t offset, void *dst, size_t len) {
    rp_status_t st = rp__check_copy(m, offset, dst, len, false, "rp_map_read");
    if (st != RP_OK || len == 0) return st;
    int err = rp__os_copy_guarded(dst, m->base + m->delta + offset, len, m->base, m->base_len);
    return err == 0 ? RP_OK : rp__fail_copy(m, err, offset, len, "rp_map_read");
}

rp_status_t rp_map_write(rp_map_t *m, size_t offset, const void *src, size_t len) {
    rp_status_t st = rp__check_copy(m, offset, src, len, true, "rp_map_write");
    if (st != RP_OK || len == 0) return st;
    int err = rp__os_copy_guarded(m->base + m->delta + offset, src, len, m->base, m->base_len);
    return err == 0 ? RP_OK : rp__fail_copy(m, err, offset, len, "rp_map_write");
}

/* ---- reserve and commit ------------------------------------------------------------------------ */

/* Decommit [addr, addr+bytes) and put back the advice the map promises (the fresh reservation
 * the OS puts there has none). */
static int rp__decommit_pages(rp_map_t *m, void *addr, size_t bytes) {
    int err = rp__os_decommit(addr, bytes);
    if (err != 0) return err;
    if (m->flags & RP_MAP_NODUMP) rp__os_advise(addr, bytes, RP__OS_ADV_DONTDUMP);
    if (m->flags & RP_MAP_WIPEONFORK) rp__os_advise(addr, bytes, RP__OS_ADV_WIPEONFORK);
    if (m->thp) rp__os_advise(addr, bytes, RP__OS_ADV_HUGEPAGE);
    return 0;
}

static rp_status_t rp__check_committable(const rp_map_t *m, const char *what) {
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "%s: map is NULL", what);
    if (m->source != RP_MAP_ANONYMOUS || (m->flags & RP_MAP_SHARED) || m->map_page != m->page)
        return rp__fail(RP_ERR_INVALID, 0, "%s: only private anonymous maps with base pages commit and decommit", what);
    return RP_OK;
}

rp_status_t rp_map_commit(rp_map_t *m, size_t offset, size_t len) {
    rp_status_t st = rp__check_committable(m, "rp_map_commit");
    size_t first, count;
    if (st == RP_OK) st = rp__map_range(m, offset, len, "rp_map_commit", &first, &count);
    if (st != RP_OK || len == 0) return st;
    void *addr = rp__page_addr(m, first);
    size_t bytes = count * m->page;
    int err = rp__os_commit(addr, bytes);
    if (err == 0 && m->prot != RP_MAP_PROT_READ_WRITE) err = rp__os_protect(addr, bytes, rp__os_prot_of(m->prot));
    /* Locks counted on the range (RP_MAP_LOCKED, or taken while it was reserved) apply now. */
    bool lock_failed = false;
    if (err == 0 && m->prot != RP_MAP_PROT_NONE) lock_failed = (err = rp__lock_counted(m, first, first + count, true)) != 0;
    if (err != 0) {
        /* Leave the pages as they were: the ones that were decommitted go back to that. */
        for (size_t i = first; i < first + count; i++)
            if (m->state[i] & RP__PAGE_DECOMMITTED) rp__decommit_pages(m, rp__page_addr(m, i), m->page);
        if (lock_failed) return rp__fail_lock(err, bytes, "mlock");
        return rp__fail_os(err, "committing %zu bytes at offset %zu of the map", bytes, offset);
    }
    for (size_t i = first; i < first + count; i++) m->state[i] &= ~RP__PAGE_DECOMMITTED;
    if (rp__prot_exec(m->prot)) rp__os_icache_flush(addr, bytes);
    return RP_OK;
}

rp_status_t rp_map_decommit(rp_map_t *m, size_t offset, size_t len) {
    rp_status_t st = rp__check_committable(m, "rp_map_decommit");
    size_t first, count;
    if (st == RP_OK) st = rp__map_range(m, offset, len, "rp_map_decommit", &first, &count);
    if (st != RP_OK || len == 0) return st;
    /* Widening would drop bytes the caller did not name: the range must cover whole pages. */
    size_t start = m->delta + offset;
    if (!rp__is_aligned(start, m->page) || (!rp__is_aligned(start + len, m->page) && offset + len != m->len))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_decommit: offset %zu, length %zu is not whole pages of %zu bytes",
                        offset, len, m->page);
    if (first * m->page < m->guard)
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_decommit: the range includes the stack guard");
    void *addr = rp__page_addr(m, first);
    size_t bytes = count * m->page;
    rp__map_wipe(m, first, count);
    int err = rp__decommit_pages(m, addr, bytes);
    if (err != 0) return rp__fail_os(err, "decommitting %zu bytes at offset %zu of the map", bytes, offset);
    /* Lock counts survive: they take effect again when the range is committed. */
    for (size_t i = first; i < first + count; i++) m->state[i] |= RP__PAGE_DECOMMITTED;
    return RP_OK;
}

/* ---- split, merge, resize ---------------------------------------------------------------------- */

rp_status_t rp_map_split(rp_map_t *m, size_t offset, rp_map_t **tail) {
    if (tail == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_split: tail is NULL");
    *tail = NULL;
    if (m == NULL) return rp__fail(RP_ERR_INVALID, 0, "rp_map_split: map is NULL");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_split: this OS maps views that cannot be split");
    if (offset == 0 || offset >= m->len)
        return rp__fail(RP_ERR_BOUNDS, 0, "rp_map_split: offset %zu is not inside the %zu-byte map", offset, m->len);
    size_t cut = m->delta + offset;
    if (!rp__is_aligned(cut, m->map_page))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_split: offset %zu does not fall on a %zu-byte page boundary", offset, m->map_page);
    rp_map_t *t = rp__handle_alloc();
    if (t == NULL) return rp__fail_os(rp__os_last_error(), "allocating a map handle");
    *t = *m;
    t->state = rp__inline_state(t);
    t->state_bytes = rp__handle_size() - sizeof *t;
    t->file = RP__OS_FILE_NONE;
    t->base = m->base + cut;
    t->base_len = m->base_len - cut;
    t->delta = 0;
    t->len = m->len - offset;
    t->guard = 0;
    t->flags &= ~RP_MAP_STACK;
    t->file_offset = m->file_offset + cut;
    rp_status_t st = rp__state_reserve(t, rp__map_pages(t), 0);
    int err = 0;
    if (st == RP_OK && m->file != RP__OS_FILE_NONE && (err = rp__os_file_clone(m->file, &t->file)) != 0)
        st = rp__fail_os(err, "rp_map_split: a second handle to the map's file");
    if (st != RP_OK) {
        rp__handle_free(t);
        return st;
    }
    memcpy(t->state, m->state + cut / m->page, rp__map_pages(t) * sizeof(uint32_t));
    m->base_len = cut;
    m->len = offset;
    *tail = t;
    return RP_OK;
}

rp_status_t rp_map_merge(rp_map_t *a, rp_map_t *b) {
    if (a == NULL || b == NULL || a == b) return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: needs two different maps");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_merge: this OS unmaps views only whole");
    if (a->base + a->base_len != b->base || a->delta + a->len != a->base_len || b->delta != 0)
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: the map at %p does not start where the map at %p ends",
                        rp_map_ptr(b), rp_map_ptr(a));
    if (a->source != b->source || a->prot != b->prot || a->map_page != b->map_page || a->thp != b->thp ||
        (a->flags & RP__MERGE_FLAGS & ~RP_MAP_STACK) != (b->flags & RP__MERGE_FLAGS & ~RP_MAP_STACK) ||
        (b->flags & RP_MAP_STACK))
        return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: the maps differ in kind (source, protection, flags or page size)");
    if (a->source != RP_MAP_ANONYMOUS) {
        bool same = false;
        int err = rp__os_file_same(a->file, b->file, &same);
        if (err != 0) return rp__fail_os(err, "rp_map_merge: comparing the maps' files");
        if (!same || b->file_offset != a->file_offset + a->base_len)
            return rp__fail(RP_ERR_INVALID, 0, "rp_map_merge: the maps are not contiguous parts of one file");
    }
    size_t na = rp__map_pages(a), nb = rp__map_pages(b);
    rp_status_t st = rp__state_reserve(a, na + nb, na);
    if (st != RP_OK) return st;
    memcpy(a->state + na, b->state, nb * sizeof(uint32_t));
    a->base_len += b->base_len;
    a->len += b->len;
    rp__handle_free(b);
    return RP_OK;
}

/* The OS areas of a map follow its page states: an area ends wherever the lock or commit state
 * changes (the kernel may merge more, never less). */
static bool rp__same_area(uint32_t a, uint32_t b) {
    return ((a & RP__PAGE_COUNT_MASK) != 0) == ((b & RP__PAGE_COUNT_MASK) != 0) &&
           (a & RP__PAGE_DECOMMITTED) == (b & RP__PAGE_DECOMMITTED);
}

/* Grow the OS mapping to total bytes: the last area in place, else (RP_MAP_MAY_MOVE) the whole
 * map, area by area, into a fresh reservation of the new size, since one mremap cannot span
 * areas. On failure nothing has changed. */
static int rp__map_grow_areas(rp_map_t *m, size_t total) {
    size_t n = rp__map_pages(m), last = n - 1, grow = total - m->base_len;
    while (last > 0 && rp__same_area(m->state[last - 1], m->state[n - 1])) last--;
    size_t last_bytes = (n - last) * m->page;
    void *p = NULL;
    int err = rp__os_remap(rp__page_addr(m, last), last_bytes, last_bytes + grow, false, NULL, &p);
    if (err == 0 || !(m->flags & RP_MAP_MAY_MOVE)) return err;
    if (last == 0) {
        err = rp__os_remap(m->base, m->base_len, total, true, NULL, &p);
        if (err == 0) m->base = p;
        return err;
    }
    void *reserved = NULL;
    err = rp__os_reserve(total, &reserved);
    if (err != 0) return err;
    unsigned char *dest = reserved;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && rp__same_area(m->state[i], m->state[j])) j++;
        size_t bytes = (j - i) * m->page;
        err = rp__os_remap(rp__page_addr(m, i), bytes, j == n ? bytes + grow : bytes, true, dest + i * m->page, &p);
        if (err != 0) break;
        i = j;
    }
    if (err == 0) {
        m->base = dest;
        return 0;
    }
    /* Move the areas already moved back where they were, and drop the rest of the reservation. */
    for (size_t k = 0; k < i;) {
        size_t j = k + 1;
        while (j < i && rp__same_area(m->state[k], m->state[j])) j++;
        size_t bytes = (j - k) * m->page;
        rp__os_remap(dest + k * m->page, bytes, bytes, true, rp__page_addr(m, k), &p);
        k = j;
    }
    rp__os_unmap(dest + i * m->page, total - i * m->page);
    return err;
}

/* A last area the OS holds locked grows with its lock: mremap faults every new page in and
 * charges it to the memlock limit before rp_map_resize unlocks the growth, so one locked page
 * would make growing a sparse map to 64 GiB need 64 GiB of RAM. Relocked on fault first
 * (mlock2 MLOCK_ONFAULT: its own pages stay locked and resident, the growth is not faulted in)
 * and back to a plain lock after. RP_MAP_LOCKED maps lock their growth anyway. */
static int rp__map_grow(rp_map_t *m, size_t total) {
    size_t n = rp__map_pages(m), run = n;
    if (!(m->flags & RP_MAP_LOCKED))
        while (run > 0 && (m->state[run - 1] & RP__PAGE_COUNT_MASK) && rp__lockable(m, run - 1)) run--;
    size_t bytes = (n - run) * m->page;
    if (bytes == 0 || rp__os_lock_onfault(rp__page_addr(m, run), bytes) != 0) return rp__map_grow_areas(m, total);
    int err = rp__map_grow_areas(m, total);
    /* The run is locked either way (m->base is where it is now): a failure here would only
     * leave it in on-fault mode, with every page already resident. */
    (void)rp__os_lock(rp__page_addr(m, run), bytes);
    return err;
}

rp_status_t rp_map_resize(rp_map_t *m, size_t new_len) {
    if (m == NULL || new_len == 0) return rp__fail(RP_ERR_INVALID, 0, "rp_map_resize: NULL map or length 0");
    if (m->guard) return rp__fail(RP_ERR_INVALID, 0, "rp_map_resize: a stack map keeps its size (its guard sits below it)");
    if (!rp__os_remap_available()) return rp__fail(RP_ERR_UNSUPPORTED, 0, "rp_map_resize: this OS cannot resize a mapping");
    size_t total;
    if (rp__add_overflows(m->delta, new_len, &total) || (total = rp__align_up(total, m->map_page)) == 0)
        return rp__fail(RP_ERR_NOMEM, 0, "rp_map_resize: %zu bytes overflow the address space", new_len);
    if (m->source != RP_MAP_ANONYMOUS) {
        /* file_offset + delta + new_len can pass 2^64 even when delta + new_len fits. */
        uint64_t size = 0, want = m->file_offset + m->delta;
        if (want > UINT64_MAX - new_len)
            return rp__fail(RP_ERR_NOMEM, 0, "rp_map_resize: %zu bytes at file offset %llu overflow the file's offsets",
                            new_len, (unsigned long long)want);
        want += new_len;
        int err = rp__os_file_size(m->file, &size);
        if (err != 0) return rp__fail_os(err, "rp_map_resize: reading the file size");
        if (want > size && !(m->flags & RP_MAP_GROW))
            return rp__fail(RP_ERR_BOUNDS, 0, "rp_map_resize: %zu bytes would reach past the end of the file (%llu bytes); "
                            "create the map with RP_MAP_GROW", new_len, (unsigned long long)size);
        if (want > size && (err = rp__os_file_grow(m->file, want)) != 0)
            return rp__fail_os(err, "rp_map_resize: extending the file to %llu bytes", (unsigned long long)want);
    }
    size_t old_pages = rp__map_pages(m), new_pages = total / m->page, old_len = m->base_len;
    if (total < old_len) {
        rp__map_wipe(m, new_pages, old_pages - new_pages);
        int err = rp__os_unmap(m->base + total, old_len - total);
        if (err != 0) return rp__fail_os(err, "rp_map_resize: %zu -> %zu bytes", old_len, total);
        m->base_len = total;
    } else if (total > old_len) {
        rp_status_t st = rp__state_reserve(m, new_pages, old_pages);
        if (st != RP_OK) return st;
        int err = rp__map_grow(m, total);
        if (err != 0) {
            /* The kernel grows a locked last area with its lock and refuses (EAGAIN) when that
             * would pass the memlock limit: a lock failure, with the numbers and the remedy. */
            if (rp__os_classify(err) == RP_ERR_LIMIT &&
                ((m->flags & RP_MAP_LOCKED) || (m->state[old_pages - 1] & RP__PAGE_COUNT_MASK))) {
                char from[32], to[32], held[32], what[160];
                size_t vm_locked = 0, resident = 0;
                int known = rp__os_locked_bytes(0, &vm_locked, &resident);
                snprintf(what, sizeof what, "rp_map_resize: growing a locked map from %s to %s (this process holds %s "
                         "locked now): the lock", rp_format_bytes(old_len, from, sizeof from),
                         rp_format_bytes(total, to, sizeof to), known == 0 ? rp_format_bytes(vm_locked, held, sizeof held) : "an unknown amount");
                return rp__fail_lock(err, total - old_len, what);
            }
            if (rp__os_classify(err) == RP_ERR_NOMEM && !(m->flags & RP_MAP_MAY_MOVE))
                return rp__fail(RP_ERR_NOMEM, err, "rp_map_resize: cannot grow %zu -> %zu bytes in place (the next pages "
                                "are in use); create the map with RP_MAP_MAY_MOVE", old_len, total);
            return rp__fail_os(err, "rp_map_resize: %zu -> %zu bytes", old_len, total);
        }
        m->base_len = total;
        unsigned char *grown = m->base + old_len;
        size_t bytes = total - old_len;
        memset(m->state + old_pages, 0, (new_pages - old_pages) * sizeof(uint32_t));
        /* The kernel extends the last area with its flags, a lock included: the counts say the
         * new pages are not locked, so make the kernel agree, then apply what the map promises. */
        if (m->state[old_pages - 1] & RP__PAGE_COUNT_MASK) rp__os_unlock(grown, bytes);
        if (m->flags & RP_MAP_RESERVE) {
            rp__decommit_pages(m, grown, bytes);
            for (size_t i = old_pages; i < new_pages; i++) m->state[i] = RP__PAGE_DECOMMITTED;
        }
        if (m->flags & RP_MAP_LOCKED) {
            st = rp__lock_pages(m, old_pages, new_pages - old_pages);
            if (st != RP_OK) {
                /* Keep the promise that a locked map is locked: go back to the old size. */
                if (rp__os_unmap(grown, bytes) == 0) m->base_len = old_len;
                return st;
            }
        }
    }
    m->len = new_len;
    return RP_OK;
}
