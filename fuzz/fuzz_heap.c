/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_heap.c — libFuzzer target for the heap (rampart/heap.h).
 *
 * The input is a sequence of operations on four heaps: the default heap (rp_malloc and friends),
 * a plain first-class heap, one with RP_HEAP_WIPE and a 4 MiB limit, and one on rp_pages_os()
 * (locked where the memlock budget allows, unlocked otherwise: no RP_HEAP_REQUIRE_LOCKED, so it
 * runs as an unprivileged user too) with a 2 MiB limit. First-class heaps are created for each
 * input and destroyed at its end, after every block is freed.
 *
 * The model: every live block has a requested size, the usable size the heap reported, the
 * heap it belongs to and a pattern seed; the harness writes the pattern over every usable byte.
 * Checked after each operation on the block it touched, and over all blocks at the end:
 *   - new blocks are aligned (16, or the alignment asked), never overlap a live block, and
 *     usable size >= requested; calloc blocks read as zeros;
 *   - contents survive other operations (pattern intact over the usable bytes);
 *   - realloc keeps min(old requested, new) bytes, wherever the block lands; realloc_in_place and
 *     heap_expand either keep the block where it is or change nothing, and refuse a block of
 *     another heap; rp_heap_realloc moves a block into the heap named;
 *   - rp_free_part released back to front keeps the unreleased front intact until the last
 *     piece frees the block; out-of-block ranges are RP_ERR_INVALID and change nothing;
 *   - a limited heap may refuse (NULL), an unlimited one may not (sizes are capped at 1 MiB);
 *     calloc with an overflowing product is NULL + ENOMEM;
 *   - rp_heap_validate passes; stats count at least the usable bytes live, and 0 when all is
 *     freed; rp_heap_donate of a buffer works once and is RP_ERR_EXISTS the second time.
 * Any corruption report from the library (the default handler aborts) is a finding too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "rampart/heap.h"
#include "rampart/pages.h"

#define FZ_HEAPS 4
#define FZ_SLOTS 48
#define FZ_MAX_SIZE ((size_t)1 << 20) /* 1 MiB: past the 128 KiB large-block threshold */
#define FZ_DONATIONS 4

typedef struct fz_block {
    uint8_t *p;       /* NULL: the slot is empty */
    size_t size;      /* bytes requested */
    size_t usable;    /* rp_usable_size at allocation; the pattern covers [0, usable) */
    int heap;         /* index into heaps[] */
    size_t align;     /* the alignment the block was made with (kept while it stays in place) */
    uint32_t seed;
    size_t part_end;  /* where rp_free_part pieces end: size, or usable (see adopt) */
    size_t released;  /* rp_free_part: [released, part_end) has been given back; == part_end: none */
} fz_block_t;

typedef struct fz_state {
    rp_heap_t *heaps[FZ_HEAPS];
    size_t limits[FZ_HEAPS]; /* 0: the heap may not refuse a capped request */
    fz_block_t blocks[FZ_SLOTS];
    void *donated[FZ_DONATIONS];
    size_t donated_len[FZ_DONATIONS];
    int donations;
    uint32_t next_seed;
} fz_state_t;

static void check_block(const fz_block_t *b, const char *when) {
    size_t end = b->released < b->part_end ? b->released : b->usable;
    size_t bad = fz_find_bad(b->p, 0, end, b->seed);
    FZ_CHECK(bad == end, "%s: block %p (size %zu, usable %zu) byte %zu changed", when, (void *)b->p, b->size,
             b->usable, bad);
}

