/* SPDX-License-Identifier: MIT */
/* test_map.c — the map layer (issue 4; seeds 001 and 003): every creation option and its bad
 * inputs, file maps by path and descriptor, protections and the JIT flip, flush, range locks
 * (seed 001's three tests, made real: the kernel's own smaps account is checked), nested lock
 * counts, huge pages in try/require modes, stacks with guards, fixed addresses, reserve/commit,
 * split/merge, resize, and memory areas. As root it re-runs itself as user nobody with a 64 KiB
 * memlock limit to check that lock failures carry the cause and the remedy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "holewatch.h"
#include "internal.h"
#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static size_t PAGE;

/* ---- helpers ----------------------------------------------------------------------------------- */

/* A temporary file with size bytes of a known pattern (byte i = i * 7 + 3). */
static void temp_file(char *path, size_t size) {
    strcpy(path, "/tmp/rampart-map-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return;
    for (size_t i = 0; i < size; i++) {
        unsigned char b = (unsigned char)(i * 7 + 3);
        if (write(fd, &b, 1) != 1) break;
    }
    close(fd);
}
static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

static off_t file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static rp_map_t *anon(size_t len, rp_map_prot_t prot, unsigned flags) {
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = len, .prot = prot, .flags = flags};
    rp_map_t *m = NULL;
    rp_status_t st = rp_map_create(&o, &m);
    if (st != RP_OK) fprintf(stderr, "    rp_map_create: %s\n", rp_last_error()->message);
    return m;
}

static rp_area_t area_at(const void *p) {
    rp_area_t a = {RP_SIZED(rp_area_t)};
    if (rp_area_of(p, &a) != RP_OK) fprintf(stderr, "    rp_area_of(%p): %s\n", p, rp_last_error()->message);
    return a;
}

/* Bytes of [p, p+len) that the kernel reports as locked (smaps "Locked:" of the areas inside). */
typedef struct locked_sum {
    uintptr_t start, end;
    size_t locked, flagged;
} locked_sum_t;
static bool sum_locked(const rp_area_t *a, void *ctx) {
    locked_sum_t *s = ctx;
    if (a->end <= s->start || a->start >= s->end) return a->start < s->end;
    uintptr_t lo = a->start > s->start ? a->start : s->start, hi = a->end < s->end ? a->end : s->end;
    if (a->flags & RP_AREA_LOCKED) s->flagged += hi - lo;
    /* Locked: counts the whole area; areas inside a map are split at lock boundaries. */
    if (a->start >= s->start && a->end <= s->end) s->locked += a->locked;
    return true;
}
static size_t locked_in(const void *p, size_t len) {
    locked_sum_t s = {(uintptr_t)p, (uintptr_t)p + len, 0, 0};
    rp_areas_foreach(0, sum_locked, &s);
    return s.flagged;
}

static size_t resident_pages(void *p, size_t len) {
    unsigned char vec[256];
    size_t n = len / PAGE, count = 0;
    if (n > sizeof vec || mincore(p, len, vec) != 0) return SIZE_MAX;
    for (size_t i = 0; i < n; i++) count += vec[i] & 1;
    return count;
}

static bool privileged(void) { return rp__os_can_lock_unlimited(); }

/* ---- creation and bad inputs ------------------------------------------------------------------- */

static void test_anonymous(void) {
    rp_map_t *m = anon(3 * PAGE + 10, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    CHECK(rp__is_aligned((uintptr_t)p, PAGE));
    CHECK(rp_map_len(m) == 3 * PAGE + 10);
    for (size_t i = 0; i < rp_map_len(m); i++) CHECK(p[i] == 0);
    memset(p, 0xab, rp_map_len(m));
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK);
    CHECK(info.ptr == p && info.len == 3 * PAGE + 10 && info.page_size == PAGE);
    CHECK(info.prot == RP_MAP_PROT_READ_WRITE && info.source == RP_MAP_ANONYMOUS && info.locked_pages == 0);
    rp_area_t a = area_at(p);
    CHECK((a.flags & (RP_AREA_READ | RP_AREA_WRITE)) == (RP_AREA_READ | RP_AREA_WRITE));
    CHECK(!(a.flags & RP_AREA_SHARED));
    CHECK(a.page_size == PAGE);
    errno = 1234;
    rp_map_destroy(m);
    CHECK(errno == 1234); /* free-like: errno untouched */
    rp_map_destroy(NULL);
}

static void expect_invalid(const rp_map_options_t *o, rp_status_t want, const char *needle) {
    rp_map_t *m = (rp_map_t *)1;
    rp_status_t st = rp_map_create(o, &m);
    CHECK(st == want);
    CHECK(m == NULL);
    CHECK(rp_last_error()->status == want);
    if (needle && !strstr(rp_last_error()->message, needle)) {
        fprintf(stderr, "    message '%s' lacks '%s'\n", rp_last_error()->message, needle);
        CHECK(false);
    }
}

static void test_bad_options(void) {
    rp_map_t *m = NULL;
    CHECK(rp_map_create(NULL, &m) == RP_ERR_INVALID && m == NULL);
    rp_map_options_t ok = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE};
    CHECK(rp_map_create(&ok, NULL) == RP_ERR_INVALID);
    rp_map_options_t o;
    /* the growing-struct rule (rampart/common.h): zero, too small and garbage sizes are refused; an
     * older caller's smaller struct works; a newer caller's unknown field must be zero */
    o = ok; o.struct_size = 0; expect_invalid(&o, RP_ERR_INVALID, "struct_size 0");
    o = ok; o.struct_size = offsetof(rp_map_options_t, address); expect_invalid(&o, RP_ERR_INVALID, "first version");
    o = ok; o.struct_size = (size_t)-1; expect_invalid(&o, RP_ERR_INVALID, "not a size");
    o = rp_map_options_default();
    CHECK(o.struct_size == sizeof(rp_map_options_t) && o.length == 0 && o.address == NULL);
    o.length = PAGE; o.prot = RP_MAP_PROT_READ_WRITE;
    o.struct_size = offsetof(rp_map_options_t, address) + sizeof(void *);
    CHECK(rp_map_create(&o, &m) == RP_OK && m != NULL);
    rp_map_destroy(m);
    m = NULL;
    struct { rp_map_options_t v; uint64_t future; } newer = {ok, 0};
    newer.v.struct_size = sizeof newer;
    CHECK(rp_map_create(&newer.v, &m) == RP_OK && m != NULL);
    rp_map_destroy(m);
    m = NULL;
    newer.future = 7;
    expect_invalid(&newer.v, RP_ERR_INVALID, "cannot honour");
    o = ok; o.prot = RP_MAP_PROT_READ_WRITE_EXEC; expect_invalid(&o, RP_ERR_INVALID, "RP_MAP_JIT");
    o = ok; o.prot = (rp_map_prot_t)42; expect_invalid(&o, RP_ERR_INVALID, "protection");
    o = ok; o.source = (rp_map_source_t)9; expect_invalid(&o, RP_ERR_INVALID, "source");
    o = ok; o.length = 0; expect_invalid(&o, RP_ERR_INVALID, "length 0");
    o = ok; o.offset = PAGE; expect_invalid(&o, RP_ERR_INVALID, "offset");
    o = ok; o.source = RP_MAP_PATH; expect_invalid(&o, RP_ERR_INVALID, "without a path");
    o = ok; o.source = RP_MAP_FD; o.fd = -1; expect_invalid(&o, RP_ERR_INVALID, "fd -1");
    o = ok; o.flags = RP_MAP_GROW; expect_invalid(&o, RP_ERR_INVALID, "need a file");
    o = ok; o.flags = RP_MAP_RESERVE | RP_MAP_SHARED; expect_invalid(&o, RP_ERR_INVALID, "private");
    o = ok; o.huge = (rp_map_huge_t)7; expect_invalid(&o, RP_ERR_INVALID, "huge page mode");
    /* Unknown flag bits are named, not ignored. */
    o = ok; o.flags = RP_MAP_NODUMP | (1u << 20); expect_invalid(&o, RP_ERR_INVALID, "unknown flag bits 0x100000");
    o = ok; o.flags = 1u << 31; expect_invalid(&o, RP_ERR_INVALID, "0x80000000");
    o = ok; o.huge = RP_MAP_HUGE_TRY; o.huge_size = 3 << 20; expect_invalid(&o, RP_ERR_INVALID, "power of two");
    o = ok; o.huge_size = 2 << 20; expect_invalid(&o, RP_ERR_INVALID, "huge pages off");
    o = ok; o.address = (void *)(uintptr_t)(PAGE * 1000 + 1); expect_invalid(&o, RP_ERR_INVALID, "page-aligned");
    o = ok; o.length = SIZE_MAX - 2; expect_invalid(&o, RP_ERR_NOMEM, "overflows");
    /* Transparent huge pages pad the request to align it: that must not overflow into "not
     * supported" either. */
    o = ok; o.length = SIZE_MAX - ((size_t)1 << 20); o.huge = RP_MAP_HUGE_TRY; expect_invalid(&o, RP_ERR_NOMEM, NULL);
    char path[64];
    temp_file(path, PAGE);
    o = ok; o.source = RP_MAP_PATH; o.path = path; o.flags = RP_MAP_STACK; expect_invalid(&o, RP_ERR_INVALID, "anonymous");
    o = ok; o.source = RP_MAP_PATH; o.path = path; o.huge = RP_MAP_HUGE_TRY; o.huge_size = 2 << 20;
    expect_invalid(&o, RP_ERR_INVALID, "anonymous");
    o = ok; o.source = RP_MAP_PATH; o.path = "/nonexistent/dir/file"; expect_invalid(&o, RP_ERR_OS, "/nonexistent/dir/file");
    CHECK(rp_last_error()->os_error == ENOENT);
    /* Not regular files: said so, not "empty" (a pipe's size is 0) or mmap's "no such device". */
    o = ok; o.source = RP_MAP_PATH; o.path = "/tmp"; expect_invalid(&o, RP_ERR_OS, "only regular files");
    CHECK(rp_last_error()->os_error == EISDIR);
    o.length = 0; expect_invalid(&o, RP_ERR_OS, "/tmp cannot be mapped");
    o = ok; o.source = RP_MAP_PATH; o.path = "/dev/zero"; expect_invalid(&o, RP_ERR_OS, "only regular files");
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    o = ok; o.source = RP_MAP_FD; o.fd = pipe_fds[0]; expect_invalid(&o, RP_ERR_OS, "only regular files");
    CHECK(strstr(rp_last_error()->message, "empty") == NULL);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    /* A closed descriptor is the OS's "bad descriptor", named. */
    o.fd = pipe_fds[0]; expect_invalid(&o, RP_ERR_OS, "descriptor");
    CHECK(rp_last_error()->os_error == EBADF);
    unlink(path);
}

/* A FIFO by path: refused at once, never a wait in open() for a writer that never comes (the
 * child has 10 seconds; a hang dies of SIGALRM and fails the test). Read-only opens block on a
 * FIFO, read-write ones do not (Linux), so both are tried. */
static char fifo_path[64];
static void create_on_fifo(void) {
    alarm(10);
    static const struct { rp_map_prot_t prot; unsigned flags; } modes[] = {
        {RP_MAP_PROT_READ, 0}, {RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED}, {RP_MAP_PROT_READ, RP_MAP_CREATE}};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = fifo_path, .length = 4096, .prot = modes[i].prot,
                              .flags = modes[i].flags};
        rp_map_t *m = NULL;
        if (rp_map_create(&o, &m) != RP_ERR_OS || m != NULL) _exit(1);
        if (!strstr(rp_last_error()->message, "only regular files") || rp_last_error()->os_error != ENODEV) _exit(2);
    }
}
static void test_fifo_refused(void) {
    snprintf(fifo_path, sizeof fifo_path, "/tmp/rampart-map-fifo-%d", (int)getpid());
    unlink(fifo_path);
    REQUIRE(mkfifo(fifo_path, 0600) == 0);
    CHECK(rp_test_exits_cleanly(create_on_fifo));
    CHECK(unlink(fifo_path) == 0);
}

