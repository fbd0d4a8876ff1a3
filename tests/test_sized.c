/* SPDX-License-Identifier: MIT */
/* test_sized.c — the growing-struct rule (rampart/common.h, "Growing structs") for every struct
 * the library writes into (statistics, info, status) and for the page allocator table it reads.
 *
 * Each out-struct is handed in inside a larger buffer whose bytes past the struct_size under
 * test are a guard pattern: the library may write only up to struct_size. Checked for each:
 *   - struct_size 0, or one byte short of the first version, is RP_ERR_INVALID with a message,
 *     and not one byte of the buffer changes;
 *   - struct_size exactly the first version's end (an older compiler's struct without trailing
 *     padding) is filled, and the guard bytes after it are untouched;
 *   - a newer caller's larger struct: the bytes this library does not know are zeroed and
 *     struct_size comes back as the library's own size.
 * The copy itself (rp__sized_out_write) is also checked with a struct_size in the middle of the
 * struct, which is what an older binary's smaller struct looks like to a newer library.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "rampart.h"
#include "testhelper.h"

#define GUARD 0xA5
#define SLACK 64 /* guard bytes past the struct */

/* One out-struct: how to fill it, its first version's size, and the library's sizeof. */
typedef struct sized_case {
    const char *name;
    rp_status_t (*fill)(void *out);
    size_t v1, size;
} sized_case_t;

static rp_heap_t *heap;
static rp_pool_t *pool;
static rp_map_t *map;

static rp_status_t fill_heap_stats(void *out) { return rp_heap_stats(heap, out); }
static rp_status_t fill_heap_class(void *out) { return rp_heap_class_stats(heap, 3, out); }
static rp_status_t fill_pool_stats(void *out) { return rp_pool_stats(pool, out); }
static rp_status_t fill_map_info(void *out) { return rp_map_info(map, out); }
static rp_status_t fill_system_info(void *out) { return rp_system_info(out); }
static rp_status_t fill_area(void *out) { return rp_area_of(&heap, out); }
static rp_status_t fill_preflight(void *out) { return rp_lockall_preflight(0, NULL, rp_page_size(), out); }
static rp_status_t fill_process(void *out) { return rp_lockall_query(0, out); }
/* rp_lockall writes its status on every path; options asking for nothing fail before any
 * system call, so nothing is locked here. */
static rp_status_t fill_lockall_status(void *out) {
    rp_lockall_options_t nothing = {RP_SIZED(rp_lockall_options_t), .onfault = true, .required = true};
    rp_status_t st = rp_lockall(&nothing, out);
    return st == RP_ERR_INVALID && rp_last_error()->status == RP_ERR_INVALID ? RP_OK : RP_ERR_CORRUPT;
}

#define CASE(fn, type, last) {#type, fn, offsetof(type, last) + sizeof(((type *)0)->last), sizeof(type)}
static const sized_case_t cases[] = {
    CASE(fill_heap_stats, rp_heap_stats_t, classes),
    CASE(fill_heap_class, rp_heap_class_stats_t, blocks),
    CASE(fill_pool_stats, rp_pool_stats_t, guards_lightweight),
    CASE(fill_map_info, rp_map_info_t, locked_pages),
    CASE(fill_system_info, rp_system_info_t, dumpable),
    CASE(fill_area, rp_area_t, guard_pages),
    CASE(fill_preflight, rp_lockall_preflight_t, remedy),
    CASE(fill_process, rp_lockall_process_t, locked_pss_bytes),
    CASE(fill_lockall_status, rp_lockall_status_t, warning),
};

static unsigned char buf[8192];

static void set_size(size_t size) {
    memset(buf, GUARD, sizeof buf);
    memcpy(buf, &size, sizeof size);
}
static size_t get_size(void) {
    size_t size;
    memcpy(&size, buf, sizeof size);
    return size;
}
static bool guarded_from(size_t from, size_t to) {
    for (size_t i = from; i < to; i++)
        if (buf[i] != GUARD) return false;
    return true;
}
static bool any_written(size_t from, size_t to) { return !guarded_from(from, to); }