/* A new block must be aligned, own its bytes alone and be at least as large as asked. */
static void adopt(fz_state_t *s, fz_block_t *b, uint8_t *p, size_t size, int heap, size_t align, bool zeroed,
                  size_t keep, uint32_t old_seed) {
    FZ_CHECK(((uintptr_t)p & (align - 1)) == 0, "block %p is not %zu-byte aligned", (void *)p, align);
    size_t usable = rp_usable_size(p);
    FZ_CHECK(usable >= size, "usable size %zu < requested %zu", usable, size);
    for (int i = 0; i < FZ_SLOTS; i++) {
        const fz_block_t *o = &s->blocks[i];
        if (o == b || o->p == NULL) continue;
        FZ_CHECK(p + usable <= o->p || o->p + o->usable <= p, "block %p+%zu overlaps live block %p+%zu", (void *)p,
                 usable, (void *)o->p, o->usable);
    }
    if (zeroed) {
        size_t nz = fz_find_nonzero(p, 0, size);
        FZ_CHECK(nz == size, "calloc block %p of %zu bytes has a non-zero byte at %zu", (void *)p, size, nz);
    }
    if (keep) {
        size_t bad = fz_find_bad(p, 0, keep, old_seed);
        FZ_CHECK(bad == keep, "realloc to %zu bytes lost byte %zu of the %zu it had to keep", size, bad, keep);
    }
    b->p = p;
    b->size = size;
    b->usable = usable;
    b->heap = heap;
    b->align = align;
    /* rp_free_part's contract (heap.h): releasing the size asked for frees any block (donated
     * ones too), except a small one that is over-aligned or was kept in place by a resize: that
     * one keeps a larger size class, and releasing its usable size frees it. A block is surely
     * large when it is above 128 KiB or aligned to more than 4 KiB (no size class serves it);
     * any other block kept in place or over-aligned is released up to its usable size. */
    bool large = size > ((size_t)128 << 10) || align > 4096;
    b->part_end = !large && (align > 16 || p == b->p) ? usable : size;
    b->released = b->part_end;
    /* The kept bytes keep their old pattern: rewrite them with the block's own (same seed). */
    b->seed = keep ? old_seed : s->next_seed++;
    fz_fill(p, keep, usable, b->seed);
}

static void forget(fz_block_t *b) { memset(b, 0, sizeof *b); }

static rp_heap_t *heap_of(fz_state_t *s, int h) { return h == 0 ? rp_heap_default() : s->heaps[h]; }

static void op_alloc(fz_state_t *s, fz_input_t *in, fz_block_t *b, int kind) {
    int h = fz_u8(in) % FZ_HEAPS;
    size_t size = fz_size(in, FZ_MAX_SIZE), align = 16;
    uint8_t *p;
    bool zeroed = false;
    if (kind == 0) {
        p = h == 0 ? rp_malloc(size) : rp_heap_malloc(s->heaps[h], size);
    } else if (kind == 1) {
        size_t count = fz_u8(in) % 17;
        size = count ? size / count : size;
        if (fz_u8(in) == 0xff) {
            /* count * size overflows: NULL with ENOMEM, never a short block. */
            errno = 0;
            void *q = h == 0 ? rp_calloc(SIZE_MAX / 2 + 2, 2) : rp_heap_calloc(s->heaps[h], 2, SIZE_MAX / 2 + 2);
            FZ_CHECK(q == NULL && errno == ENOMEM, "calloc overflow gave %p, errno %d", q, errno);
            return;
        }
        p = h == 0 ? rp_calloc(count, size) : rp_heap_calloc(s->heaps[h], count, size);
        size *= count;
        zeroed = true;
    } else {
        unsigned shift = fz_u8(in) % 17; /* 1 .. 64 KiB */
        align = (size_t)1 << shift;
        p = h == 0 ? rp_aligned_alloc(align, size) : rp_heap_aligned_alloc(s->heaps[h], align, size);
        if (align < 16) align = 16;
    }
    if (p == NULL) {
        FZ_CHECK(s->limits[h] != 0, "an unlimited heap refused %zu bytes: %s", size, rp_last_error()->message);
        return;
    }
    adopt(s, b, p, size, h, align, zeroed, 0, 0);
}

static void op_realloc(fz_state_t *s, fz_input_t *in, fz_block_t *b) {
    int h = fz_u8(in) % FZ_HEAPS;
    size_t size = fz_size(in, FZ_MAX_SIZE);
    check_block(b, "before realloc");
    /* The default heap's realloc keeps a block in its own heap; rp_heap_realloc moves it to h. */
    int dest = h == 0 ? b->heap : h;
    uint8_t *q = h == 0 ? rp_realloc(b->p, size) : rp_heap_realloc(s->heaps[h], b->p, size);
    if (size == 0) {
        FZ_CHECK(q == NULL, "realloc to 0 returned %p instead of freeing", (void *)q);
        forget(b);
        return;
    }
    if (q == NULL) {
        FZ_CHECK(s->limits[dest] != 0, "an unlimited heap refused a realloc to %zu bytes: %s", size,
                 rp_last_error()->message);
        check_block(b, "after a failed realloc");
        return;
    }
    size_t keep = b->size < size ? b->size : size;
    uint32_t seed = b->seed;
    size_t align = q == b->p ? b->align : 16; /* a block kept in place is still the aligned one */
    if (q != b->p) b->p = NULL; /* the old block is gone: it may overlap the new one */
    adopt(s, b, q, size, dest, align, false, keep, seed);
    if (h != 0) {
        /* rp_heap_expand answers for blocks of h only: the block now belongs to h. */
        FZ_CHECK(rp_heap_expand(s->heaps[h], q, size) == q, "rp_heap_realloc(%d) gave a block heap %d does not own", h, h);
        size_t usable = rp_usable_size(q);
        if (usable < b->usable) b->usable = usable;
    }
}