/* ---- file maps --------------------------------------------------------------------------------- */

static void test_file_by_path_and_fd(void) {
    char path[64];
    const size_t size = 3 * PAGE + 100;
    temp_file(path, size);
    /* Read-only by path, whole file (length 0). */
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .prot = RP_MAP_PROT_READ};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    CHECK(rp_map_len(m) == size);
    const unsigned char *p = rp_map_ptr(m);
    bool same = true;
    for (size_t i = 0; i < size; i++) same &= p[i] == pattern(i);
    CHECK(same);
    rp_area_t a = area_at(p);
    CHECK(strcmp(a.path, path) == 0);
    CHECK(!(a.flags & RP_AREA_WRITE));
    rp_map_destroy(m);

    /* Shared read-write by descriptor: writes reach the file. */
    int fd = open(path, O_RDWR);
    REQUIRE(fd >= 0);
    rp_map_options_t s = {RP_SIZED(rp_map_options_t), .source = RP_MAP_FD, .fd = fd, .offset = PAGE, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_SHARED};
    REQUIRE(rp_map_create(&s, &m) == RP_OK);
    close(fd); /* the map keeps its own descriptor */
    unsigned char *w = rp_map_ptr(m);
    CHECK(w[0] == pattern(PAGE));
    memset(w, 0x5a, 16);
    CHECK(rp_map_flush_all(m, false) == RP_OK);
    CHECK(area_at(w).flags & RP_AREA_SHARED);
    rp_map_destroy(m);
    fd = open(path, O_RDONLY);
    unsigned char b[16];
    CHECK(pread(fd, b, sizeof b, (off_t)PAGE) == (ssize_t)sizeof b);
    for (size_t i = 0; i < sizeof b; i++) CHECK(b[i] == 0x5a);

    /* Private copy-on-write: writes stay in memory. */
    rp_map_options_t c = {RP_SIZED(rp_map_options_t), .source = RP_MAP_FD, .fd = fd, .prot = RP_MAP_PROT_READ_WRITE};
    REQUIRE(rp_map_create(&c, &m) == RP_OK);
    w = rp_map_ptr(m);
    memset(w, 0x11, 16);
    CHECK(rp_map_flush_all(m, false) == RP_OK);
    rp_map_destroy(m);
    CHECK(pread(fd, b, 1, 0) == 1 && b[0] == pattern(0));

    /* A read-only descriptor cannot back a shared writable map; a write-only one (which the
     * message used to call read-only) cannot either, and cannot even be read. */
    s.fd = fd;
    expect_invalid(&s, RP_ERR_PERMISSION, "not open for reading and writing");
    close(fd);
    fd = open(path, O_WRONLY);
    REQUIRE(fd >= 0);
    s.fd = fd;
    expect_invalid(&s, RP_ERR_PERMISSION, "not open for reading and writing");
    c.fd = fd;
    expect_invalid(&c, RP_ERR_PERMISSION, NULL);
    close(fd);
    unlink(path);
}

static void test_file_offsets_and_sizes(void) {
    char path[64];
    const size_t size = 2 * PAGE;
    temp_file(path, size);
    /* An offset that is not page-aligned: the map starts exactly there. */
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .offset = 100, .length = PAGE, .prot = RP_MAP_PROT_READ};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    const unsigned char *p = rp_map_ptr(m);
    CHECK(p[0] == pattern(100) && p[PAGE - 1] == pattern(100 + PAGE - 1));
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.offset == 100);
    rp_map_destroy(m);

    /* Out of range: offset at the end, offset + length past it. Both name the numbers. */
    o.offset = size; o.length = 0;
    expect_invalid(&o, RP_ERR_BOUNDS, "8192");
    o.offset = PAGE; o.length = 2 * PAGE;
    expect_invalid(&o, RP_ERR_BOUNDS, "past the end");
    CHECK(strstr(rp_last_error()->message, "4096") != NULL);

    /* RP_MAP_GROW extends the file. */
    o.flags = RP_MAP_GROW;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    CHECK(file_size(path) == (off_t)(3 * PAGE));
    CHECK(((unsigned char *)rp_map_ptr(m))[2 * PAGE - 1] == 0);
    rp_map_destroy(m);

    /* A zero-length file is an invalid argument, clearly said. */
    CHECK(truncate(path, 0) == 0);
    rp_map_options_t z = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .prot = RP_MAP_PROT_READ};
    expect_invalid(&z, RP_ERR_INVALID, "empty (0 bytes)");
    z.length = PAGE;
    expect_invalid(&z, RP_ERR_INVALID, "RP_MAP_GROW");
    unlink(path);

    /* RP_MAP_CREATE makes a missing file, with RP_MAP_GROW to size it. */
    rp_map_options_t n = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_CREATE | RP_MAP_GROW | RP_MAP_SHARED};
    REQUIRE(rp_map_create(&n, &m) == RP_OK);
    CHECK(file_size(path) == (off_t)PAGE);
    memcpy(rp_map_ptr(m), "rampart", 7);
    CHECK(rp_map_flush(m, 0, 7, true) == RP_OK);
    rp_map_destroy(m);
    int fd = open(path, O_RDONLY);
    char b[8] = {0};
    CHECK(fd >= 0 && read(fd, b, 7) == 7 && strcmp(b, "rampart") == 0);
    close(fd);
    unlink(path);
    n.flags = RP_MAP_SHARED; /* no CREATE: the missing file is an OS error with errno */
    expect_invalid(&n, RP_ERR_OS, path);
    CHECK(rp_last_error()->os_error == ENOENT);
    /* A create that fails removes the file it made (it stayed behind, empty or grown)... */
    n.flags = RP_MAP_SHARED | RP_MAP_CREATE; /* without GROW the new file is empty */
    expect_invalid(&n, RP_ERR_INVALID, "empty");
    CHECK(file_size(path) == -1);
    n.flags = RP_MAP_SHARED | RP_MAP_CREATE | RP_MAP_GROW;
    n.offset = (uint64_t)1 << 62; /* past what the file system allows */
    CHECK(rp_map_create(&n, &m) != RP_OK && m == NULL);
    CHECK(file_size(path) == -1);
    n.offset = 0;
    /* ...but never a file that was there before. */
    temp_file(path, PAGE);
    n.length = 2 * PAGE;
    n.flags = RP_MAP_SHARED | RP_MAP_CREATE; /* too short, and no GROW */
    expect_invalid(&n, RP_ERR_BOUNDS, "past the end");
    CHECK(file_size(path) == (off_t)PAGE);
    unlink(path);
}

/* ---- protections and transitions --------------------------------------------------------------- */

static volatile unsigned char *fault_at;
static void do_write(void) { *fault_at = 1; }
static void do_read(void) { (void)*fault_at; }

/* ---- guarded copies over a truncated file ------------------------------------------------------ */

static rp_map_t *file_map(const char *path, size_t size, rp_map_prot_t prot, unsigned flags);

/* A shared 3-page file map whose file then shrinks to one page and 100 bytes: page 2 is past the
 * end (SIGBUS to touch), page 1 holds the last 100 bytes. */
static rp_map_t *truncated_map(char *path, size_t size) {
    snprintf(path, size, "/tmp/rampart-map-trunc-%d", (int)getpid());
    unlink(path);
    rp_map_t *m = file_map(path, 3 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED);
    if (m == NULL) return NULL;
    memset(rp_map_ptr(m), 0x5a, 3 * PAGE);
    if (truncate(path, (off_t)(PAGE + 100)) != 0) {
        rp_map_destroy(m);
        return NULL;
    }
    return m;
}

/* A SIGBUS handler the program had before the first guarded copy still gets the faults that are
 * not inside a copy (run in a fresh child: the handler is installed once per process). */
static sigjmp_buf user_bus_jump;
static void user_bus_handler(int sig) {
    (void)sig;
    siglongjmp(user_bus_jump, 1);
}
static void chain_child(void) {
    char path[64];
    rp_map_t *m = truncated_map(path, sizeof path);
    if (m == NULL) _exit(3);
    signal(SIGBUS, user_bus_handler);
    unsigned char buf[16];
    if (rp_map_read(m, 2 * PAGE, buf, sizeof buf) != RP_ERR_IO) _exit(4);
    if (sigsetjmp(user_bus_jump, 1) == 0) {
        fault_at = (unsigned char *)rp_map_ptr(m) + 2 * PAGE;
        do_read();
        _exit(5); /* no fault at all */
    }
    rp_map_destroy(m);
    unlink(path);
    _exit(42); /* the program's own handler ran */
}
static void test_copy_chains_handler(void) {
    int status = rp_test_run_child(chain_child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 42)) fprintf(stderr, "    (child status 0x%x)\n", status);
}

static void touch_past_end(void) {
    char path[64];
    rp_map_t *m = truncated_map(path, sizeof path);
    if (m == NULL) _exit(3);
    unsigned char buf[16];
    if (rp_map_read(m, 2 * PAGE, buf, sizeof buf) != RP_ERR_IO) _exit(4); /* the handler is in place */
    unlink(path);
    fault_at = (unsigned char *)rp_map_ptr(m) + 2 * PAGE;
    do_read(); /* outside the helper: dies as without it */
}

static void test_copy_truncated(void) {
    char path[64];
    rp_map_t *m = truncated_map(path, sizeof path);
    REQUIRE(m != NULL);
    unsigned char buf[256];
    /* Inside the file: plain copies. */
    CHECK(rp_map_read(m, 10, buf, 100) == RP_OK && buf[0] == 0x5a && buf[99] == 0x5a);
    CHECK(rp_map_write(m, PAGE, "abc", 3) == RP_OK);
    CHECK(rp_map_read(m, PAGE, buf, 3) == RP_OK && memcmp(buf, "abc", 3) == 0);
    /* Past the end: RP_ERR_IO with the sizes, and the process goes on. */
    CHECK(rp_map_read(m, 2 * PAGE + 8, buf, sizeof buf) == RP_ERR_IO);
    char want[96];
    snprintf(want, sizeof want, "the file is %zu bytes, shorter than the map", PAGE + 100);
    CHECK(strstr(rp_last_error()->message, want) != NULL);
    fprintf(stderr, "    read: %s\n", rp_last_error()->message);
    CHECK(rp_map_read(m, 2 * PAGE - 10, buf, 20) == RP_ERR_IO); /* straddles into the lost page */
    CHECK(rp_map_write(m, 2 * PAGE, "x", 1) == RP_ERR_IO);
    CHECK(rp_map_read(m, 3 * PAGE, buf, 1) == RP_ERR_BOUNDS);
    CHECK(rp_map_read(m, 3 * PAGE + 7, buf, 0) == RP_OK);
    CHECK(rp_map_read(NULL, 0, buf, 1) == RP_ERR_INVALID);
    /* Flushing does not pretend the bytes past the end were written. */
    CHECK(rp_map_flush_all(m, false) == RP_ERR_IO);
    CHECK(strstr(rp_last_error()->message, "shorter than the map") != NULL);
    CHECK(rp_map_flush(m, 0, PAGE, false) == RP_OK); /* within the file: fine */
    CHECK(file_size(path) == (off_t)(PAGE + 100));
    /* A plain access past the end still kills, also once the handler is installed. */
    CHECK(rp_test_dies_with(touch_past_end, SIGBUS));
    rp_map_destroy(m);
    CHECK(unlink(path) == 0);
    /* Access the map does not give. */
    rp_map_t *ro = anon(PAGE, RP_MAP_PROT_READ, 0);
    REQUIRE(ro != NULL);
    CHECK(rp_map_write(ro, 0, "x", 1) == RP_ERR_PERMISSION);
    CHECK(rp_map_read(ro, 0, buf, 1) == RP_OK && buf[0] == 0);
    rp_map_destroy(ro);
    rp_map_t *r = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE);
    REQUIRE(r != NULL);
    CHECK(rp_map_read(r, PAGE, buf, 1) == RP_ERR_INVALID);
    CHECK(rp_map_commit(r, PAGE, PAGE) == RP_OK);
    CHECK(rp_map_write(r, PAGE, "y", 1) == RP_OK && rp_map_read(r, PAGE, buf, 1) == RP_OK && buf[0] == 'y');
    rp_map_destroy(r);
}

