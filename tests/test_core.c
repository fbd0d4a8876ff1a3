/* SPDX-License-Identifier: MIT */
/* test_core.c — version, status names, last-error detail, remedies, byte formatting, wiping. */
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "rampart.h"
#include "testhelper.h"

static void test_version(void) {
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", RP_VERSION_MAJOR, RP_VERSION_MINOR, RP_VERSION_PATCH);
    CHECK(strcmp(rp_version(), expect) == 0);
    CHECK(rp_version_number() == RP_VERSION_NUMBER);
}

static void test_strerror_names_every_status(void) {
    for (int s = RP_OK; s <= RP_ERR_IO; s++) {
        const char *text = rp_strerror((rp_status_t)s);
        CHECK(text != NULL && strcmp(text, "unknown status") != 0);
    }
    CHECK(strcmp(rp_strerror((rp_status_t)999), "unknown status") == 0);
}

static void test_remedies(void) {
    const char *full = rp_remedy(RP_ERR_LIMIT, RP_REMEDY_FULL);
    REQUIRE(full != NULL);
    /* Every deployment route the issue names must be in the text. */
    const char *needles[] = {"ulimit -l", "limits.conf", "setcap cap_ipc_lock=+ep", "LimitMEMLOCK=infinity",
                             "AmbientCapabilities=CAP_IPC_LOCK", "--cap-add=IPC_LOCK", "memlock=-1:-1",
                             "cap_add", "IPC_LOCK", "next login", "restart"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++) CHECK(strstr(full, needles[i]) != NULL);
    CHECK(strstr(rp_remedy(RP_ERR_PERMISSION, RP_REMEDY_FULL), "CAP_IPC_LOCK") != NULL);
    CHECK(strstr(rp_remedy(RP_ERR_PERMISSION, RP_REMEDY_BRIEF), "setcap") != NULL);
    CHECK(rp_remedy(RP_ERR_LIMIT, RP_REMEDY_BRIEF) != NULL);
    CHECK(rp_remedy(RP_ERR_UNSUPPORTED, RP_REMEDY_BRIEF) != NULL);
    CHECK(rp_remedy(RP_OK, RP_REMEDY_FULL) == NULL);
    CHECK(rp_remedy(RP_ERR_BOUNDS, RP_REMEDY_BRIEF) == NULL);
}

static void test_format_bytes(void) {
    char b[32];
    CHECK(strcmp(rp_format_bytes(0, b, sizeof b), "0 B") == 0);
    CHECK(strcmp(rp_format_bytes(512, b, sizeof b), "512 B") == 0);
    CHECK(strcmp(rp_format_bytes(65536, b, sizeof b), "64 KiB") == 0);
    CHECK(strcmp(rp_format_bytes(1536, b, sizeof b), "1.5 KiB") == 0);
    CHECK(strcmp(rp_format_bytes((size_t)8 << 20, b, sizeof b), "8 MiB") == 0);
    CHECK(strcmp(rp_format_bytes(SIZE_MAX, b, sizeof b), "unlimited") == 0);
}

/* Reads through a volatile pointer so the check itself cannot be optimised away. */
static size_t count_nonzero(const void *p, size_t n) {
    const volatile unsigned char *b = p;
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += b[i] != 0;
    return c;
}

static void test_memzero(void) {
    unsigned char buf[333];
    memset(buf, 0x5A, sizeof buf);
    rp_memzero(buf + 1, sizeof buf - 2);
    CHECK(buf[0] == 0x5A && buf[sizeof buf - 1] == 0x5A);
    CHECK(count_nonzero(buf + 1, sizeof buf - 2) == 0);
    rp_memzero(NULL, 0); /* allowed: nothing to do */
}

static void test_last_error_is_per_thread_record(void) {
    const rp_error_t *e = rp_last_error();
    REQUIRE(e != NULL);
    CHECK(rp_last_error() == e);
    /* A failing call fills it: a NULL allocator is invalid. */
    CHECK(rp_pages_allocate_locked(NULL, 4096, NULL) == NULL);
    CHECK(e->status == RP_ERR_INVALID);
    CHECK(strlen(e->message) > 0);
}

#if !defined(_WIN32)
static void corrupt_with_default_handler(void) { rp__corrupt("double free", (void *)0x1234); }

static int handler_calls;
static void counting_handler(const char *what, const void *addr, void *ctx) {
    (void)ctx;
    if (strcmp(what, "canary damaged") == 0 && addr == (void *)0x42) handler_calls++;
    /* Tell the parent, through descriptor 3, that the handler ran before the abort. */
    if (handler_calls == 1) write(3, "H", 1);
}
static void corrupt_with_custom_handler(void) {
    rp_set_corruption_handler(counting_handler, NULL);
    rp__corrupt("canary damaged", (void *)0x42);
}

static void test_corruption_aborts(void) {
    CHECK(rp_test_dies_with(corrupt_with_default_handler, SIGABRT));
    /* The custom handler runs, and the process still aborts after it returns. */
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    int saved = dup(3);
    dup2(fds[1], 3);
    CHECK(rp_test_dies_with(corrupt_with_custom_handler, SIGABRT));
    if (saved >= 0) dup2(saved, 3), close(saved);
    else close(3);
    close(fds[1]);
    char c = 0;
    CHECK(read(fds[0], &c, 1) == 1 && c == 'H');
    close(fds[0]);
}
#endif

int main(void) {
    RP_TEST(test_version);
    RP_TEST(test_strerror_names_every_status);
    RP_TEST(test_remedies);
    RP_TEST(test_format_bytes);
    RP_TEST(test_memzero);
    RP_TEST(test_last_error_is_per_thread_record);
#if !defined(_WIN32)
    RP_TEST(test_corruption_aborts);
#endif
    return rp_test_exit();
}