static void op_expand(fz_state_t *s, fz_input_t *in, fz_block_t *b) {
    int h = fz_u8(in) % FZ_HEAPS;
    size_t size = fz_size(in, FZ_MAX_SIZE);
    if (size == 0) size = 1;
    check_block(b, "before expand");
    uint8_t *q;
    if (h == 0) {
        q = rp_realloc_in_place(b->p, size);
    } else {
        q = rp_heap_expand(s->heaps[h], b->p, size);
        if (h != b->heap) {
            FZ_CHECK(q == NULL, "rp_heap_expand(heap %d) accepted a block of heap %d", h, b->heap);
            check_block(b, "after a refused expand");
            return;
        }
    }
    if (q == NULL) {
        FZ_CHECK(size > b->usable, "shrinking in place to %zu (usable %zu) failed", size, b->usable);
        check_block(b, "after a failed expand");
        return;
    }
    FZ_CHECK(q == b->p, "realloc_in_place moved the block %p -> %p", (void *)b->p, (void *)q);
    size_t keep = b->size < size ? b->size : size;
    size_t bad = fz_find_bad(q, 0, keep, b->seed);
    FZ_CHECK(bad == keep, "in-place resize lost byte %zu", bad);
    size_t usable = rp_usable_size(q);
    FZ_CHECK(usable >= size, "in-place resize to %zu left %zu usable", size, usable);
    uint32_t seed = b->seed;
    adopt(s, b, q, size, b->heap, b->align, false, keep, seed);
}

static void op_free(fz_block_t *b, int how) {
    check_block(b, "before free");
    if (how == 0) rp_free(b->p);
    else rp_free_sized(b->p, b->size);
    forget(b);
}

/* Release [released - n, released) of the block; the last piece (down to 0) frees it. */
static void op_free_part(fz_input_t *in, fz_block_t *b) {
    check_block(b, "before free_part");
    if (fz_u8(in) & 1) {
        /* A range leaving the block: refused, nothing changes. */
        rp_status_t st = rp_free_part(b->p, b->usable + 1);
        FZ_CHECK(st == RP_ERR_INVALID, "rp_free_part past the block gave %d", (int)st);
        FZ_CHECK(rp_free_part(b->p, 0) == RP_ERR_INVALID, "rp_free_part of 0 bytes accepted");
        check_block(b, "after refused free_part");
        return;
    }
    if (b->released == 0 || b->part_end == 0) {
        rp_free(b->p);
        forget(b);
        return;
    }
    size_t n = 1 + fz_u16(in) % b->released;
    size_t at = b->released - n;
    rp_status_t st = rp_free_part(b->p + at, n);
    if (st == RP_ERR_LIMIT) {
        check_block(b, "after free_part over the piece limit");
        return;
    }
    FZ_CHECK(st == RP_OK, "rp_free_part(%zu, %zu) of a %zu-byte block: %s", at, n, b->part_end, rp_last_error()->message);
    if (at == 0) {
        forget(b);
        return;
    }
    b->released = at;
    check_block(b, "after free_part");
}

/* Stats of a first-class heap count at least the usable bytes of its live blocks. */
static void check_stats(fz_state_t *s, int h, bool all_freed) {
    rp_heap_stats_t st = {RP_SIZED(rp_heap_stats_t)};
    FZ_CHECK(rp_heap_stats(s->heaps[h], &st) == RP_OK, "rp_heap_stats: %s", rp_last_error()->message);
    size_t live = 0;
    for (int i = 0; i < FZ_SLOTS; i++)
        if (s->blocks[i].p != NULL && s->blocks[i].heap == h && s->blocks[i].released == s->blocks[i].part_end)
            live += s->blocks[i].usable;
    FZ_CHECK(st.allocated >= live, "heap %d: stats.allocated %zu < %zu usable bytes live", h, st.allocated, live);
    if (all_freed) FZ_CHECK(st.allocated == 0, "heap %d: %zu bytes allocated after every block was freed", h, st.allocated);
    FZ_CHECK(s->limits[h] == 0 || st.mapped <= s->limits[h], "heap %d holds %zu bytes, over its limit %zu", h,
             st.mapped, s->limits[h]);
}