/* Threads copying at once, half of them faulting: each gets its own answer. */
typedef struct copy_worker {
    rp_map_t *map;
    int faults_ok, reads_ok;
} copy_worker_t;
static void *copy_worker(void *arg) {
    copy_worker_t *w = arg;
    unsigned char buf[64];
    for (int i = 0; i < 2000; i++) {
        if (rp_map_read(w->map, 2 * PAGE + (size_t)(i % 64), buf, sizeof buf) == RP_ERR_IO &&
            rp_last_error()->status == RP_ERR_IO)
            w->faults_ok++;
        if (rp_map_read(w->map, (size_t)(i % 64), buf, sizeof buf) == RP_OK && buf[0] == 0x5a && buf[63] == 0x5a)
            w->reads_ok++;
    }
    return NULL;
}
static void test_copy_threads(void) {
    char path[64];
    rp_map_t *m = truncated_map(path, sizeof path);
    REQUIRE(m != NULL);
    enum { N = 4 };
    pthread_t t[N];
    copy_worker_t w[N];
    for (int i = 0; i < N; i++) {
        w[i] = (copy_worker_t){m, 0, 0};
        CHECK(pthread_create(&t[i], NULL, copy_worker, &w[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK(w[i].faults_ok == 2000 && w[i].reads_ok == 2000);
    }
    rp_map_destroy(m);
    CHECK(unlink(path) == 0);
}

static void test_protections(void) {
    static const struct { rp_map_prot_t prot; unsigned want; } cases[] = {
        {RP_MAP_PROT_NONE, RP_AREA_NOACCESS},
        {RP_MAP_PROT_READ, RP_AREA_READ},
        {RP_MAP_PROT_READ_WRITE, RP_AREA_READ | RP_AREA_WRITE},
        {RP_MAP_PROT_READ_EXEC, RP_AREA_READ | RP_AREA_EXEC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rp_map_t *m = anon(PAGE, cases[i].prot, 0);
        REQUIRE(m != NULL);
        rp_area_t a = area_at(rp_map_ptr(m));
        CHECK((a.flags & (RP_AREA_READ | RP_AREA_WRITE | RP_AREA_EXEC | RP_AREA_NOACCESS)) == cases[i].want);
        fault_at = rp_map_ptr(m);
        if (cases[i].prot != RP_MAP_PROT_READ_WRITE) CHECK(rp_test_dies_with(do_write, SIGSEGV));
        if (cases[i].prot == RP_MAP_PROT_NONE) CHECK(rp_test_dies_with(do_read, SIGSEGV));
        rp_map_destroy(m);
    }
    /* Transitions none -> read -> read-write -> read-exec -> none. */
    rp_map_t *m = anon(2 * PAGE, RP_MAP_PROT_NONE, 0);
    REQUIRE(m != NULL);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ) == RP_OK);
    CHECK(((unsigned char *)rp_map_ptr(m))[0] == 0);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE) == RP_OK);
    memset(rp_map_ptr(m), 7, 2 * PAGE);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_EXEC) == RP_OK);
    CHECK(area_at(rp_map_ptr(m)).flags & RP_AREA_EXEC);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE_EXEC) == RP_ERR_INVALID); /* no JIT flag */
    CHECK(area_at(rp_map_ptr(m)).flags & RP_AREA_EXEC);
    CHECK(!(area_at(rp_map_ptr(m)).flags & RP_AREA_WRITE));
    CHECK(rp_map_protect(m, (rp_map_prot_t)99) == RP_ERR_INVALID);
    CHECK(rp_map_protect(NULL, RP_MAP_PROT_READ) == RP_ERR_INVALID);
    CHECK(rp_map_protect(m, RP_MAP_PROT_NONE) == RP_OK);
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.prot == RP_MAP_PROT_NONE);
    rp_map_destroy(m);
}

/* A shared map of a file opened read-only cannot become writable: the transition fails and the
 * map stays as it was (still readable, still read-only). */
static void test_failed_transition_keeps_map(void) {
    char path[64];
    temp_file(path, PAGE);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .prot = RP_MAP_PROT_READ, .flags = RP_MAP_SHARED};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE) == RP_ERR_PERMISSION);
    CHECK(rp_last_error()->os_error == EACCES);
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.prot == RP_MAP_PROT_READ);
    const unsigned char *p = rp_map_ptr(m);
    CHECK(p[5] == pattern(5));
    rp_area_t a = area_at(p);
    CHECK((a.flags & RP_AREA_READ) && !(a.flags & RP_AREA_WRITE));
    rp_map_destroy(m);
    unlink(path);
}

static void test_jit(void) {
    rp_map_t *m = anon(PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_JIT);
    REQUIRE(m != NULL);
#if defined(__x86_64__) || defined(__i386__)
    static const unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax, 42; ret */
    memcpy(rp_map_ptr(m), code, sizeof code);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_EXEC) == RP_OK); /* the W -> X flip flushes the icache */
    int (*fn)(void);
    void *ptr = rp_map_ptr(m);
    memcpy(&fn, &ptr, sizeof fn);
    CHECK(fn() == 42);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE) == RP_OK); /* X -> W */
    ((unsigned char *)rp_map_ptr(m))[1] = 0x07;
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_EXEC) == RP_OK);
    CHECK(fn() == 7);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE_EXEC) == RP_OK); /* allowed with RP_MAP_JIT */
    ((unsigned char *)rp_map_ptr(m))[1] = 0x09;
    CHECK(fn() == 9);
#else
    fprintf(stderr, "    (no x86 code to run here: checking only the transitions)\n");
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_EXEC) == RP_OK);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE_EXEC) == RP_OK);
#endif
    rp_area_t a = area_at(rp_map_ptr(m));
    CHECK((a.flags & (RP_AREA_WRITE | RP_AREA_EXEC)) == (RP_AREA_WRITE | RP_AREA_EXEC));
    rp_map_destroy(m);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE_EXEC, .flags = RP_MAP_JIT};
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    rp_map_destroy(m);
}

/* ---- flush ------------------------------------------------------------------------------------- */

static void test_flush(void) {
    char path[64];
    temp_file(path, 4 * PAGE);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .offset = 10, .length = 3 * PAGE,
                          .prot = RP_MAP_PROT_READ_WRITE, .flags = RP_MAP_SHARED};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    unsigned char *p = rp_map_ptr(m);
    p[PAGE + 5] = 0xee;
    /* Unaligned ranges are fine: the layer aligns them (a raw msync would be EINVAL). */
    CHECK(rp_map_flush(m, PAGE + 3, 7, false) == RP_OK);
    CHECK(rp_map_flush(m, 1, 2 * PAGE, true) == RP_OK);
    CHECK(rp_map_flush(m, 0, 0, false) == RP_OK);
    CHECK(rp_map_flush(m, 3 * PAGE, 0, false) == RP_OK);
    CHECK(rp_map_flush_all(m, true) == RP_OK);
    CHECK(rp_map_flush_all(m, false) == RP_OK);
    CHECK(rp_map_flush(m, 3 * PAGE, 1, false) == RP_ERR_BOUNDS);
    CHECK(strstr(rp_last_error()->message, "offset 12288") && strstr(rp_last_error()->message, "12288-byte map"));
    CHECK(rp_map_flush(m, 1, SIZE_MAX, false) == RP_ERR_BOUNDS);
    CHECK(rp_map_flush(NULL, 0, 1, false) == RP_ERR_INVALID);
    int fd = open(path, O_RDONLY);
    unsigned char b = 0;
    CHECK(pread(fd, &b, 1, (off_t)(10 + PAGE + 5)) == 1 && b == 0xee);
    close(fd);
    rp_map_destroy(m);
    /* Anonymous maps have nothing to write back; a flush succeeds. */
    m = anon(PAGE, RP_MAP_PROT_READ_WRITE, 0);
    CHECK(rp_map_flush_all(m, false) == RP_OK);
    rp_map_destroy(m);
    unlink(path);
}

/* ---- range locking: seed 001's three tests, made real ------------------------------------------ */

static rp_map_t *file_map(const char *path, size_t size, rp_map_prot_t prot, unsigned flags) {
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .length = size, .prot = prot,
                          .flags = flags | RP_MAP_CREATE | RP_MAP_GROW};
    if (!(flags & RP_MAP_SHARED) && prot == RP_MAP_PROT_READ) o.flags &= ~(unsigned)(RP_MAP_CREATE | RP_MAP_GROW);
    rp_map_t *m = NULL;
    if (rp_map_create(&o, &m) != RP_OK) fprintf(stderr, "    %s\n", rp_last_error()->message);
    return m;
}

/* Whether a lock failure looks right: a limit/permission status with the remedy attached. */
static void check_lock_failure(rp_status_t st) {
    CHECK(st == RP_ERR_LIMIT || st == RP_ERR_PERMISSION);
    CHECK(rp_last_error()->remedy != NULL);
}

static void seed_lock_unlock_operations(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rampart-map-lock-ops-%d", (int)getpid());
    unlink(path);
    rp_map_t *m = file_map(path, 8192, RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED);
    REQUIRE(m != NULL);
    void *p = rp_map_ptr(m);
    rp_status_t st = rp_map_lock(m, 0, 4096);
    if (privileged()) REQUIRE(st == RP_OK);
    if (st == RP_OK) {
        CHECK(area_at(p).flags & RP_AREA_LOCKED);
        CHECK(area_at(p).locked == 4096);
        CHECK(locked_in(p, 8192) == 4096);
        CHECK(rp_map_unlock(m, 0, 4096) == RP_OK);
        CHECK(!(area_at(p).flags & RP_AREA_LOCKED));
    } else {
        check_lock_failure(st);
    }
    CHECK(rp_map_lock(m, 0, 0) == RP_OK);
    CHECK(rp_map_unlock(m, 0, 0) == RP_OK);
    CHECK(rp_map_lock(m, 8192, 0) == RP_OK);   /* empty at the end: still a no-op */
    CHECK(rp_map_lock(m, 8192, 1) == RP_ERR_BOUNDS);
    CHECK(strstr(rp_last_error()->message, "offset 8192") && strstr(rp_last_error()->message, "length 1") &&
          strstr(rp_last_error()->message, "8192-byte map"));
    CHECK(rp_map_unlock(m, 8192, 1) == RP_ERR_BOUNDS);
    /* Zero length is a no-op at any offset, past the end too (seed 001). */
    CHECK(rp_map_lock(m, 8193, 0) == RP_OK);
    CHECK(rp_map_unlock(m, SIZE_MAX, 0) == RP_OK);
    CHECK(rp_map_flush(m, 1 << 20, 0, false) == RP_OK);
    CHECK(rp_map_lock(m, 4096, SIZE_MAX) == RP_ERR_BOUNDS);
    CHECK(rp_map_lock(NULL, 0, 1) == RP_ERR_INVALID);
    st = rp_map_lock_all(m);
    if (privileged()) REQUIRE(st == RP_OK);
    if (st == RP_OK) {
        CHECK(locked_in(p, 8192) == 8192);
        CHECK(rp_map_unlock_all(m) == RP_OK);
        CHECK(locked_in(p, 8192) == 0);
    } else {
        check_lock_failure(st);
    }
    CHECK(rp_map_unlock(m, 0, 8192) == RP_OK); /* never locked: succeeds */
    rp_map_destroy(m);
    CHECK(unlink(path) == 0);
}

