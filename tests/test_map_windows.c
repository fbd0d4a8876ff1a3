/* SPDX-License-Identifier: MIT */
/* test_map_windows.c — the map layer on Windows (run under wine in CI): anonymous and file maps
 * by path and descriptor (sections and views), protections and the JIT flip with
 * FlushInstructionCache, flush (FlushViewOfFile + FlushFileBuffers), range locks with
 * VirtualLock (unlocking never-locked pages succeeds although the OS says ERROR_NOT_LOCKED),
 * reserve/commit, huge pages without the privilege (try falls back, require fails), fixed
 * addresses, directories and pipes refused clearly, a failed create removing the file it made,
 * and the operations Windows views cannot do (split, merge, resize) saying so.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static size_t PAGE;

static rp_map_t *anon(size_t len, rp_map_prot_t prot, unsigned flags) {
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = len, .prot = prot, .flags = flags};
    rp_map_t *m = NULL;
    if (rp_map_create(&o, &m) != RP_OK) fprintf(stderr, "    rp_map_create: %s\n", rp_last_error()->message);
    return m;
}

static rp_area_t area_at(const void *p) {
    rp_area_t a = {RP_SIZED(rp_area_t)};
    if (rp_area_of(p, &a) != RP_OK) fprintf(stderr, "    rp_area_of(%p): %s\n", p, rp_last_error()->message);
    return a;
}

/* A temporary file of bytes bytes of a known pattern; path holds MAX_PATH characters. */
static void temp_path(char *path, size_t bytes) {
    char dir[MAX_PATH];
    GetTempPathA(sizeof dir, dir);
    GetTempFileNameA(dir, "rpm", 0, path);
    FILE *f = fopen(path, "wb");
    for (size_t i = 0; f && i < bytes; i++) fputc((int)(unsigned char)(i * 7 + 3), f);
    if (f) fclose(f);
}

static void test_anonymous_and_protect(void) {
    rp_map_t *m = anon(3 * PAGE, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    memset(p, 0x42, 3 * PAGE);
    CHECK(area_at(p).flags & RP_AREA_WRITE);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ) == RP_OK);
    CHECK(!(area_at(p).flags & RP_AREA_WRITE));
    CHECK(p[PAGE] == 0x42);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE_EXEC) == RP_ERR_INVALID);
    CHECK(rp_map_protect(m, RP_MAP_PROT_NONE) == RP_OK);
    CHECK(area_at(p).flags & RP_AREA_NOACCESS);
    rp_map_destroy(m);
    rp_map_options_t bad = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE_EXEC};
    CHECK(rp_map_create(&bad, &m) == RP_ERR_INVALID && m == NULL);
}

static void test_jit(void) {
    rp_map_t *m = anon(PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_JIT);
    REQUIRE(m != NULL);
    static const unsigned char code[] = {0xb8, 0x2a, 0x00, 0x00, 0x00, 0xc3}; /* mov eax, 42; ret */
    memcpy(rp_map_ptr(m), code, sizeof code);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_EXEC) == RP_OK);
    int (*fn)(void);
    void *ptr = rp_map_ptr(m);
    memcpy(&fn, &ptr, sizeof fn);
    CHECK(fn() == 42);
    CHECK(rp_map_protect(m, RP_MAP_PROT_READ_WRITE_EXEC) == RP_OK);
    ((unsigned char *)ptr)[1] = 7;
    CHECK(fn() == 7);
    rp_map_destroy(m);
}

