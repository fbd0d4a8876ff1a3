/* SPDX-License-Identifier: MIT */
/* map/create.c — rp_map_create and rp_map_destroy: the options checked, the file opened or
 * adopted, huge pages chosen, the mapping made and given what the options promise.
 *
 * See map/map_internal.h for the map object, its coordinates and its per-page state.
 */
#include <string.h>

#include "internal.h"
#include "map/map_internal.h"
#include "os/os.h"

/* Every RP_MAP_* flag map.h defines; any other bit is a caller's mistake (or a flag from a newer
 * header) and is refused rather than ignored. */
#define RP__KNOWN_FLAGS                                                                                       \
    (RP_MAP_SHARED | RP_MAP_JIT | RP_MAP_POPULATE | RP_MAP_NORESERVE | RP_MAP_STACK | RP_MAP_NODUMP |          \
     RP_MAP_LOCKED | RP_MAP_CREATE | RP_MAP_GROW | RP_MAP_RESERVE | RP_MAP_MAY_MOVE | RP_MAP_WIPEONFORK)

/* Transparent huge pages are PMD-sized; used to align THP maps when the OS lists no size. */
#define RP__THP_DEFAULT_SIZE ((size_t)2 << 20)

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