static void seed_lock_with_different_modes(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rampart-map-lock-modes-%d", (int)getpid());
    unlink(path);
    static const struct { rp_map_prot_t prot; unsigned flags; const char *name; } modes[] = {
        {RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED, "read-write"},
        {RP_MAP_PROT_READ, 0, "read-only"},
        {RP_MAP_PROT_READ_WRITE, 0, "copy-on-write"},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        rp_map_t *m = file_map(path, 4096, modes[i].prot, modes[i].flags);
        REQUIRE(m != NULL);
        rp_status_t st = rp_map_lock(m, 0, 1024); /* a partial page locks the whole page */
        if (privileged() && st != RP_OK) fprintf(stderr, "    %s: %s\n", modes[i].name, rp_last_error()->message);
        if (privileged()) CHECK(st == RP_OK);
        if (st == RP_OK) {
            CHECK(area_at(rp_map_ptr(m)).flags & RP_AREA_LOCKED);
            CHECK(area_at(rp_map_ptr(m)).locked == 4096); /* resident: mlock faulted it in */
        } else {
            check_lock_failure(st);
        }
        rp_map_destroy(m); /* destroying a locked map releases the lock */
    }
    CHECK(unlink(path) == 0);
}

static void seed_multiple_lock_regions(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rampart-map-multi-lock-%d", (int)getpid());
    unlink(path);
    rp_map_t *m = file_map(path, 16384, RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    rp_status_t a = rp_map_lock(m, 0, 4096), b = rp_map_lock(m, 4096, 4096), c = rp_map_lock(m, 8192, 4096);
    if (privileged()) CHECK(a == RP_OK && b == RP_OK && c == RP_OK);
    if (a == RP_OK && b == RP_OK && c == RP_OK) {
        CHECK(locked_in(p, 16384) == 12288);
        CHECK(!(area_at(p + 12288).flags & RP_AREA_LOCKED));
        CHECK(rp_map_unlock(m, 4096, 4096) == RP_OK);
        CHECK(area_at(p).flags & RP_AREA_LOCKED);
        CHECK(!(area_at(p + 4096).flags & RP_AREA_LOCKED));
        CHECK(area_at(p + 8192).flags & RP_AREA_LOCKED);
        CHECK(rp_map_unlock(m, 0, 4096) == RP_OK);
        CHECK(rp_map_unlock(m, 8192, 4096) == RP_OK);
        CHECK(locked_in(p, 16384) == 0);
    }
    rp_map_destroy(m);
    CHECK(unlink(path) == 0);
}

static size_t vm_locked(void) {
    rp_system_info_t info = {RP_SIZED(rp_system_info_t)};
    return rp_system_info(&info) == RP_OK && info.locked_known ? info.locked_bytes : SIZE_MAX;
}

/* A file truncated under its map: locking pages past the new end fails (mlock cannot read them
 * in) with RP_ERR_IO naming the file's size, not a memlock limit, and leaves no page locked
 * (Linux marks the whole range locked before it faults pages in and keeps what it got). */
static void test_lock_truncated_file(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/rampart-map-lock-trunc-%d", (int)getpid());
    unlink(path);
    rp_map_t *m = file_map(path, 3 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED);
    REQUIRE(m != NULL);
    REQUIRE(truncate(path, (off_t)PAGE) == 0);
    size_t before = vm_locked();
    rp_status_t st = rp_map_lock(m, 0, 3 * PAGE);
    CHECK(st == RP_ERR_IO);
    if (st != RP_OK) fprintf(stderr, "    (%s)\n", rp_last_error()->message);
    char want[96];
    snprintf(want, sizeof want, "the file is %zu bytes, shorter than the map", PAGE);
    CHECK(strstr(rp_last_error()->message, want) != NULL);
    CHECK(strstr(rp_last_error()->message, "memlock limit") == NULL);
    CHECK(vm_locked() == before);
    CHECK(locked_in(rp_map_ptr(m), 3 * PAGE) == 0);
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 0);
    /* The part still inside the file locks as usual (within any user's limit). */
    if (rp_map_lock(m, 0, PAGE) == RP_OK) {
        CHECK(locked_in(rp_map_ptr(m), 3 * PAGE) == PAGE);
        CHECK(rp_map_unlock(m, 0, PAGE) == RP_OK);
    }
    rp_map_destroy(m);
    CHECK(vm_locked() == before);
    CHECK(unlink(path) == 0);
}

/* Growing a locked map past the memlock limit is a lock failure with numbers and the remedy.
 * Root holds CAP_IPC_LOCK and has no limit: test_map_unprivileged checks it there, as nobody. */
static void test_grow_locked_over_limit(void) {
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    REQUIRE(rp_system_info(&si) == RP_OK);
    if (privileged() || si.memlock_soft == SIZE_MAX || si.memlock_soft > ((size_t)256 << 20)) {
        fprintf(stderr, "    (no binding memlock limit here: test_map_unprivileged, root pass, checks this as nobody)\n");
        return;
    }
    rp_map_t *l = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_LOCKED | RP_MAP_MAY_MOVE);
    REQUIRE(l != NULL);
    CHECK(rp_map_resize(l, si.memlock_soft + ((size_t)1 << 20)) == RP_ERR_LIMIT);
    const rp_error_t *e = rp_last_error();
    fprintf(stderr, "    grow failure: %s\n", e->message);
    CHECK(strstr(e->message, "growing a locked map") != NULL && strstr(e->message, "memlock limit soft") != NULL);
    CHECK(e->remedy != NULL);
    CHECK(rp_map_len(l) == 4 * PAGE);
    rp_map_destroy(l);
}

/* Counts nest: two holders of a page each unlock once before the kernel lock goes. */
static void test_nested_locks(void) {
    if (!privileged()) {
        fprintf(stderr, "    (not privileged: test_map runs this as root; test_map_unprivileged checks nesting "
                        "as nobody within its limit)\n");
        return;
    }
    rp_map_t *m = anon(8 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    CHECK(rp_map_lock(m, 0, 4 * PAGE) == RP_OK);
    CHECK(rp_map_lock(m, 2 * PAGE, 4 * PAGE) == RP_OK); /* overlaps pages 2, 3 */
    CHECK(locked_in(p, 8 * PAGE) == 6 * PAGE);
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 6);
    CHECK(rp_map_unlock(m, 0, 4 * PAGE) == RP_OK);
    CHECK(!(area_at(p).flags & RP_AREA_LOCKED));
    CHECK(area_at(p + 2 * PAGE).flags & RP_AREA_LOCKED); /* still held by the second lock */
    CHECK(locked_in(p, 8 * PAGE) == 4 * PAGE);
    CHECK(rp_map_unlock(m, 0, 8 * PAGE) == RP_OK);
    CHECK(locked_in(p, 8 * PAGE) == 0);
    /* Unlocking more often than locking is harmless. */
    CHECK(rp_map_unlock_all(m) == RP_OK);
    CHECK(rp_map_lock(m, 1, 1) == RP_OK); /* one byte locks its page */
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 1);
    CHECK(rp_map_lock_all(m) == RP_OK);
    CHECK(rp_map_unlock_all(m) == RP_OK);
    CHECK(area_at(p).flags & RP_AREA_LOCKED);
    CHECK(rp_map_unlock(m, 0, PAGE) == RP_OK);
    CHECK(locked_in(p, 8 * PAGE) == 0);
    rp_map_destroy(m);
}

static void test_locked_nodump_populate(void) {
    if (privileged()) {
        rp_map_t *m = anon(16 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_LOCKED | RP_MAP_NODUMP);
        REQUIRE(m != NULL);
        rp_area_t a = area_at(rp_map_ptr(m));
        CHECK(a.flags & RP_AREA_LOCKED);
        CHECK(a.flags & RP_AREA_DONTDUMP);
        CHECK(a.locked == 16 * PAGE); /* a real lock: every page resident now */
        memset(rp_map_ptr(m), 0x42, 16 * PAGE);
        rp_map_destroy(m);
    }
    /* Populate: every page resident at once (mincore asks the kernel page by page, since the
     * map's area may be merged with resident neighbours); without it, none are. */
    rp_map_t *m = anon(64 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_POPULATE);
    REQUIRE(m != NULL);
    CHECK(resident_pages(rp_map_ptr(m), 64 * PAGE) == 64);
    CHECK(!(area_at(rp_map_ptr(m)).flags & RP_AREA_DONTDUMP));
    rp_map_destroy(m);
    m = anon(64 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    CHECK(resident_pages(rp_map_ptr(m), 64 * PAGE) == 0);
    rp_map_destroy(m);
    /* No swap reservation: far more than RAM + swap can be mapped when nothing is reserved. */
    rp_map_t *big = anon((size_t)1 << 40, RP_MAP_PROT_READ_WRITE, RP_MAP_NORESERVE);
    CHECK(big != NULL);
    if (big) ((unsigned char *)rp_map_ptr(big))[12345] = 1;
    rp_map_destroy(big);
}

static unsigned char *fork_probe;
static void child_sees_zeros(void) {
    /* Dies (SIGABRT) when the child sees the parent's bytes. */
    for (size_t i = 0; i < 4 * PAGE; i++)
        if (fork_probe[i] != 0) abort();
    raise(SIGUSR1);
}

static void test_wipe_on_fork(void) {
    rp_map_t *m = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_WIPEONFORK);
    REQUIRE(m != NULL);
    fork_probe = rp_map_ptr(m);
    memset(fork_probe, 0x5c, 4 * PAGE);
    CHECK(area_at(fork_probe).flags & RP_AREA_WIPEONFORK);
    CHECK(rp_test_dies_with(child_sees_zeros, SIGUSR1));
    CHECK(fork_probe[0] == 0x5c); /* the parent keeps its bytes */
    rp_map_destroy(m);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE, .flags = RP_MAP_WIPEONFORK | RP_MAP_SHARED};
    expect_invalid(&o, RP_ERR_INVALID, "private anonymous");
}

/* The process's peak resident set in KiB (ru_maxrss): it grows if a wipe faults pages in. */
static long peak_rss_kib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Secret maps are wiped before their pages go back, but only the pages that hold something: a
 * sparse no-dump map with one page touched must not be faulted in whole by shrink, decommit or
 * destroy (it was: 256 MiB of zeros written to pages the map never used). */