static void op_donate(fz_state_t *s, fz_input_t *in) {
    int h = 1 + fz_u8(in) % (FZ_HEAPS - 1);
    if (s->donations == FZ_DONATIONS) return;
    /* Whole pages of its own: the heap refuses a buffer that shares an OS page with an earlier
     * donation (its address map works in pages), and two malloc blocks may share one. */
    size_t len = 64 + fz_u16(in);
    void *buf = aligned_alloc(rp_page_size(), rp_page_round(len));
    if (buf == NULL) return;
    s->donated[s->donations] = buf;
    s->donated_len[s->donations++] = len;
    rp_status_t st = rp_heap_donate(s->heaps[h], buf, len);
    FZ_CHECK(st == RP_OK, "donating %zu bytes to heap %d: %s", len, h, rp_last_error()->message);
    st = rp_heap_donate(s->heaps[h], buf, len);
    FZ_CHECK(st == RP_ERR_EXISTS, "donating the same buffer twice gave %d", (int)st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_state_t s;
    memset(&s, 0, sizeof s);
    s.next_seed = 1;
    rp_heap_options_t wipe = {RP_SIZED(rp_heap_options_t), .pages = NULL, .limit = (size_t)4 << 20, .flags = RP_HEAP_WIPE};
    rp_heap_options_t locked = {RP_SIZED(rp_heap_options_t), .pages = rp_pages_os(), .limit = (size_t)2 << 20, .flags = RP_HEAP_WIPE};
    const rp_heap_options_t *opts[FZ_HEAPS] = {NULL, NULL, &wipe, &locked};
    s.limits[2] = wipe.limit;
    s.limits[3] = locked.limit;
    for (int h = 1; h < FZ_HEAPS; h++)
        FZ_CHECK(rp_heap_create(opts[h], &s.heaps[h]) == RP_OK, "rp_heap_create: %s", rp_last_error()->message);

    fz_input_t in = {data, size};
    while (in.left > 0) {
        uint8_t op = fz_u8(&in);
        fz_block_t *b = &s.blocks[fz_u8(&in) % FZ_SLOTS];
        bool live = b->p != NULL, parting = live && b->released < b->part_end;
        switch (op % 12) {
        case 0: case 1: case 2:
            if (!live) op_alloc(&s, &in, b, op % 3);
            else if (parting) op_free_part(&in, b);
            else op_free(b, 0);
            break;
        case 3:
            if (live && !parting) op_realloc(&s, &in, b);
            else if (!live) op_alloc(&s, &in, b, 0);
            break;
        case 4:
            if (live && !parting) op_expand(&s, &in, b);
            break;
        case 5:
            if (live && !parting) op_free(b, 1);
            break;
        case 6: case 7:
            if (live) op_free_part(&in, b);
            break;
        case 8:
            if (live) check_block(b, "on request");
            break;
        case 9: {
            int h = fz_u8(&in) % FZ_HEAPS;
            rp_status_t st = rp_heap_validate(heap_of(&s, h));
            FZ_CHECK(st == RP_OK, "rp_heap_validate(heap %d): %s", h, rp_last_error()->message);
            if (h != 0) check_stats(&s, h, false);
            break;
        }
        case 10:
            op_donate(&s, &in);
            break;
        default:
            rp_heap_collect(heap_of(&s, fz_u8(&in) % FZ_HEAPS), fz_u8(&in) & 1);
            break;
        }
    }

    /* Everything still live must be intact; free it (the rest of a partly released block in
     * one last piece), then the heaps must be empty. */
    for (int i = 0; i < FZ_SLOTS; i++) {
        fz_block_t *b = &s.blocks[i];
        if (b->p == NULL) continue;
        check_block(b, "at the end");
        if (b->released < b->part_end) {
            rp_status_t st = rp_free_part(b->p, b->released);
            FZ_CHECK(st == RP_OK, "rp_free_part of the last piece: %s", rp_last_error()->message);
            forget(b);
        } else {
            op_free(b, 0);
        }
    }
    for (int h = 1; h < FZ_HEAPS; h++) {
        FZ_CHECK(rp_heap_validate(s.heaps[h]) == RP_OK, "rp_heap_validate at the end: %s", rp_last_error()->message);
        check_stats(&s, h, true);
        rp_heap_destroy(s.heaps[h]);
    }
    for (int i = 0; i < s.donations; i++) free(s.donated[i]);
    return 0;
}