static void test_file_maps_and_flush(void) {
    char path[MAX_PATH];
    temp_path(path, 2 * PAGE + 10);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .prot = RP_MAP_PROT_READ};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    CHECK(rp_map_len(m) == 2 * PAGE + 10);
    CHECK(((unsigned char *)rp_map_ptr(m))[PAGE + 1] == (unsigned char)((PAGE + 1) * 7 + 3));
    rp_map_destroy(m);

    int fd = _open(path, _O_RDWR | _O_BINARY);
    REQUIRE(fd >= 0);
    rp_map_options_t s = {RP_SIZED(rp_map_options_t), .source = RP_MAP_FD, .fd = fd, .offset = 5, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_SHARED};
    REQUIRE(rp_map_create(&s, &m) == RP_OK);
    _close(fd);
    unsigned char *w = rp_map_ptr(m);
    CHECK(w[0] == (unsigned char)(5 * 7 + 3));
    w[0] = 0xee;
    /* The guarded copies are plain copies here (a mapped file cannot shrink); checks the same. */
    unsigned char rb[2] = {0};
    CHECK(rp_map_write(m, 1, "\x77", 1) == RP_OK && rp_map_read(m, 0, rb, 2) == RP_OK && rb[0] == 0xee && rb[1] == 0x77);
    CHECK(rp_map_read(m, PAGE, rb, 1) == RP_ERR_BOUNDS);
    CHECK(rp_map_flush(m, 0, 1, true) == RP_OK);
    CHECK(rp_map_flush_all(m, false) == RP_OK);
    CHECK(rp_map_flush(m, PAGE, 1, false) == RP_ERR_BOUNDS);
    rp_map_destroy(m);
    FILE *f = fopen(path, "rb");
    unsigned char b[6] = {0};
    CHECK(f && fread(b, 1, 6, f) == 6 && b[5] == 0xee);
    if (f) fclose(f);

    /* Private copy-on-write: the file keeps its bytes. */
    rp_map_options_t c = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE};
    REQUIRE(rp_map_create(&c, &m) == RP_OK);
    ((unsigned char *)rp_map_ptr(m))[5] = 0x11;
    rp_map_destroy(m);
    f = fopen(path, "rb");
    CHECK(f && fread(b, 1, 6, f) == 6 && b[5] == 0xee);
    if (f) fclose(f);

    /* Out of range and empty files. */
    rp_map_options_t r = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .offset = 3 * PAGE, .prot = RP_MAP_PROT_READ};
    CHECK(rp_map_create(&r, &m) == RP_ERR_BOUNDS);
    f = fopen(path, "wb");
    if (f) fclose(f);
    r.offset = 0;
    CHECK(rp_map_create(&r, &m) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "empty") != NULL);
    rp_map_options_t g = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_SHARED | RP_MAP_GROW};
    REQUIRE(rp_map_create(&g, &m) == RP_OK);
    ((unsigned char *)rp_map_ptr(m))[PAGE - 1] = 1;
    /* Windows views cannot be split, merged or resized: said, not attempted. */
    rp_map_t *tail = NULL;
    CHECK(rp_map_split(m, PAGE / 2, &tail) == RP_ERR_UNSUPPORTED && tail == NULL);
    CHECK(rp_map_resize(m, 2 * PAGE) == RP_ERR_UNSUPPORTED);
    rp_map_destroy(m);
    DeleteFileA(path);
}

/* Seed 001's operations on Windows: lock, unlock, unlock of never-locked pages (ERROR_NOT_LOCKED
 * from the OS, success from the map), bounds, nesting. */
static void test_range_locks(void) {
    rp_map_t *m = anon(16384, RP_MAP_PROT_READ_WRITE, 0);
    REQUIRE(m != NULL);
    CHECK(rp_map_unlock(m, 0, 4096) == RP_OK); /* never locked */
    CHECK(rp_map_lock(m, 0, 0) == RP_OK);
    CHECK(rp_map_lock(m, 16384, 1) == RP_ERR_BOUNDS);
    CHECK(strstr(rp_last_error()->message, "16384-byte map") != NULL);
    CHECK(rp_map_lock(m, 0, 4096) == RP_OK);
    CHECK(rp_map_lock(m, 4096, 4096) == RP_OK);
    CHECK(rp_map_lock(m, 0, 8192) == RP_OK); /* nested */
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 8192 / PAGE);
    CHECK(rp_map_unlock(m, 0, 8192) == RP_OK);
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 8192 / PAGE);
    CHECK(rp_map_unlock(m, 4096, 4096) == RP_OK);
    CHECK(rp_map_unlock(m, 0, 4096) == RP_OK);
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 0);
    CHECK(rp_map_lock_all(m) == RP_OK);
    CHECK(rp_map_unlock_all(m) == RP_OK);
    CHECK(rp_map_unlock_all(m) == RP_OK);
    rp_map_destroy(m);
    m = anon(4 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_LOCKED);
    REQUIRE(m != NULL);
    CHECK(rp_map_info(m, &info) == RP_OK && info.locked_pages == 4);
    rp_map_destroy(m);
}

static void test_reserve_commit(void) {
    rp_map_t *m = anon(16 * PAGE, RP_MAP_PROT_READ_WRITE, RP_MAP_RESERVE);
    REQUIRE(m != NULL);
    unsigned char *p = rp_map_ptr(m);
    CHECK(area_at(p).flags & RP_AREA_NOACCESS);
    CHECK(rp_map_commit(m, 2 * PAGE, 2 * PAGE) == RP_OK);
    memset(p + 2 * PAGE, 9, 2 * PAGE);
    CHECK(area_at(p + 2 * PAGE).flags & RP_AREA_WRITE);
    CHECK(rp_map_decommit(m, 2 * PAGE, PAGE) == RP_OK);
    CHECK(rp_map_commit(m, 2 * PAGE, PAGE) == RP_OK);
    CHECK(p[2 * PAGE] == 0 && p[3 * PAGE] == 9);
    CHECK(rp_map_decommit(m, 1, PAGE) == RP_ERR_INVALID);
    rp_map_destroy(m);
}