static void test_wipe_only_resident(void) {
    const size_t big = (size_t)256 << 20;
    const long slack_kib = 64 << 10;
    long before = peak_rss_kib();
    rp_map_t *m = anon(big, RP_MAP_PROT_READ_WRITE, RP_MAP_NODUMP | RP_MAP_NORESERVE);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    p[0] = 0x5e;
    p[big - 1] = 0x5e;
    CHECK(rp_map_resize(m, big / 2) == RP_OK);
    CHECK(peak_rss_kib() - before < slack_kib);
    CHECK(p[0] == 0x5e); /* the kept part is untouched */
    rp_map_destroy(m);
    CHECK(peak_rss_kib() - before < slack_kib);

    m = anon(big, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE | RP_MAP_NODUMP);
    REQUIRE(m != NULL);
    p = rp_map_ptr(m);
    CHECK(rp_map_commit(m, 0, big) == RP_OK);
    p[PAGE] = 0x5e;
    CHECK(rp_map_decommit(m, 0, big / 2) == RP_OK);
    CHECK(peak_rss_kib() - before < slack_kib);
    CHECK(rp_map_commit(m, 0, PAGE * 2) == RP_OK);
    CHECK(p[PAGE] == 0); /* the touched page was dropped */
    p[PAGE] = 0x5e;
    /* A read-only secret map is opened for writing to be wiped; still only what is resident. */
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ) == RP_OK);
    rp_map_destroy(m);
    CHECK(peak_rss_kib() - before < slack_kib);
    fprintf(stderr, "    peak RSS grew by %ld KiB over three 256 MiB sparse secret maps\n", peak_rss_kib() - before);
}

/* ---- huge pages -------------------------------------------------------------------------------- */

static void test_huge_pages(void) {
    const size_t two_mib = (size_t)2 << 20;
    rp_system_info_t si = {RP_SIZED(rp_system_info_t)};
    REQUIRE(rp_system_info(&si) == RP_OK);
    size_t free_2m = 0;
    bool has_2m = false;
    for (size_t i = 0; i < si.huge_count; i++)
        if (si.huge[i].size == two_mib) {
            has_2m = true;
            free_2m = si.huge[i].free;
        }

    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = 3 * PAGE, .prot = RP_MAP_PROT_READ_WRITE, .huge = RP_MAP_HUGE_TRY, .huge_size = two_mib};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK);
    if (free_2m == 0) {
        CHECK(info.page_size == PAGE); /* try: fell back, and says so */
        CHECK(!(area_at(rp_map_ptr(m)).flags & RP_AREA_HUGETLB));
    } else {
        CHECK(info.page_size == two_mib);
        memset(rp_map_ptr(m), 1, 3 * PAGE);
        CHECK(area_at(rp_map_ptr(m)).flags & RP_AREA_HUGETLB);
        CHECK(area_at(rp_map_ptr(m)).hugetlb == two_mib);
    }
    rp_map_destroy(m);

    o.huge = RP_MAP_HUGE_REQUIRE;
    rp_status_t st = rp_map_create(&o, &m);
    if (has_2m && free_2m == 0) {
        CHECK(st == RP_ERR_NOMEM && m == NULL);
        CHECK(strstr(rp_last_error()->message, "vm.nr_hugepages") != NULL);
        CHECK(strstr(rp_last_error()->message, "2048 KiB") != NULL);
        fprintf(stderr, "    require without reserved pages: %s\n", rp_last_error()->message);
    } else if (has_2m) {
        CHECK(st == RP_OK);
        if (st == RP_OK && rp_map_info(m, &info) == RP_OK) CHECK(info.page_size == two_mib);
        rp_map_destroy(m);
    }
    /* A size the OS does not offer: require says unsupported, try falls back. */
    o.huge_size = (size_t)1 << 34;
    CHECK(rp_map_create(&o, &m) == RP_ERR_UNSUPPORTED);
    o.huge = RP_MAP_HUGE_TRY;
    CHECK(rp_map_create(&o, &m) == RP_OK);
    CHECK(rp_map_info(m, &info) == RP_OK && info.page_size == PAGE);
    rp_map_destroy(m);

    /* Transparent huge pages: aligned to the huge page size and advised when the kernel has them. */
    rp_map_options_t t = {RP_SIZED(rp_map_options_t), .length = 2 * two_mib, .prot = RP_MAP_PROT_READ_WRITE, .huge = RP_MAP_HUGE_TRY};
    REQUIRE(rp_map_create(&t, &m) == RP_OK);
    CHECK(rp_map_info(m, &info) == RP_OK);
    bool thp_on = strcmp(si.thp_mode, "madvise") == 0 || strcmp(si.thp_mode, "always") == 0;
    CHECK(info.thp_advised == thp_on);
    CHECK(info.page_size == PAGE);
    if (thp_on) CHECK(rp__is_aligned((uintptr_t)rp_map_ptr(m), two_mib));
    memset(rp_map_ptr(m), 3, 2 * two_mib);
    fprintf(stderr, "    THP (%s): %zu bytes of the map in huge pages\n", si.thp_mode, area_at(rp_map_ptr(m)).anon_huge);
    rp_map_destroy(m);
    t.huge = RP_MAP_HUGE_REQUIRE;
    st = rp_map_create(&t, &m);
    CHECK(thp_on ? st == RP_OK : st == RP_ERR_UNSUPPORTED);
    rp_map_destroy(m);
}

/* The success path of explicit huge pages, which needs a reserved pool: with
 * RAMPART_TEST_HUGETLB_RESERVE=1, as root, reserve one more 2 MiB page for the test and give it
 * back after (opt-in, since the pool is machine-wide). */
#define HUGETLB_2M_POOL "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
static long read_pool(void) {
    FILE *f = fopen(HUGETLB_2M_POOL, "r");
    long n = -1;
    if (f && fscanf(f, "%ld", &n) != 1) n = -1;
    if (f) fclose(f);
    return n;
}
static bool write_pool(long n) {
    FILE *f = fopen(HUGETLB_2M_POOL, "w");
    bool ok = f && fprintf(f, "%ld\n", n) > 0;
    if (f) ok = fclose(f) == 0 && ok;
    return ok;
}

static int hugetlb_success_path(void) {
    const char *opt = getenv("RAMPART_TEST_HUGETLB_RESERVE");
    if (opt == NULL || strcmp(opt, "1") != 0)
        rp_test_skip("set RAMPART_TEST_HUGETLB_RESERVE=1 (root) to reserve one 2 MiB huge page for this test");
    long before = read_pool();
    if (geteuid() != 0 || before < 0) rp_test_skip("needs root and " HUGETLB_2M_POOL);
    if (!write_pool(before + 1) || read_pool() != before + 1) {
        write_pool(before);
        rp_test_skip("the kernel would not grow the 2 MiB pool (no contiguous memory)");
    }
    const size_t two_mib = (size_t)2 << 20;
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = 3 * PAGE, .prot = RP_MAP_PROT_READ_WRITE, .huge = RP_MAP_HUGE_REQUIRE,
                          .huge_size = two_mib, .flags = RP_MAP_LOCKED};
    rp_map_t *m = NULL;
    rp_status_t st = rp_map_create(&o, &m);
    if (st != RP_OK) fprintf(stderr, "    %s\n", rp_last_error()->message);
    CHECK(st == RP_OK);
    if (st == RP_OK) {
        rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
        CHECK(rp_map_info(m, &info) == RP_OK && info.page_size == two_mib);
        CHECK(rp__is_aligned((uintptr_t)rp_map_ptr(m), two_mib));
        memset(rp_map_ptr(m), 0x6b, 3 * PAGE);
        rp_area_t a = area_at(rp_map_ptr(m));
        CHECK(a.flags & RP_AREA_HUGETLB);
        CHECK(a.hugetlb == two_mib && a.page_size == two_mib);
        CHECK(rp_map_unlock(m, PAGE, 1) == RP_OK); /* widened to the whole huge page */
        CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 0);
        rp_map_t *tail = NULL;
        CHECK(rp_map_split(m, PAGE, &tail) == RP_ERR_INVALID); /* not a huge page boundary */
        rp_map_destroy(m);
    }
    CHECK(write_pool(before));
    return rp_test_exit();
}

/* ---- stacks and fixed addresses ---------------------------------------------------------------- */

static void test_stack_guard(void) {
    rp_map_t *m = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_STACK);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    memset(p, 0x33, 4 * PAGE); /* the whole stack is usable */
    fault_at = p - 1;          /* one byte below: the guard */
    CHECK(rp_test_dies_with(do_write, SIGSEGV));
    CHECK(rp_test_dies_with(do_read, SIGSEGV));
    rp_area_t a = {RP_SIZED(rp_area_t)};
    if (rp_area_of(p - 1, &a) == RP_OK)
        CHECK((a.flags & RP_AREA_NOACCESS) || a.guard_pages >= 1 || a.start == (uintptr_t)p - PAGE);
    CHECK(rp_map_resize(m, 8 * PAGE) == RP_ERR_INVALID);
    CHECK(rp_map_decommit(m, 0, PAGE) == RP_OK); /* the stack itself may drop pages */
    rp_map_destroy(m);
}

/* Lightweight guard pages (MADV_GUARD_INSTALL) are counted from the page tables, per area:
 * rp_area_of and rp_map_areas report them (smaps has no line for them on 6.18). */
typedef struct guard_sum {
    size_t pages, unknown;
} guard_sum_t;
static bool sum_guards(const rp_area_t *a, void *ctx) {
    guard_sum_t *g = ctx;
    /* Without PAGEMAP_SCAN's PAGE_IS_GUARD (older kernels) areas over 4 GiB are not read. */
    if (a->guard_pages == SIZE_MAX) g->unknown += a->end - a->start <= ((uint64_t)4 << 30);
    else g->pages += a->guard_pages;
    return true;
}
/* test_map_guard_pages: skips (77) on a kernel without MADV_GUARD_INSTALL (before Linux 6.13). */
static void test_guard_pages_reported(void) {
    if (!rp__os_guard_lightweight_available())
        rp_test_skip("this kernel has no MADV_GUARD_INSTALL (Linux 6.13+): no lightweight guards to count");
    rp_map_t *m = anon(8 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    memset(p, 1, 8 * PAGE);
    CHECK(area_at(p).guard_pages == 0);
    bool light = false;
    REQUIRE(rp__os_guard_install(p + 2 * PAGE, 3 * PAGE, &light) == 0);
    CHECK(light);
    rp_area_t a = area_at(p);
    CHECK(a.guard_pages == 3);
    CHECK(!(a.flags & RP_AREA_NOACCESS)); /* one area, still read-write around the guards */
    guard_sum_t g = {0, 0};
    CHECK(rp_map_areas(m, sum_guards, &g) == RP_OK);
    CHECK(g.pages == 3 && g.unknown == 0);
    CHECK(rp__os_guard_remove(p + 2 * PAGE, 3 * PAGE, light) == 0);
    CHECK(area_at(p).guard_pages == 0);
    rp_map_destroy(m);
    /* A stack map's guard below the stack. */
    rp_map_t *st = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_STACK);
    REQUIRE(st != NULL);
    CHECK(area_at((unsigned char *)rp_map_ptr(st) - 1).guard_pages == 1);
    rp_map_destroy(st);
    /* The whole process: every area counted (this process may read its own page map). */
    g = (guard_sum_t){0, 0};
    CHECK(rp_areas_foreach(0, sum_guards, &g) == RP_OK);
    CHECK(g.unknown == 0);
}

