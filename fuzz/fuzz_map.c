/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_map.c — libFuzzer target for maps (rampart/map.h).
 *
 * The input is a sequence of operations on up to four maps at a time: anonymous maps (plain,
 * reserve/commit, RP_MAP_LOCKED, populated, no-dump, wipe-on-fork, may-move) and shared maps of
 * two files in a private temporary directory (created with RP_MAP_CREATE | RP_MAP_GROW, at any
 * byte offset, so two maps of one file can overlap). Maps are at most 256 KiB and files at most
 * 256 KiB, so four maps locked whole stay far below an 8 MiB memlock limit; a lock the OS refuses
 * anyway (no budget at all) must be refused cleanly, with every page as it was.
 *
 * The model, per map: length, protection, which pages are committed, a lock count per page
 * (rp_map_info's locked_pages must equal the pages with a count), and the bytes: a shadow copy
 * for anonymous maps (page-rounded, so bytes past the end of a shrunk map's last page are
 * tracked too; new pages read as zeros), one shadow per file for file maps (shared maps of one
 * file see each other's writes; the file itself, read with pread, must hold the same bytes).
 * Checked after each operation:
 *   - rp_map_read / rp_map_write move exactly the bytes the model says, and refuse with
 *     RP_ERR_BOUNDS (past the end), RP_ERR_PERMISSION (no access) or RP_ERR_INVALID (a reserved
 *     page), changing nothing; a zero-length range is a no-op at any offset;
 *   - direct loads and stores through rp_map_ptr agree with the same model;
 *   - lock/unlock nest per page over the range widened to whole pages; protect, resize (both
 *     ways, in place or moved), commit/decommit (decommitted pages read as zeros once committed
 *     again), split + merge and flush keep contents and counts;
 *   - rp_map_info reports the length, protection and locked pages the model has.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "rampart/map.h"
#include "rampart/pages.h"

#define FZ_MAPS 4
#define FZ_FILES 2
#define FZ_MAX_LEN ((size_t)256 << 10)
#define FZ_MAX_FOFF ((size_t)16 << 10)
#define FZ_MAX_PAGES (FZ_MAX_LEN / 4096 + 2) /* pages of FZ_MAX_LEN plus a partial one at each end */

typedef struct fz_file {
    char path[256];
    uint8_t *bytes; /* FZ_MAX_LEN + FZ_MAX_FOFF bytes; [0, size) is the file */
    size_t size;
    bool exists;
} fz_file_t;

typedef struct fz_map {
    rp_map_t *m;        /* NULL: empty slot */
    int file;           /* -1: anonymous */
    size_t foff;        /* file offset of byte 0 of the view */
    size_t delta;       /* view start - mapping start (file offset % page) */
    size_t len;
    unsigned flags;
    rp_map_prot_t prot;
    uint32_t locks[FZ_MAX_PAGES];
    bool reserved[FZ_MAX_PAGES]; /* anonymous maps: page not committed */
    uint8_t *shadow;             /* anonymous maps: FZ_MAX_PAGES pages */
} fz_map_t;

typedef struct fz_state {
    fz_map_t maps[FZ_MAPS];
    fz_file_t files[FZ_FILES];
    uint8_t *buf; /* scratch for reads and writes */
    uint32_t next_seed;
    size_t page;
} fz_state_t;

static char fz_dir[200];

static void remove_dir(void) {
    if (fz_dir[0]) rmdir(fz_dir);
}

static size_t pages_of(const fz_state_t *s, const fz_map_t *m) { return (m->delta + m->len + s->page - 1) / s->page; }

static uint8_t *model(fz_state_t *s, fz_map_t *m, size_t i) {
    return m->file < 0 ? &m->shadow[m->delta + i] : &s->files[m->file].bytes[m->foff + i];
}

static bool range_committed(const fz_state_t *s, const fz_map_t *m, size_t off, size_t len) {
    if (len == 0) return true;
    for (size_t p = (m->delta + off) / s->page; p <= (m->delta + off + len - 1) / s->page; p++)
        if (m->reserved[p]) return false;
    return true;
}

/* The whole state against the library and the files. */
static void check_map(fz_state_t *s, fz_map_t *m, const char *when) {
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    FZ_CHECK(rp_map_info(m->m, &info) == RP_OK, "%s: rp_map_info: %s", when, rp_last_error()->message);
    FZ_CHECK(info.len == m->len && rp_map_len(m->m) == m->len, "%s: length %zu, model %zu", when, info.len, m->len);
    FZ_CHECK(info.prot == m->prot, "%s: protection %d, model %d", when, (int)info.prot, (int)m->prot);
    size_t locked = 0, n = pages_of(s, m);
    for (size_t p = 0; p < n; p++) locked += m->locks[p] != 0;
    FZ_CHECK(info.locked_pages == locked, "%s: %zu locked pages, model %zu", when, info.locked_pages, locked);
    FZ_CHECK(m->file < 0 || info.offset == m->foff, "%s: file offset %llu, model %zu", when,
             (unsigned long long)info.offset, m->foff);
    if (m->prot == RP_MAP_PROT_NONE) return;
    /* Every committed page of the view, through the pointer (a reserved page would fault). */
    const uint8_t *p = rp_map_ptr(m->m);
    size_t i = 0;
    while (i < m->len) {
        size_t page = (m->delta + i) / s->page, next = (page + 1) * s->page - m->delta;
        if (next > m->len) next = m->len;
        if (!m->reserved[page] && memcmp(p + i, model(s, m, i), next - i) != 0)
            for (size_t k = i; k < next; k++)
                FZ_CHECK(p[k] == *model(s, m, k), "%s: byte %zu of the %zu-byte map is %#x, model %#x", when, k, m->len,
                         p[k], *model(s, m, k));
        i = next;
    }
}

static void check_file(fz_state_t *s, int f) {
    fz_file_t *file = &s->files[f];
    if (!file->exists) return;
    int fd = open(file->path, O_RDONLY | O_CLOEXEC);
    FZ_CHECK(fd >= 0, "open %s: %s", file->path, strerror(errno));
    struct stat st;
    FZ_CHECK(fstat(fd, &st) == 0 && (size_t)st.st_size == file->size, "file %d is %lld bytes, model %zu", f,
             (long long)st.st_size, file->size);
    ssize_t got = pread(fd, s->buf, file->size, 0);
    close(fd);
    FZ_CHECK(got == (ssize_t)file->size, "pread of file %d gave %zd", f, got);
    FZ_CHECK(memcmp(s->buf, file->bytes, file->size) == 0, "file %d differs from the model", f);
}

/* A range of the view: mostly inside it, sometimes page-aligned, sometimes past the end. */
static void pick_range(fz_state_t *s, fz_input_t *in, const fz_map_t *m, size_t *off, size_t *len) {
    uint8_t sel = fz_u8(in);
    uint32_t a = fz_u32(in), b = fz_u32(in);
    if (sel % 8 == 7) { /* out of bounds */
        *off = m->len - a % (m->len + 1);
        *len = m->len - *off + 1 + b % 64;
        return;
    }
    if (sel % 8 == 6) { /* empty, anywhere (past the end too) */
        *off = a;
        *len = 0;
        return;
    }
    if (sel & 8) { /* whole pages of the view */
        size_t first = a % pages_of(s, m), count = 1 + b % 8;
        size_t start = first * s->page > m->delta ? first * s->page - m->delta : 0;
        if (start >= m->len) start = 0;
        *off = start;
        *len = count * s->page;
        if (*len > m->len - start) *len = m->len - start;
        return;
    }
    *off = a % m->len;
    *len = 1 + b % (m->len - *off);
}

/* Pages [first, end) of the mapping that a range touches (the widening the library does). */
static void range_pages(const fz_state_t *s, const fz_map_t *m, size_t off, size_t len, size_t *first, size_t *end) {
    *first = (m->delta + off) / s->page;
    *end = (m->delta + off + len + s->page - 1) / s->page;
}

static bool out_of_bounds(const fz_map_t *m, size_t off, size_t len) { return len != 0 && (off > m->len || len > m->len - off); }

static void op_create(fz_state_t *s, fz_input_t *in, fz_map_t *m) {
    rp_map_options_t o = rp_map_options_default();
    uint8_t kind = fz_u8(in);
    size_t len = 1 + fz_size(in, FZ_MAX_LEN - FZ_MAX_FOFF - 1);
    static const rp_map_prot_t prots[4] = {RP_MAP_PROT_READ_WRITE, RP_MAP_PROT_READ_WRITE, RP_MAP_PROT_READ,
                                           RP_MAP_PROT_NONE};
    memset(m, 0, sizeof *m);
    m->file = -1;
    o.prot = prots[fz_u8(in) % 4];
    o.length = len;
    if (kind % 3 == 2) {
        int f = fz_u8(in) % FZ_FILES;
        fz_file_t *file = &s->files[f];
        o.source = RP_MAP_PATH;
        o.path = file->path;
        o.offset = fz_u16(in) % (FZ_MAX_FOFF + 1);
        o.flags = RP_MAP_SHARED | RP_MAP_CREATE | RP_MAP_GROW | (fz_u8(in) & 1 ? RP_MAP_MAY_MOVE : 0);
        bool whole_file = file->exists && (kind & 8);
        if (whole_file) o.length = 0; /* to the end of the file */
        rp_status_t st = rp_map_create(&o, &m->m);
        if (whole_file && o.offset >= file->size) {
            FZ_CHECK(st != RP_OK, "a map from offset %llu of a %zu-byte file was created",
                     (unsigned long long)o.offset, file->size);
            return;
        }
        FZ_CHECK(st == RP_OK, "file map at %llu + %zu: %s", (unsigned long long)o.offset, len, rp_last_error()->message);
        if (whole_file) len = file->size - o.offset;
        size_t end = o.offset + len;
        if (!file->exists) file->size = 0;
        if (end > file->size) {
            memset(file->bytes + file->size, 0, end - file->size);
            file->size = end;
        }
        file->exists = true;
        m->file = f;
        m->foff = o.offset;
        m->delta = o.offset % s->page;
    } else {
        static const unsigned extra[8] = {0, RP_MAP_RESERVE, RP_MAP_LOCKED, RP_MAP_POPULATE, RP_MAP_NODUMP,
                                          RP_MAP_WIPEONFORK, RP_MAP_RESERVE | RP_MAP_LOCKED, RP_MAP_NORESERVE};
        o.source = RP_MAP_ANONYMOUS;
        o.flags = extra[fz_u8(in) % 8] | (kind & 16 ? RP_MAP_MAY_MOVE : 0);
        rp_status_t st = rp_map_create(&o, &m->m);
        if (st != RP_OK && (o.flags & RP_MAP_LOCKED) && o.prot != RP_MAP_PROT_NONE) {
            /* Without a lock budget a locked map cannot be had: refused cleanly. */
            FZ_CHECK(st == RP_ERR_LIMIT || st == RP_ERR_PERMISSION, "locked map: %s", rp_last_error()->message);
            m->m = NULL;
            return;
        }
        FZ_CHECK(st == RP_OK, "anonymous map of %zu bytes (flags %#x): %s", len, o.flags, rp_last_error()->message);
        m->shadow = calloc(FZ_MAX_PAGES, s->page);
        FZ_CHECK(m->shadow != NULL, "out of memory for the model");
    }
    m->len = len;
    m->flags = o.flags;
    m->prot = o.prot;
    for (size_t p = 0; p < pages_of(s, m); p++) {
        m->locks[p] = (o.flags & RP_MAP_LOCKED) ? 1 : 0;
        m->reserved[p] = (o.flags & RP_MAP_RESERVE) != 0;
    }
    check_map(s, m, "after create");
}

static void op_destroy(fz_state_t *s, fz_map_t *m) {
    check_map(s, m, "before destroy");
    rp_map_destroy(m->m);
    if (m->file >= 0) check_file(s, m->file);
    free(m->shadow);
    memset(m, 0, sizeof *m);
}

static void op_write(fz_state_t *s, fz_input_t *in, fz_map_t *m, bool direct) {
    size_t off, len;
    pick_range(s, in, m, &off, &len);
    uint32_t seed = s->next_seed++;
    fz_fill(s->buf, 0, len, seed); /* len <= FZ_MAX_LEN + 64: the buffer has room */
    bool ok = !out_of_bounds(m, off, len) && (len == 0 || m->prot == RP_MAP_PROT_READ_WRITE) && range_committed(s, m, off, len);
    if (direct) {
        if (!ok || len == 0) return;
        memcpy((uint8_t *)rp_map_ptr(m->m) + off, s->buf, len);
    } else {
        rp_status_t st = rp_map_write(m->m, off, s->buf, len);
        if (!ok) {
            rp_status_t want = out_of_bounds(m, off, len) ? RP_ERR_BOUNDS
                               : m->prot != RP_MAP_PROT_READ_WRITE ? RP_ERR_PERMISSION : RP_ERR_INVALID;
            FZ_CHECK(st == want, "rp_map_write(%zu, %zu) of a %zu-byte map gave %d, want %d (%s)", off, len, m->len,
                     (int)st, (int)want, rp_last_error()->message);
            return;
        }
        FZ_CHECK(st == RP_OK, "rp_map_write(%zu, %zu): %s", off, len, rp_last_error()->message);
    }
    if (len != 0) memcpy(model(s, m, off), s->buf, len);
}

static void op_read(fz_state_t *s, fz_input_t *in, fz_map_t *m) {
    size_t off, len;
    pick_range(s, in, m, &off, &len);
    rp_status_t st = rp_map_read(m->m, off, s->buf, len);
    rp_status_t want = out_of_bounds(m, off, len)                        ? RP_ERR_BOUNDS
                       : len != 0 && m->prot == RP_MAP_PROT_NONE          ? RP_ERR_PERMISSION
                       : !range_committed(s, m, off, len)                 ? RP_ERR_INVALID
                                                                          : RP_OK;
    FZ_CHECK(st == want, "rp_map_read(%zu, %zu) of a %zu-byte map (prot %d) gave %d, want %d (%s)", off, len, m->len,
             (int)m->prot, (int)st, (int)want, st ? rp_last_error()->message : "");
    if (st != RP_OK) return;
    if (len != 0 && memcmp(s->buf, model(s, m, off), len) != 0)
        for (size_t i = 0; i < len; i++)
            FZ_CHECK(s->buf[i] == *model(s, m, off + i), "rp_map_read: byte %zu is %#x, model %#x", off + i, s->buf[i],
                     *model(s, m, off + i));
}

static void op_lock(fz_state_t *s, fz_input_t *in, fz_map_t *m, bool lock) {
    size_t off, len, first, end;
    pick_range(s, in, m, &off, &len);
    rp_status_t st = lock ? rp_map_lock(m->m, off, len) : rp_map_unlock(m->m, off, len);
    if (out_of_bounds(m, off, len)) {
        FZ_CHECK(st == RP_ERR_BOUNDS, "lock/unlock past the end gave %d", (int)st);
        return;
    }
    if (lock && st != RP_OK) {
        FZ_CHECK(st == RP_ERR_LIMIT || st == RP_ERR_PERMISSION, "rp_map_lock(%zu, %zu): %s", off, len,
                 rp_last_error()->message);
        check_map(s, m, "after a refused lock"); /* every page as it was */
        return;
    }
    FZ_CHECK(st == RP_OK, "rp_map_%slock(%zu, %zu): %s", lock ? "" : "un", off, len, rp_last_error()->message);
    if (len == 0) return;
    range_pages(s, m, off, len, &first, &end);
    for (size_t p = first; p < end; p++) {
        if (lock) m->locks[p]++;
        else if (m->locks[p]) m->locks[p]--;
    }
}

static void op_protect(fz_state_t *s, fz_input_t *in, fz_map_t *m) {
    static const rp_map_prot_t prots[3] = {RP_MAP_PROT_NONE, RP_MAP_PROT_READ, RP_MAP_PROT_READ_WRITE};
    rp_map_prot_t prot = prots[fz_u8(in) % 3];
    rp_status_t st = rp_map_protect(m->m, prot);
    if (st != RP_OK && m->prot == RP_MAP_PROT_NONE) {
        /* Locks counted while the map had no access are taken now and may not fit. */
        FZ_CHECK(st == RP_ERR_LIMIT || st == RP_ERR_PERMISSION, "rp_map_protect: %s", rp_last_error()->message);
        check_map(s, m, "after a refused protect");
        return;
    }
    FZ_CHECK(st == RP_OK, "rp_map_protect(%d): %s", (int)prot, rp_last_error()->message);
    m->prot = prot;
}

static void op_resize(fz_state_t *s, fz_input_t *in, fz_map_t *m) {
    size_t cap = m->file >= 0 ? FZ_MAX_LEN - m->foff : FZ_MAX_LEN - 1;
    size_t len = 1 + fz_size(in, cap - 1);
    size_t old_pages = pages_of(s, m), old_len = m->len;
    rp_status_t st = rp_map_resize(m->m, len);
    if (st != RP_OK) {
        /* Growing in place fails when the next pages are taken (no RP_MAP_MAY_MOVE), a locked
         * map's growth may not fit the lock budget. */
        bool grow = (m->delta + len + s->page - 1) / s->page > old_pages;
        FZ_CHECK(grow && (st == RP_ERR_NOMEM || st == RP_ERR_LIMIT || st == RP_ERR_PERMISSION),
                 "rp_map_resize %zu -> %zu: %s", old_len, len, rp_last_error()->message);
        if (m->file >= 0) {
            /* The file is grown before the mapping: a refused growth may leave it longer (with
             * zeros), which is not a lost byte. */
            fz_file_t *file = &s->files[m->file];
            struct stat st_file;
            if (stat(file->path, &st_file) == 0 && (size_t)st_file.st_size > file->size &&
                (size_t)st_file.st_size <= m->foff + len) {
                memset(file->bytes + file->size, 0, (size_t)st_file.st_size - file->size);
                file->size = (size_t)st_file.st_size;
            }
            check_file(s, m->file);
        }
        check_map(s, m, "after a refused resize");
        return;
    }
    m->len = len;
    size_t new_pages = pages_of(s, m);
    if (m->file >= 0) {
        fz_file_t *file = &s->files[m->file];
        size_t end = m->foff + len;
        if (end > file->size) {
            memset(file->bytes + file->size, 0, end - file->size);
            file->size = end;
        }
    } else if (new_pages < old_pages) {
        memset(m->shadow + new_pages * s->page, 0, (old_pages - new_pages) * s->page);
    }
    for (size_t p = new_pages; p < old_pages; p++) m->locks[p] = 0, m->reserved[p] = false;
    for (size_t p = old_pages; p < new_pages; p++) {
        m->locks[p] = (m->flags & RP_MAP_LOCKED) ? 1 : 0;
        m->reserved[p] = (m->flags & RP_MAP_RESERVE) != 0;
    }
    check_map(s, m, "after resize");
    if (m->file >= 0) check_file(s, m->file);
}

static void op_commit(fz_state_t *s, fz_input_t *in, fz_map_t *m, bool commit) {
    size_t off, len, first, end;
    pick_range(s, in, m, &off, &len);
    rp_status_t st = commit ? rp_map_commit(m->m, off, len) : rp_map_decommit(m->m, off, len);
    if (m->file >= 0) {
        FZ_CHECK(st == RP_ERR_INVALID, "commit/decommit of a file map gave %d", (int)st);
        return;
    }
    if (out_of_bounds(m, off, len)) {
        FZ_CHECK(st == RP_ERR_BOUNDS, "commit/decommit past the end gave %d", (int)st);
        return;
    }
    if (len == 0) {
        FZ_CHECK(st == RP_OK, "an empty commit/decommit: %s", rp_last_error()->message);
        return;
    }
    range_pages(s, m, off, len, &first, &end);
    if (!commit) {
        bool whole = off % s->page == 0 && ((off + len) % s->page == 0 || off + len == m->len);
        if (!whole) {
            FZ_CHECK(st == RP_ERR_INVALID, "decommit of a part page (%zu, %zu) gave %d", off, len, (int)st);
            return;
        }
        FZ_CHECK(st == RP_OK, "rp_map_decommit(%zu, %zu): %s", off, len, rp_last_error()->message);
        for (size_t p = first; p < end; p++) m->reserved[p] = true;
        memset(m->shadow + first * s->page, 0, (end - first) * s->page);
        return;
    }
    if (st != RP_OK) {
        FZ_CHECK(st == RP_ERR_LIMIT || st == RP_ERR_PERMISSION || st == RP_ERR_NOMEM, "rp_map_commit(%zu, %zu): %s", off,
                 len, rp_last_error()->message);
        check_map(s, m, "after a refused commit");
        return;
    }
    for (size_t p = first; p < end; p++) m->reserved[p] = false;
}

/* Split at a page boundary inside the view and merge straight back: nothing may change. */
static void op_split_merge(fz_state_t *s, fz_input_t *in, fz_map_t *m) {
    size_t pages = pages_of(s, m);
    if (pages < 2) return;
    size_t cut = (1 + fz_u16(in) % (pages - 1)) * s->page;
    if (cut <= m->delta || cut - m->delta >= m->len) return;
    rp_map_t *tail = NULL;
    rp_status_t st = rp_map_split(m->m, cut - m->delta, &tail);
    FZ_CHECK(st == RP_OK, "rp_map_split at %zu of %zu: %s", cut - m->delta, m->len, rp_last_error()->message);
    FZ_CHECK(rp_map_len(m->m) == cut - m->delta && rp_map_len(tail) == m->len - (cut - m->delta) &&
                 (uint8_t *)rp_map_ptr(tail) == (uint8_t *)rp_map_ptr(m->m) + (cut - m->delta),
             "split: head %zu + tail %zu bytes at the wrong place", rp_map_len(m->m), rp_map_len(tail));
    st = rp_map_merge(m->m, tail);
    FZ_CHECK(st == RP_OK, "rp_map_merge after a split: %s", rp_last_error()->message);
    check_map(s, m, "after split + merge");
}

static void op_flush(fz_state_t *s, fz_input_t *in, fz_map_t *m) {
    size_t off, len;
    pick_range(s, in, m, &off, &len);
    bool async = fz_u8(in) & 1;
    rp_status_t st = rp_map_flush(m->m, off, len, async);
    if (out_of_bounds(m, off, len)) {
        FZ_CHECK(st == RP_ERR_BOUNDS, "flush past the end gave %d", (int)st);
        return;
    }
    FZ_CHECK(st == RP_OK, "rp_map_flush(%zu, %zu): %s", off, len, rp_last_error()->message);
    if (m->file >= 0) check_file(s, m->file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(fz_dir, sizeof fz_dir, "%s/rampart-fuzz-map-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        FZ_CHECK(mkdtemp(fz_dir) != NULL, "mkdtemp %s: %s", fz_dir, strerror(errno));
        atexit(remove_dir);
    }
    static fz_state_t s;
    memset(&s, 0, sizeof s);
    s.page = rp_page_size();
    FZ_CHECK(s.page >= 4096 && FZ_MAX_PAGES * 4096 >= FZ_MAX_LEN + 2 * s.page - 2 * 4096 + 4096,
             "page size %zu: the model's arrays assume at least 4 KiB", s.page);
    s.next_seed = 1;
    s.buf = malloc(FZ_MAX_LEN + FZ_MAX_FOFF);
    FZ_CHECK(s.buf != NULL, "out of memory for the model");
    for (int f = 0; f < FZ_FILES; f++) {
        snprintf(s.files[f].path, sizeof s.files[f].path, "%s/file%d", fz_dir, f);
        s.files[f].bytes = calloc(1, FZ_MAX_LEN + FZ_MAX_FOFF);
        FZ_CHECK(s.files[f].bytes != NULL, "out of memory for the model");
    }

    fz_input_t in = {data, size};
    while (in.left > 0) {
        uint8_t op = fz_u8(&in);
        fz_map_t *m = &s.maps[fz_u8(&in) % FZ_MAPS];
        if (m->m == NULL) {
            if (op % 16 == 0 || op % 16 == 1) op_create(&s, &in, m);
            continue;
        }
        switch (op % 16) {
        case 0: op_destroy(&s, m); break;
        case 1: case 2: op_write(&s, &in, m, false); break;
        case 3: op_write(&s, &in, m, true); break;
        case 4: case 5: op_read(&s, &in, m); break;
        case 6: op_lock(&s, &in, m, true); break;
        case 7: op_lock(&s, &in, m, false); break;
        case 8: op_protect(&s, &in, m); break;
        case 9: case 10: op_resize(&s, &in, m); break;
        case 11: op_commit(&s, &in, m, true); break;
        case 12: op_commit(&s, &in, m, false); break;
        case 13: op_split_merge(&s, &in, m); break;
        case 14: op_flush(&s, &in, m); break;
        default: check_map(&s, m, "on request"); break;
        }
    }

    for (int i = 0; i < FZ_MAPS; i++)
        if (s.maps[i].m != NULL) op_destroy(&s, &s.maps[i]);
    for (int f = 0; f < FZ_FILES; f++) {
        check_file(&s, f);
        if (s.files[f].exists) unlink(s.files[f].path);
        free(s.files[f].bytes);
    }
    free(s.buf);
    return 0;
}