static void test_out_structs(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sized_case_t *c = &cases[i];
        fprintf(stderr, "    %s: first version %zu bytes, sizeof %zu\n", c->name, c->v1, c->size);
        /* refused, nothing written */
        size_t bad[] = {0, c->v1 - 1, (size_t)RP__SIZED_MAX + 1};
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            set_size(bad[b]);
            rp_status_t st = c->fill(buf);
            if (c->fill == fill_lockall_status) st = rp_last_error()->status; /* its own wrapper folds the status */
            CHECK(st == RP_ERR_INVALID);
            CHECK(strstr(rp_last_error()->message, "struct_size") != NULL);
            CHECK(get_size() == bad[b] && guarded_from(sizeof(size_t), c->size + SLACK));
        }
        /* the first version, no trailing padding: filled up to there and not a byte further */
        set_size(c->v1);
        CHECK(c->fill(buf) == RP_OK);
        CHECK(get_size() == c->v1);
        CHECK(any_written(sizeof(size_t), c->v1));
        CHECK(guarded_from(c->v1, c->size + SLACK));
        /* a newer caller's larger struct: the unknown tail is zeroed, struct_size says where ours end */
        set_size(c->size + 16);
        CHECK(c->fill(buf) == RP_OK);
        CHECK(get_size() == c->size);
        bool tail_zero = true;
        for (size_t k = c->size; k < c->size + 16; k++) tail_zero &= buf[k] == 0;
        CHECK(tail_zero);
        CHECK(guarded_from(c->size + 16, c->size + SLACK));
    }
}

/* What an older binary's smaller struct meets in a newer library: the copy stops at its size. */
static void test_older_struct(void) {
    rp_pool_stats_t full;
    memset(&full, 0x11, sizeof full);
    size_t older = offsetof(rp_pool_stats_t, arenas); /* "an earlier version ended before arenas" */
    set_size(older);
    rp__sized_out_write(buf, &full, sizeof full);
    CHECK(get_size() == older);
    bool copied = true;
    for (size_t k = sizeof(size_t); k < older; k++) copied &= buf[k] == 0x11;
    CHECK(copied);
    CHECK(guarded_from(older, sizeof full + SLACK));
}

/* The library hands rp_area_fn its own struct_size. */
static bool area_size_ok(const rp_area_t *a, void *ctx) {
    *(bool *)ctx &= a->struct_size == sizeof(rp_area_t);
    return true;
}
static void test_area_callback(void) {
    bool ok = true;
    CHECK(rp_areas_foreach(0, area_size_ok, &ok) == RP_OK);
    CHECK(ok);
}

/* The status says what was asked in fields of its own (an embedded options struct, itself
 * growing, would move every field after it), and rp_lockall_status_format reads a status only
 * as far as its struct_size reaches. */
static void test_status_format(void) {
    char line[RP_LOCKALL_LINE_MAX];
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(fill_lockall_status(&st) == RP_OK);
    CHECK(st.asked.onfault && st.asked.required && !st.asked.current && !st.asked.future);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_INVALID);
    st.asked.current = true;
    st.state = RP_LOCKALL_LOCKED;
    CHECK(strncmp(rp_lockall_status_format(&st, line, sizeof line), "locked:", 7) == 0);
    st.struct_size = 0;
    CHECK(strstr(rp_lockall_status_format(&st, line, sizeof line), "invalid status") != NULL);
    CHECK(strstr(line, "struct_size 0") != NULL);
    /* the functions that lock another process refuse a status they could not fill before they
     * touch anything: no program is started, no process attached */
    char *argv[] = {"/nonexistent/never-run", NULL};
    int code = 0;
    CHECK(rp_lockall_run_traced(argv, NULL, 0, &st, &code) == RP_ERR_INVALID && code == RP_LOCKALL_EXIT_FAILURE);
    CHECK(strstr(rp_last_error()->message, "rp_lockall_run_traced: the output's struct_size 0") != NULL);
    CHECK(rp_lockall_remote(1, NULL, 0, &st) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "rp_lockall_remote: the output's struct_size 0") != NULL);
    CHECK(st.struct_size == 0 && st.state == RP_LOCKALL_LOCKED); /* untouched */
}