static void test_fixed_address(void) {
    /* Find a free spot: map, note the address, unmap. */
    rp_map_t *probe = anon(4 * PAGE, RP_MAP_PROT_NONE, 0);
    REQUIRE(probe != NULL);
    void *where = rp_map_ptr(probe);
    rp_map_destroy(probe);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = 4 * PAGE, .prot = RP_MAP_PROT_READ_WRITE, .address = where};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    CHECK(rp_map_ptr(m) == where);
    memset(where, 0x77, 4 * PAGE);
    /* Never replaces: the same address again, or overlapping it, is RP_ERR_EXISTS. */
    rp_map_t *again = NULL;
    CHECK(rp_map_create(&o, &again) == RP_ERR_EXISTS && again == NULL);
    o.address = (unsigned char *)where + 2 * PAGE;
    CHECK(rp_map_create(&o, &again) == RP_ERR_EXISTS);
    CHECK(strstr(rp_last_error()->message, "already mapped") != NULL);
    CHECK(((unsigned char *)where)[3 * PAGE] == 0x77); /* the first map is intact */
    rp_map_destroy(m);

    /* A file offset inside a page: the map still starts exactly at the address (it was the
     * address plus the offset's distance from its page), which must match the offset's place in
     * its page. */
    char path[64];
    temp_file(path, 2 * PAGE);
    rp_map_options_t f = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .offset = 100, .length = PAGE,
                          .prot = RP_MAP_PROT_READ, .address = (unsigned char *)where + 100};
    REQUIRE(rp_map_create(&f, &m) == RP_OK);
    CHECK(rp_map_ptr(m) == f.address);
    CHECK(((unsigned char *)rp_map_ptr(m))[0] == pattern(100));
    rp_map_destroy(m);
    f.address = where;
    expect_invalid(&f, RP_ERR_INVALID, "page-aligned plus the file offset");
    /* A stack map: the guard page sits below the address, the stack at it. */
    rp_map_options_t s = {RP_SIZED(rp_map_options_t), .length = 2 * PAGE, .prot = RP_MAP_PROT_READ_WRITE, .flags = RP_MAP_STACK,
                          .address = (unsigned char *)where + PAGE};
    REQUIRE(rp_map_create(&s, &m) == RP_OK);
    CHECK(rp_map_ptr(m) == s.address);
    rp_map_destroy(m);
    unlink(path);
}

/* ---- reserve and commit ------------------------------------------------------------------------ */

/* The VmFlags line of the smaps area that holds addr, into out ("" when not found). */
static void vmflags_at(const void *addr, char *out, size_t size) {
    out[0] = '\0';
    FILE *f = fopen("/proc/self/smaps", "re");
    if (f == NULL) return;
    char line[512];
    bool in = false;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long long lo, hi;
        if (sscanf(line, "%llx-%llx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
        } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
            size_t n = strlen(line + 8);
            if (n >= size) n = size - 1;
            memcpy(out, line + 8, n);
            out[n] = '\0';
            break;
        }
    }
    fclose(f);
}
static bool has_vmflag(const char *flags, const char *code) {
    for (const char *p = flags; (p = strstr(p, code)) != NULL; p += 2)
        if ((p == flags || p[-1] == ' ') && (p[2] == ' ' || p[2] == '\n' || p[2] == '\0')) return true;
    return false;
}

/* Commit charges commit: the committed range of a reserve map is accounted (VmFlags "ac") and
 * not exempt (no "nr", MAP_NORESERVE), so under a strict commit policy the charge is refused at
 * commit rather than the first touch failing. Recommit after a decommit too. Its own CTest entry,
 * test_map_commit_accounted: skips (77) where smaps has no VmFlags. */
static void test_commit_accounted(void) {
    char flags[256];
    static int probe; /* any mapped address: are there VmFlags at all? */
    vmflags_at(&probe, flags, sizeof flags);
    if (flags[0] == '\0') rp_test_skip("no VmFlags in /proc/self/smaps: cannot tell what is charged");
    rp_map_t *m = anon(16 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    vmflags_at(p, flags, sizeof flags);
    CHECK(!has_vmflag(flags, "ac")); /* reserved: nothing charged */
    CHECK(rp_map_commit(m, 4 * PAGE, 4 * PAGE) == RP_OK);
    vmflags_at(p + 4 * PAGE, flags, sizeof flags);
    fprintf(stderr, "    committed range VmFlags:%s", flags);
    CHECK(!has_vmflag(flags, "nr"));
    CHECK(has_vmflag(flags, "ac"));
    vmflags_at(p + 12 * PAGE, flags, sizeof flags);
    CHECK(!has_vmflag(flags, "ac")); /* still reserved: not charged */
    CHECK(rp_map_decommit(m, 4 * PAGE, 2 * PAGE) == RP_OK);
    vmflags_at(p + 4 * PAGE, flags, sizeof flags);
    CHECK(!has_vmflag(flags, "ac")); /* decommitted: the charge is gone */
    CHECK(rp_map_commit(m, 4 * PAGE, 2 * PAGE) == RP_OK);
    vmflags_at(p + 4 * PAGE, flags, sizeof flags);
    CHECK(!has_vmflag(flags, "nr") && has_vmflag(flags, "ac"));
    /* Growth of a reserve map is reserved, not charged, and commits charged. */
    if (rp_map_resize(m, 32 * PAGE) == RP_OK) {
        p = rp_map_ptr(m);
        CHECK(rp_map_commit(m, 24 * PAGE, PAGE) == RP_OK);
        vmflags_at(p + 24 * PAGE, flags, sizeof flags);
        CHECK(!has_vmflag(flags, "nr") && has_vmflag(flags, "ac"));
    }
    rp_map_destroy(m);
}

static void test_reserve_commit(void) {
    rp_map_t *m = anon(16 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE | RP_MAP_NODUMP);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    fault_at = p + 3 * PAGE;
    CHECK(rp_test_dies_with(do_read, SIGSEGV)); /* reserved: no access yet */
    CHECK(area_at(p).flags & RP_AREA_NOACCESS);
    CHECK(rp_map_commit(m, 2 * PAGE + 5, 2 * PAGE) == RP_OK); /* widened to pages 2..4 */
    memset(p + 2 * PAGE, 0x99, 3 * PAGE);
    rp_area_t a = area_at(p + 2 * PAGE);
    CHECK(a.flags & RP_AREA_WRITE);
    CHECK(a.flags & RP_AREA_DONTDUMP);
    CHECK(a.start == (uintptr_t)p + 2 * PAGE && a.end == (uintptr_t)p + 5 * PAGE);
    /* Protection applies to committed pages only; the rest stays reserved. */
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ) == RP_OK);
    CHECK(!(area_at(p + 2 * PAGE).flags & RP_AREA_WRITE));
    CHECK(area_at(p + 8 * PAGE).flags & RP_AREA_NOACCESS);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE) == RP_OK);
    /* Decommit drops the contents; a recommit reads zeros. */
    CHECK(rp_map_decommit(m, 3 * PAGE, PAGE) == RP_OK);
    fault_at = p + 3 * PAGE;
    CHECK(rp_test_dies_with(do_read, SIGSEGV));
    CHECK(area_at(p + 3 * PAGE).flags & RP_AREA_DONTDUMP); /* advice put back */
    CHECK(rp_map_commit(m, 3 * PAGE, PAGE) == RP_OK);
    CHECK(p[3 * PAGE] == 0 && p[4 * PAGE - 1] == 0);
    CHECK(p[2 * PAGE] == 0x99 && p[4 * PAGE] == 0x99);
    /* Bad ranges. */
    CHECK(rp_map_decommit(m, PAGE + 1, PAGE) == RP_ERR_INVALID);
    CHECK(rp_map_decommit(m, 0, PAGE + 1) == RP_ERR_INVALID);
    CHECK(rp_map_commit(m, 16 * PAGE, 1) == RP_ERR_BOUNDS);
    CHECK(rp_map_decommit(m, 15 * PAGE, 2 * PAGE) == RP_ERR_BOUNDS);
    CHECK(rp_map_commit(m, 0, 0) == RP_OK);
    CHECK(rp_map_commit(NULL, 0, 1) == RP_ERR_INVALID);
    /* Locks on committed ranges; decommit releases the kernel's lock but keeps the count, and a
     * recommit locks again. A lock on reserved pages takes effect at commit. */
    if (privileged()) {
        CHECK(rp_map_lock(m, 2 * PAGE, 3 * PAGE) == RP_OK);
        CHECK(locked_in(p, 16 * PAGE) == 3 * PAGE);
        CHECK(rp_map_decommit(m, 2 * PAGE, 3 * PAGE) == RP_OK);
        CHECK(locked_in(p, 16 * PAGE) == 0);
        rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
        CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 3);
        CHECK(rp_map_commit(m, 2 * PAGE, 3 * PAGE) == RP_OK);
        CHECK(locked_in(p, 16 * PAGE) == 3 * PAGE);
        CHECK(rp_map_lock(m, 10 * PAGE, 2 * PAGE) == RP_OK); /* reserved: counted only */
        CHECK(locked_in(p, 16 * PAGE) == 3 * PAGE);
        CHECK(rp_map_commit(m, 10 * PAGE, 2 * PAGE) == RP_OK);
        CHECK(locked_in(p, 16 * PAGE) == 5 * PAGE);
        CHECK(rp_map_unlock_all(m) == RP_OK);
        CHECK(locked_in(p, 16 * PAGE) == 0);
    }
    rp_map_destroy(m);
    /* A locked reserve map: every page it commits is locked. */
    if (privileged()) {
        m = anon(8 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE | RP_MAP_LOCKED);
        REQUIRE(m != NULL);
        p = rp_map_ptr(m);
        CHECK(locked_in(p, 8 * PAGE) == 0);
        CHECK(rp_map_commit(m, PAGE, 2 * PAGE) == RP_OK);
        CHECK(locked_in(p, 8 * PAGE) == 2 * PAGE);
        CHECK(area_at(p + PAGE).locked == 2 * PAGE);
        rp_map_destroy(m);
        /* A no-access map with a lock gets it when it gains access. */
        m = anon(4 * PAGE, RP_MAP_PROT_NONE, RP_MAP_LOCKED);
        REQUIRE(m != NULL);
        CHECK(rp_map_protect(m, RP_MAP_PROT_READ) == RP_OK);
        /* By the area's lock flag: read-only anonymous pages are the shared zero page, which
         * newer kernels leave out of smaps Rss and Locked. */
        CHECK(locked_in(rp_map_ptr(m), 4 * PAGE) == 4 * PAGE);
        CHECK(rp_map_protect(m, RP_MAP_PROT_NONE) == RP_OK);
        CHECK(rp_map_unlock_all(m) == RP_OK);
        CHECK(locked_in(rp_map_ptr(m), 4 * PAGE) == 0);
        rp_map_destroy(m);
    }
    /* Commit and decommit are for private anonymous memory. */
    char path[64];
    temp_file(path, PAGE);
    rp_map_t *f = file_map(path, PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(f != NULL);
    CHECK(rp_map_commit(f, 0, PAGE) == RP_ERR_INVALID);
    CHECK(rp_map_decommit(f, 0, PAGE) == RP_ERR_INVALID);
    rp_map_destroy(f);
    unlink(path);
}

/* ---- split, merge, resize ---------------------------------------------------------------------- */