static void test_huge_and_fixed(void) {
    /* Large pages need SeLockMemoryPrivilege, which a test process does not hold: try falls back
     * to base pages and says so, require fails. */
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE, .huge = RP_MAP_HUGE_TRY, .huge_size = (size_t)2 << 20};
    rp_map_t *m = NULL;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    rp_map_info_t info = {RP_SIZED(rp_map_info_t)};
    CHECK(rp_map_info(m, &info) == RP_OK && info.page_size == PAGE);
    rp_map_destroy(m);
    o.huge = RP_MAP_HUGE_REQUIRE;
    CHECK(rp_map_create(&o, &m) != RP_OK && m == NULL);
    fprintf(stderr, "    require: %s\n", rp_last_error()->message);
    o.huge = RP_MAP_HUGE_OFF;
    o.huge_size = 0;
    REQUIRE(rp_map_create(&o, &m) == RP_OK);
    rp_map_options_t f = {RP_SIZED(rp_map_options_t), .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE, .address = rp_map_ptr(m)};
    rp_map_t *again = NULL;
    CHECK(rp_map_create(&f, &again) == RP_ERR_EXISTS);
    rp_map_destroy(m);
    CHECK(rp_map_create(&f, &again) == RP_OK);
    CHECK(rp_map_ptr(again) == f.address);
    rp_map_destroy(again);
}

/* What is not a disk file is refused with a clear error, never mapped or crashed on: a directory
 * by path (CreateFile will not open it for mapping), a pipe by descriptor (no size; it was
 * called "empty"), a closed descriptor. */
static void test_not_regular_files(void) {
    char dir[MAX_PATH];
    GetTempPathA(sizeof dir, dir);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = dir, .length = PAGE, .prot = RP_MAP_PROT_READ};
    rp_map_t *m = (rp_map_t *)1;
    CHECK(rp_map_create(&o, &m) != RP_OK && m == NULL);
    CHECK(strstr(rp_last_error()->message, dir) != NULL);
    fprintf(stderr, "    directory: %s\n", rp_last_error()->message);
    int fds[2];
    REQUIRE(_pipe(fds, 4096, _O_BINARY) == 0);
    rp_map_options_t p = {RP_SIZED(rp_map_options_t), .source = RP_MAP_FD, .fd = fds[0], .length = PAGE, .prot = RP_MAP_PROT_READ};
    CHECK(rp_map_create(&p, &m) != RP_OK && m == NULL);
    CHECK(strstr(rp_last_error()->message, "only regular files") != NULL);
    fprintf(stderr, "    pipe: %s\n", rp_last_error()->message);
    _close(fds[0]);
    _close(fds[1]);
}

/* RP_MAP_CREATE that fails removes the file it made (OPEN_ALWAYS tells whether it was there),
 * and never one that was there before. */
static void test_failed_create_removes_file(void) {
    char path[MAX_PATH];
    temp_path(path, 0);
    DeleteFileA(path);
    rp_map_options_t o = {RP_SIZED(rp_map_options_t), .source = RP_MAP_PATH, .path = path, .length = PAGE, .prot = RP_MAP_PROT_READ_WRITE,
                          .flags = RP_MAP_SHARED | RP_MAP_CREATE};
    rp_map_t *m = NULL;
    CHECK(rp_map_create(&o, &m) == RP_ERR_INVALID && m == NULL); /* made empty, and no GROW */
    CHECK(GetFileAttributesA(path) == INVALID_FILE_ATTRIBUTES);
    temp_path(path, 10);
    CHECK(rp_map_create(&o, &m) == RP_ERR_BOUNDS);
    CHECK(GetFileAttributesA(path) != INVALID_FILE_ATTRIBUTES);
    DeleteFileA(path);
}

int main(void) {
    PAGE = rp_page_size();
    RP_TEST(test_not_regular_files);
    RP_TEST(test_failed_create_removes_file);
    RP_TEST(test_anonymous_and_protect);
    RP_TEST(test_jit);
    RP_TEST(test_file_maps_and_flush);
    RP_TEST(test_range_locks);
    RP_TEST(test_reserve_commit);
    RP_TEST(test_huge_and_fixed);
    return rp_test_exit();
}