/* The caller-filled page allocator table: checked where it is handed in. */
static void *fake_allocate(void *ctx, size_t len, bool *locked) {
    (void)ctx, (void)len, (void)locked;
    return NULL;
}
static rp_status_t fake_free(void *ctx, void *addr, size_t len) {
    (void)ctx, (void)addr, (void)len;
    return RP_ERR_NOT_OWNED;
}
static size_t fake_limit(void *ctx) {
    (void)ctx;
    return 42;
}
static void test_page_allocator(void) {
    struct {
        rp_page_allocator_t pa;
        uint64_t later; /* a newer caller's extra field */
    } newer = {{RP_SIZED(rp_page_allocator_t), "fake", fake_allocate, fake_free, fake_limit, NULL}, 0};
    rp_pool_t *p = NULL;
    rp_heap_t *h = NULL;
    rp_pool_options_t po = rp_pool_options_default();
    rp_heap_options_t ho = rp_heap_options_default();
    po.pages = ho.pages = &newer.pa;
    CHECK(rp_pages_get_limit(&newer.pa) == 42);
    newer.pa.struct_size = 0;
    CHECK(rp_pool_create(&po, &p) == RP_ERR_INVALID && p == NULL && strstr(rp_last_error()->message, "struct_size 0"));
    CHECK(rp_heap_create(&ho, &h) == RP_ERR_INVALID && h == NULL && strstr(rp_last_error()->message, "struct_size 0"));
    CHECK(rp_pages_allocate_locked(&newer.pa, 4096, NULL) == NULL && rp_last_error()->status == RP_ERR_INVALID);
    CHECK(rp_pages_free_locked(&newer.pa, buf, 4096) == RP_ERR_INVALID);
    CHECK(rp_pages_get_limit(&newer.pa) == 0);
    newer.pa.struct_size = offsetof(rp_page_allocator_t, ctx); /* one field short */
    CHECK(rp_pool_create(&po, &p) == RP_ERR_INVALID);
    /* newer and larger: fine while the field this library does not know is zero */
    newer.pa.struct_size = sizeof newer;
    CHECK(rp_pool_create(&po, &p) == RP_OK);
    rp_pool_destroy(p);
    CHECK(rp_heap_create(&ho, &h) == RP_OK);
    rp_heap_destroy(h);
    newer.later = 1;
    CHECK(rp_pool_create(&po, &p) == RP_ERR_INVALID && strstr(rp_last_error()->message, "cannot honour"));
    CHECK(rp_heap_create(&ho, &h) == RP_ERR_INVALID);
    /* a table without its functions */
    newer.later = 0;
    newer.pa.free_locked = NULL;
    CHECK(rp_heap_create(&ho, &h) == RP_ERR_INVALID && strstr(rp_last_error()->message, "lacks"));
}

int main(void) {
    rp_map_options_t mo = rp_map_options_default();
    mo.length = 3 * rp_page_size();
    mo.prot = RP_MAP_PROT_READ_WRITE;
    rp_pool_options_t po = rp_pool_options_default();
    po.lock_policy = RP_POOL_LOCK_SILENT; /* an unprivileged run's memlock limit is no matter here */
    if (rp_heap_create(NULL, &heap) != RP_OK || rp_pool_create(&po, &pool) != RP_OK || rp_map_create(&mo, &map) != RP_OK) {
        fprintf(stderr, "setup: %s\n", rp_last_error()->message);
        return 1;
    }
    void *keep = rp_heap_malloc(heap, 100), *secret = rp_pool_alloc(pool, 32);
    if (keep == NULL || secret == NULL || rp_map_lock(map, 0, 1) != RP_OK) {
        fprintf(stderr, "setup: %s\n", rp_last_error()->message);
        return 1;
    }
    RP_TEST(test_out_structs);
    RP_TEST(test_older_struct);
    RP_TEST(test_area_callback);
    RP_TEST(test_status_format);
    RP_TEST(test_page_allocator);
    rp_pool_free(pool, secret);
    rp_pool_destroy(pool);
    rp_map_destroy(map);
    rp_heap_destroy(heap);
    return rp_test_exit();
}