static void test_split_merge(void) {
    rp_map_t *m = anon(8 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    for (size_t i = 0; i < 8 * PAGE; i++) p[i] = pattern(i);
    rp_map_t *tail = NULL;
    CHECK(rp_map_split(m, 3 * PAGE + 1, &tail) == RP_ERR_INVALID && tail == NULL);
    CHECK(rp_map_split(m, 0, &tail) == RP_ERR_BOUNDS);
    CHECK(rp_map_split(m, 8 * PAGE, &tail) == RP_ERR_BOUNDS);
    CHECK(rp_map_split(m, PAGE, NULL) == RP_ERR_INVALID);
    REQUIRE(rp_map_split(m, 3 * PAGE, &tail) == RP_OK);
    CHECK(rp_map_ptr(m) == p && rp_map_len(m) == 3 * PAGE);
    CHECK(rp_map_ptr(tail) == p + 3 * PAGE && rp_map_len(tail) == 5 * PAGE);
    CHECK(((unsigned char *)rp_map_ptr(tail))[0] == pattern(3 * PAGE));
    /* The parts are independent maps: each can change protection on its own. */
    CHECK(rp_map_protect(tail, RP_MAP_PROT_READ) == RP_OK);
    CHECK(area_at(p).flags & RP_AREA_WRITE);
    CHECK(!(area_at(p + 3 * PAGE).flags & RP_AREA_WRITE));
    CHECK(rp_map_lock(tail, 5 * PAGE, 1) == RP_ERR_BOUNDS);
    /* Different kinds do not merge; the same kind does. */
    CHECK(rp_map_merge(m, tail) == RP_ERR_INVALID);
    CHECK(rp_map_merge(tail, m) == RP_ERR_INVALID); /* wrong order */
    CHECK(rp_map_merge(m, m) == RP_ERR_INVALID);
    CHECK(rp_map_protect(tail, RP_MAP_PROT_READ_WRITE) == RP_OK);
    if (privileged()) CHECK(rp_map_lock(tail, 0, PAGE) == RP_OK);
    REQUIRE(rp_map_merge(m, tail) == RP_OK);
    CHECK(rp_map_ptr(m) == p && rp_map_len(m) == 8 * PAGE);
    bool same = true;
    for (size_t i = 0; i < 8 * PAGE; i++) same &= p[i] == pattern(i);
    CHECK(same);
    if (privileged()) {
        /* The lock taken through the tail is now page 3 of the merged map. */
        rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
        CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 1);
        CHECK(area_at(p + 3 * PAGE).flags & RP_AREA_LOCKED);
        CHECK(rp_map_unlock_all(m) == RP_OK);
        CHECK(locked_in(p, 8 * PAGE) == 0);
    }
    rp_map_destroy(m);

    /* Maps that are not neighbours do not merge. */
    rp_map_t *a = anon(PAGE, RP_MAP_PROT_READ_WRITE, 0), *b = anon(PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(a && b);
    if ((unsigned char *)rp_map_ptr(a) + PAGE != rp_map_ptr(b)) CHECK(rp_map_merge(a, b) == RP_ERR_INVALID);
    rp_map_destroy(a);
    rp_map_destroy(b);

    /* File maps split and merge along the file. */
    char path[64];
    temp_file(path, 4 * PAGE);
    rp_map_t *f = file_map(path, 4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_SHARED);
    REQUIRE(f != NULL);
    REQUIRE(rp_map_split(f, 2 * PAGE, &tail) == RP_OK);
    rp_map_info_t ti = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(tail, &ti) == RP_OK && ti.offset == 2 * PAGE);
    ((unsigned char *)rp_map_ptr(tail))[0] = 0xfe;
    CHECK(rp_map_flush_all(tail, false) == RP_OK);
    CHECK(rp_map_merge(f, tail) == RP_OK);
    CHECK(rp_map_len(f) == 4 * PAGE);
    rp_map_destroy(f);
    int fd = open(path, O_RDONLY);
    unsigned char byte = 0;
    CHECK(pread(fd, &byte, 1, (off_t)(2 * PAGE)) == 1 && byte == 0xfe);
    close(fd);
    unlink(path);
}

/* Found by fuzz/fuzz_map.c: growing a plain map whose last pages were decommitted. The kernel
 * grows the last area with its flags, and a decommitted area has no access: the new pages, which
 * the map counts as committed, faulted on the first touch (SIGSEGV). They must be usable. */
static void test_grow_after_decommit(void) {
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_ANONYMOUS, .length = 2 * PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_MAY_MOVE};
    rp_map_t *m = NULL;
    CHECK(rp_map_create(&o, &m) == RP_OK);
    CHECK(rp_map_decommit(m, 0, 2 * PAGE) == RP_OK);
    CHECK(rp_map_resize(m, 8 * PAGE) == RP_OK);
    unsigned char *p = rp_map_ptr(m);
    unsigned char buf[16] = {1, 2, 3};
    CHECK(rp_map_write(m, 3 * PAGE, buf, sizeof buf) == RP_OK);
    CHECK(rp_map_read(m, 3 * PAGE, buf, sizeof buf) == RP_OK && buf[0] == 1 && buf[2] == 3);
    p[7 * PAGE] = 7; /* a plain store: faulted before the fix */
    CHECK(p[7 * PAGE] == 7 && p[2 * PAGE] == 0);
    /* The decommitted pages stay reserved. */
    CHECK(rp_map_read(m, 0, buf, 1) == RP_ERR_INVALID);
    rp_map_destroy(m);
}

/* Found by fuzz/fuzz_map.c: rp_map_commit on a locked read-only map leaves the committed range
 * an area of its own, and resize assumed areas split only where page states differ: growing
 * failed with EFAULT (one mremap cannot span areas), in place and when moving. */
static void test_grow_split_areas(void) {
    for (int move = 0; move < 2; move++) {
        /* Room for 9 pages (freed again), so growing in place has space. */
        rp_map_t *room = anon(9 * PAGE, RP_MAP_PROT_NONE, 0);
        REQUIRE(room != NULL);
        void *at = rp_map_ptr(room);
        rp_map_destroy(room);
        rp_map_options_t mo = {RP_SIZED(rp_map_options_t), .source = RP_MAP_ANONYMOUS, .length = 5 * PAGE, .prot = RP_MAP_PROT_READ,
                               .flags = RP_MAP_LOCKED | (move ? RP_MAP_MAY_MOVE : 0), .address = at};
        rp_map_t *m = NULL;
        REQUIRE(rp_map_create(&mo, &m) == RP_OK);
        CHECK(rp_map_commit(m, PAGE, 100) == RP_OK);
        rp_map_t *blocker = NULL;
        if (move) {
            /* Something right after the map: it must move to grow. */
            rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_ANONYMOUS, .length = PAGE, .prot = RP_MAP_PROT_READ,
                                  .address = (unsigned char *)rp_map_ptr(m) + 5 * PAGE};
            if (rp_map_create(&o, &blocker) != RP_OK) blocker = NULL;
        }
        rp_status_t st = rp_map_resize(m, 9 * PAGE);
        CHECK(st == RP_OK);
        if (st != RP_OK) fprintf(stderr, "    (%s)\n", rp_last_error()->message);
        const unsigned char *p = rp_map_ptr(m);
        CHECK(rp_map_len(m) == 9 * PAGE && p[8 * PAGE] == 0 && p[PAGE] == 0);
        rp_map_destroy(blocker);
        rp_map_destroy(m);
    }
}

/* A move that the kernel refuses (a growth past memory and swap, of a map it holds in several
 * areas) fails cleanly and leaves other threads' mappings alone. The kernel unmaps a fixed
 * destination before some of its refusals; the move used to move further pages into that hole,
 * and to give back its whole reservation, hole included, after another thread had mapped there. */
static bool refused_move(size_t huge) {
    rp_map_t *m = anon(8 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_MAY_MOVE);
    if (m == NULL) return false;
    unsigned char *p = rp_map_ptr(m);
    memset(p, 0x5a, 8 * PAGE);
    /* A decommitted page in the middle: three kernel areas, moved one by one. */
    bool clean = rp_map_decommit(m, 3 * PAGE, PAGE) == RP_OK && rp_map_resize(m, huge) != RP_OK &&
                 rp_map_ptr(m) == p && rp_map_len(m) == 8 * PAGE && p[0] == 0x5a && p[7 * PAGE] == 0x5a;
    rp_map_destroy(m);
    return clean;
}

static void test_refused_move_leaves_others(void) { hw_check_refusals(refused_move, 200); }

static void test_resize(void) {
    rp_map_t *m = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_MAY_MOVE);
    REQUIRE(m != NULL);
    memset(rp_map_ptr(m), 0x21, 4 * PAGE);
    CHECK(rp_map_resize(m, 64 * PAGE) == RP_OK);
    CHECK(rp_map_len(m) == 64 * PAGE);
    unsigned char *p = rp_map_ptr(m);
    CHECK(p[4 * PAGE - 1] == 0x21 && p[4 * PAGE] == 0 && p[64 * PAGE - 1] == 0);
    CHECK(rp_map_resize(m, 2 * PAGE + 3) == RP_OK);
    CHECK(rp_map_len(m) == 2 * PAGE + 3 && rp_map_ptr(m) == p);
    CHECK(rp_map_lock(m, 2 * PAGE + 3, 1) == RP_ERR_BOUNDS); /* the new length bounds ranges */
    CHECK(rp_map_resize(m, 0) == RP_ERR_INVALID);
    CHECK(rp_map_resize(NULL, PAGE) == RP_ERR_INVALID);
    rp_map_destroy(m);

    /* In place only: a neighbour in the way is RP_ERR_NOMEM with the hint. */
    rp_map_t *a = anon(2 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(a != NULL);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .address = (unsigned char *)rp_map_ptr(a) + 2 * PAGE};
    rp_map_t *block = NULL;
    if (rp_map_create(&o, &block) == RP_OK) {
        CHECK(rp_map_resize(a, 3 * PAGE) == RP_ERR_NOMEM);
        CHECK(strstr(rp_last_error()->message, "RP_MAP_MAY_MOVE") != NULL);
        CHECK(rp_map_len(a) == 2 * PAGE);
        rp_map_destroy(block);
        CHECK(rp_map_resize(a, 3 * PAGE) == RP_OK); /* room now */
    }
    rp_map_destroy(a);

    /* A locked map stays locked as it grows; a reserve map's new pages are reserved. */
    if (privileged()) {
        rp_map_t *l = anon(2 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_LOCKED | RP_MAP_MAY_MOVE);
        REQUIRE(l != NULL);
        CHECK(rp_map_resize(l, 6 * PAGE) == RP_OK);
        CHECK(locked_in(rp_map_ptr(l), 6 * PAGE) == 6 * PAGE);
        rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
        CHECK(rp_map_info(l, &info) == RP_OK && info.locked_pages == 6);
        CHECK(rp_map_unlock_all(l) == RP_OK);
        CHECK(locked_in(rp_map_ptr(l), 6 * PAGE) == 0);
        rp_map_destroy(l);
        /* Unlocked pages next to a locked one do not inherit the lock when the map grows. */
        rp_map_t *u = anon(2 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_MAY_MOVE);
        REQUIRE(u != NULL);
        CHECK(rp_map_lock(u, PAGE, PAGE) == RP_OK);
        CHECK(rp_map_resize(u, 4 * PAGE) == RP_OK);
        CHECK(locked_in(rp_map_ptr(u), 4 * PAGE) == PAGE);
        /* Nor is the growth faulted in by the lock it passed through (the kernel populates
         * what a locked area grows by): 256 MiB more, and the peak RSS barely moves. */
        long before = peak_rss_kib();
        CHECK(rp_map_lock(u, 3 * PAGE, PAGE) == RP_OK);
        CHECK(rp_map_resize(u, (size_t)256 << 20) == RP_OK);
        CHECK(peak_rss_kib() - before < (64 << 10));
        CHECK(locked_in(rp_map_ptr(u), (size_t)256 << 20) == 2 * PAGE);
        CHECK(area_at((unsigned char *)rp_map_ptr(u) + 3 * PAGE).locked == PAGE);
        rp_map_destroy(u);
    }
    rp_map_t *r = anon(2 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE | RP_MAP_MAY_MOVE);
    REQUIRE(r != NULL);
    CHECK(rp_map_commit(r, 0, 2 * PAGE) == RP_OK);
    CHECK(rp_map_resize(r, 4 * PAGE) == RP_OK);
    CHECK(area_at((unsigned char *)rp_map_ptr(r) + 3 * PAGE).flags & RP_AREA_NOACCESS);
    rp_map_destroy(r);

    /* File maps: within the file, or growing it with RP_MAP_GROW. */
    char path[64];
    temp_file(path, 2 * PAGE);
    rp_map_options_t f = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_SHARED | RP_MAP_MAY_MOVE};
    REQUIRE(rp_map_create(&f, &m) == RP_OK);
    CHECK(rp_map_resize(m, 2 * PAGE) == RP_OK);
    CHECK(((unsigned char *)rp_map_ptr(m))[PAGE + 1] == pattern(PAGE + 1));
    CHECK(rp_map_resize(m, 3 * PAGE) == RP_ERR_BOUNDS);
    CHECK(strstr(rp_last_error()->message, "RP_MAP_GROW") != NULL);
    rp_map_destroy(m);
    /* A length whose end in the file passes 2^64 (offset + length wraps to a small number that
     * looked like it was inside the file) is an overflow, not an OS error from mremap. */
    char far[64];
    temp_file(far, 8 * PAGE);
    rp_map_options_t w = f;
    w.path = far;
    w.offset = 4 * PAGE;
    REQUIRE(rp_map_create(&w, &m) == RP_OK);
    CHECK(rp_map_resize(m, SIZE_MAX - 2 * PAGE) == RP_ERR_NOMEM);
    CHECK(strstr(rp_last_error()->message, "overflow") != NULL);
    CHECK(rp_map_len(m) == PAGE);
    rp_map_destroy(m);
    unlink(far);
    f.flags |= RP_MAP_GROW;
    REQUIRE(rp_map_create(&f, &m) == RP_OK);
    CHECK(rp_map_resize(m, 3 * PAGE) == RP_OK);
    CHECK(file_size(path) == (off_t)(3 * PAGE));
    ((unsigned char *)rp_map_ptr(m))[3 * PAGE - 1] = 1;
    rp_map_destroy(m);
    /* A growth the mapping then refuses (the next page is taken and the map may not move) leaves
     * the file at its old size: before, the file stayed extended by the refused amount. */
    f.flags = RP_MAP_SHARED | RP_MAP_GROW;
    REQUIRE(rp_map_create(&f, &m) == RP_OK);
    unsigned char *next = (unsigned char *)rp_map_ptr(m) + PAGE;
    void *blocker = mmap(next, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(blocker == MAP_FAILED || blocker == next); /* taken already, or taken now */
    CHECK(rp_map_resize(m, 8 * PAGE) == RP_ERR_NOMEM);
    CHECK(strstr(rp_last_error()->message, "RP_MAP_MAY_MOVE") != NULL);
    CHECK(file_size(path) == (off_t)(3 * PAGE));
    CHECK(rp_map_len(m) == PAGE);
    if (blocker == next) munmap(blocker, PAGE);
    rp_map_destroy(m);
    unlink(path);
}

/* ---- memory areas ------------------------------------------------------------------------------ */

typedef struct area_count {
    size_t n, bytes;
    bool dontdump;
} area_count_t;
static bool count_area(const rp_area_t *a, void *ctx) {
    area_count_t *c = ctx;
    c->n++;
    c->bytes += a->end - a->start;
    c->dontdump |= (a->flags & RP_AREA_DONTDUMP) != 0;
    return true;
}

static void test_areas(void) {
    rp_map_t *m = anon(6 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_NODUMP);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE) == RP_OK);
    area_count_t c = {0, 0, false};
    CHECK(rp_map_areas(m, count_area, &c) == RP_OK);
    CHECK(c.n >= 1 && c.bytes >= 6 * PAGE && c.dontdump);
    rp_area_t a = area_at(p + PAGE);
    CHECK(a.start <= (uintptr_t)p + PAGE && a.end > (uintptr_t)p + PAGE);
    CHECK(a.page_size == PAGE && a.hugetlb == 0 && a.swapped == 0);
    CHECK(rp_map_areas(NULL, count_area, &c) == RP_ERR_INVALID);
    CHECK(rp_map_areas(m, NULL, NULL) == RP_ERR_INVALID);
    rp_map_destroy(m);
}

/* ---- the unprivileged re-run ------------------------------------------------------------------- */

/* REQUIRE for the re-run entry points, which return an exit status. */
#define REQUIRE_EXIT(cond)           \
    do {                             \
        if (!(cond)) {               \
            CHECK(cond);             \
            return rp_test_exit();   \
        }                            \
    } while (0)

/* As nobody with a 64 KiB memlock limit: small ranges lock, a 1 MiB range fails with the limit
 * named and the remedy attached, and the failure leaves every page as it was. */
static int unprivileged_small_limit(void) {
    CHECK(getuid() == 65534 && !privileged());
    seed_lock_unlock_operations();
    seed_lock_with_different_modes();
    seed_multiple_lock_regions();
    rp_map_t *m = anon(512 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE_EXIT(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    CHECK(rp_map_lock(m, 0, 4 * PAGE) == RP_OK);
    CHECK(rp_map_lock(m, 2 * PAGE, 2 * PAGE) == RP_OK); /* nested: no new kernel lock */
    CHECK(locked_in(p, 512 * PAGE) == 4 * PAGE);
    rp_status_t st = rp_map_lock(m, 0, 256 * PAGE);
    CHECK(st == RP_ERR_LIMIT);
    const rp_error_t *e = rp_last_error();
    CHECK(strstr(e->message, "64 KiB") != NULL);
    CHECK(e->remedy != NULL && strstr(e->remedy, "ulimit -l") != NULL);
    fprintf(stderr, "    lock failure: %s\n    remedy: %s\n", e->message, e->remedy ? e->remedy : "(none)");
    CHECK(locked_in(p, 512 * PAGE) == 4 * PAGE); /* as it was */
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 4);
    CHECK(rp_map_lock_all(m) == RP_ERR_LIMIT);
    CHECK(rp_map_unlock(m, 0, 4 * PAGE) == RP_OK);
    CHECK(area_at(p + 2 * PAGE).flags & RP_AREA_LOCKED);
    CHECK(rp_map_unlock_all(m) == RP_OK);
    CHECK(locked_in(p, 512 * PAGE) == 0);
    rp_map_destroy(m);
    /* A locked map larger than the limit is not created at all. */
    rp_map_t *big = anon(512 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_LOCKED);
    CHECK(big == NULL);
    CHECK(rp_last_error()->status == RP_ERR_LIMIT && rp_last_error()->remedy != NULL);
    /* A locked map that may not grow past the limit stays at its size. */
    rp_map_t *l = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_LOCKED | RP_MAP_MAY_MOVE);
    REQUIRE_EXIT(l != NULL);
    CHECK(rp_map_resize(l, 256 * PAGE) == RP_ERR_LIMIT);
    /* ... and says so like any lock failure: what it needed, the limits, the remedy. */
    e = rp_last_error();
    fprintf(stderr, "    grow failure: %s\n", e->message);
    CHECK(strstr(e->message, "growing a locked map from 16 KiB to 1 MiB") != NULL);
    CHECK(strstr(e->message, "1008 KiB") != NULL && strstr(e->message, "memlock limit soft 64 KiB") != NULL);
    CHECK(e->remedy != NULL && strstr(e->remedy, "ulimit -l") != NULL);
    CHECK(rp_map_len(l) == 4 * PAGE);
    CHECK(locked_in(rp_map_ptr(l), 4 * PAGE) == 4 * PAGE);
    rp_map_destroy(l);
    /* A no-access map with counted locks whose second run is over the limit: the transition
     * fails, and the first run (which the OS had locked by then) is not left locked under a map
     * that is no-access again. */
    rp_map_t *n = anon(64 * PAGE, RP_MAP_PROT_NONE, 0);
    REQUIRE_EXIT(n != NULL);
    CHECK(rp_map_lock(n, 0, 4 * PAGE) == RP_OK);          /* counted only: no access yet */
    CHECK(rp_map_lock(n, 8 * PAGE, 32 * PAGE) == RP_OK);  /* 128 KiB: over the 64 KiB limit */
    CHECK(rp_map_protect(n, RP_MAP_PROT_READ_WRITE) == RP_ERR_LIMIT);
    CHECK(locked_in(rp_map_ptr(n), 64 * PAGE) == 0);
    CHECK(area_at(rp_map_ptr(n)).flags & RP_AREA_NOACCESS);
    rp_map_info_t ni = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(n, &ni) == RP_OK && ni.prot == RP_MAP_PROT_NONE && ni.locked_pages == 36);
    CHECK(rp_map_unlock(n, 8 * PAGE, 32 * PAGE) == RP_OK);
    CHECK(rp_map_protect(n, RP_MAP_PROT_READ_WRITE) == RP_OK); /* within the limit now */
    CHECK(locked_in(rp_map_ptr(n), 64 * PAGE) == 4 * PAGE);
    rp_map_destroy(n);
    return rp_test_exit();
}

/* As nobody with no memlock allowance: the cause is "permission", with the capability named. */
static int unprivileged_no_limit(void) {
    rp_map_t *m = anon(PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE_EXIT(m != NULL);
    CHECK(rp_map_lock_all(m) == RP_ERR_PERMISSION);
    CHECK(rp_last_error()->remedy != NULL && strstr(rp_last_error()->remedy, "CAP_IPC_LOCK") != NULL);
    CHECK(rp_map_unlock_all(m) == RP_OK);
    rp_map_destroy(m);
    return rp_test_exit();
}

static void test_unprivileged(void) {
    CHECK(rp_test_unprivileged("65536:65536", "unprivileged-small-limit") == 0);
    CHECK(rp_test_unprivileged("0:0", "unprivileged-no-limit") == 0);
}

int main(int argc, char **argv) {
    PAGE = rp_page_size();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-small-limit")) return unprivileged_small_limit();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-no-limit")) return unprivileged_no_limit();
    if (argc > 1 && !strcmp(argv[1], "hugetlb")) return hugetlb_success_path();
    if (argc > 1 && !strcmp(argv[1], "guard_pages")) {
        RP_TEST(test_guard_pages_reported);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "commit_accounted")) {
        RP_TEST(test_commit_accounted);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "unprivileged")) {
        const char *why = rp_test_unprivileged_unavailable();
        if (why != NULL) rp_test_skip(why);
        RP_TEST(test_unprivileged);
        return rp_test_exit();
    }
    RP_TEST(test_anonymous);
    RP_TEST(test_bad_options);
    RP_TEST(test_fifo_refused);
    RP_TEST(test_file_by_path_and_fd);
    RP_TEST(test_file_offsets_and_sizes);
    RP_TEST(test_protections);
    RP_TEST(test_failed_transition_keeps_map);
    RP_TEST(test_jit);
    RP_TEST(test_flush);
    RP_TEST(seed_lock_unlock_operations);
    RP_TEST(seed_lock_with_different_modes);
    RP_TEST(seed_multiple_lock_regions);
    RP_TEST(test_nested_locks);
    RP_TEST(test_lock_truncated_file);
    RP_TEST(test_grow_locked_over_limit);
    RP_TEST(test_locked_nodump_populate);
    RP_TEST(test_wipe_on_fork);
    RP_TEST(test_wipe_only_resident);
    RP_TEST(test_huge_pages);
    RP_TEST(test_stack_guard);
    RP_TEST(test_fixed_address);
    RP_TEST(test_reserve_commit);
    RP_TEST(test_split_merge);
    RP_TEST(test_resize);
    RP_TEST(test_grow_split_areas);
    RP_TEST(test_refused_move_leaves_others);
    RP_TEST(test_areas);
    /* Last: under ThreadSanitizer, once a SIGBUS handler has been left by siglongjmp, a fork
     * child's raise(SIGUSR1) no longer kills it (test_wipe_on_fork would fail); plain and ASan
     * builds are unaffected. test_copy_chains_handler also needs a process whose SIGBUS
     * handler rampart has not installed yet. */
    RP_TEST(test_copy_chains_handler);
    RP_TEST(test_copy_truncated);
    RP_TEST(test_copy_threads);
    RP_TEST(test_grow_after_decommit); /* copies: after test_copy_chains_handler (see above) */
    return rp_test_exit();
}
