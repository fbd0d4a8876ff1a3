/* SPDX-License-Identifier: MIT */
/* test_env.c — RAMPART_* variables (core/env.c): every grammar accepts what it documents and
 * rejects the rest with a message naming the variable, the value and the grammar; the default
 * pool fails with RP_ERR_INVALID on a malformed RAMPART_POOL_LOCK; the heap stops the process
 * (exit 125, the message on stderr) on a malformed tuning variable instead of ignoring it.
 *
 * "test_env secure" (root only): a set-user-ID copy of this program, run by user nobody with a
 * memlock limit of 0 and RAMPART_POOL_LOCK=silent, must ignore the variable (AT_SECURE), so its
 * secret allocation fails as required; the same copy without the set-user-ID bit honours it and
 * gets unlocked memory: proof that the difference is the secure read, not the environment.
 */
#include <grp.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>

#include "internal.h"
#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

static const char *msg(void) { return rp_last_error()->message; }

static void test_bytes(void) {
    static const struct { const char *v; size_t want; } good[] = {
        {"0", 0}, {"4096", 4096}, {"512k", 512 << 10}, {"64M", (size_t)64 << 20}, {"1GiB", (size_t)1 << 30},
        {"2kB", 2048}, {"7B", 7}, {" 64m\n", (size_t)64 << 20}, {"3KiB", 3072}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("RAMPART_TEST_BYTES", good[i].v, 1);
        size_t out = 1;
        CHECK(rp__env_bytes("RAMPART_TEST_BYTES", false, &out) == RP_OK);
        if (out != good[i].want) fprintf(stderr, "    '%s' gave %zu, not %zu\n", good[i].v, out, good[i].want);
        CHECK(out == good[i].want);
    }
    static const char *const bad[] = {"64X", "-1", "k", "64 M", "64ki", "64iB", "1.5M", "0x10", "64MM",
                                      "18446744073709551616", "99999999999T"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("RAMPART_TEST_BYTES", bad[i], 1);
        size_t out = 1;
        CHECK(rp__env_bytes("RAMPART_TEST_BYTES", false, &out) == RP_ERR_INVALID);
        CHECK(out == 1);
        CHECK(strstr(msg(), "RAMPART_TEST_BYTES=") != NULL);
        if (strstr(msg(), "too large") == NULL) {
            CHECK(strstr(msg(), bad[i]) != NULL);
            CHECK(strstr(msg(), "expected a byte count") != NULL);
        }
    }
    /* Unset and empty: not set, *out untouched. */
    unsetenv("RAMPART_TEST_BYTES");
    size_t out = 5;
    CHECK(rp__env_bytes("RAMPART_TEST_BYTES", false, &out) == RP_OK && out == 5);
    setenv("RAMPART_TEST_BYTES", " ", 1);
    CHECK(rp__env_bytes("RAMPART_TEST_BYTES", false, &out) == RP_OK && out == 5);
    /* A control character in a value is not sent to the terminal. */
    setenv("RAMPART_TEST_BYTES", "6\0334", 1);
    CHECK(rp__env_bytes("RAMPART_TEST_BYTES", false, &out) == RP_ERR_INVALID);
    CHECK(strchr(msg(), '\033') == NULL && strstr(msg(), "6?4") != NULL);
    unsetenv("RAMPART_TEST_BYTES");
}

static void test_count_and_word(void) {
    size_t out = 0;
    setenv("RAMPART_TEST_COUNT", "500", 1);
    CHECK(rp__env_count("RAMPART_TEST_COUNT", false, true, &out) == RP_OK && out == 500);
    setenv("RAMPART_TEST_COUNT", "-1", 1);
    CHECK(rp__env_count("RAMPART_TEST_COUNT", false, true, &out) == RP_OK && out == SIZE_MAX);
    out = 3;
    CHECK(rp__env_count("RAMPART_TEST_COUNT", false, false, &out) == RP_ERR_INVALID && out == 3);
    static const char *const bad[] = {"-2", "1.5", "500ms", "abc", "--1", "5 0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("RAMPART_TEST_COUNT", bad[i], 1);
        CHECK(rp__env_count("RAMPART_TEST_COUNT", false, true, &out) == RP_ERR_INVALID);
        CHECK(strstr(msg(), "RAMPART_TEST_COUNT=") != NULL && strstr(msg(), "or -1") != NULL);
    }
    unsetenv("RAMPART_TEST_COUNT");

    static const char *const words[] = {"required", "report", "silent"};
    setenv("RAMPART_TEST_WORD", "silent\n", 1);
    CHECK(rp__env_word("RAMPART_TEST_WORD", false, words, 3, &out) == RP_OK && out == 2);
    setenv("RAMPART_TEST_WORD", "Silent", 1);
    CHECK(rp__env_word("RAMPART_TEST_WORD", false, words, 3, &out) == RP_ERR_INVALID);
    CHECK(strstr(msg(), "RAMPART_TEST_WORD=\"Silent\": expected one of: required report silent") != NULL);
    unsetenv("RAMPART_TEST_WORD");
}

/* Outside a secure-execution process the secure read is getenv. */
static void test_secure_read_plain(void) {
    setenv("RAMPART_TEST_SECURE", "x", 1);
    REQUIRE(getauxval(AT_SECURE) == 0);
    CHECK(rp__os_getenv_secure("RAMPART_TEST_SECURE") != NULL);
    CHECK(rp__env_get("RAMPART_TEST_SECURE", true) != NULL);
    unsetenv("RAMPART_TEST_SECURE");
    CHECK(rp__os_getenv_secure("RAMPART_TEST_SECURE") == NULL);
}

static void pool_bogus_child(void) {
    setenv("RAMPART_POOL_LOCK", "bogus", 1);
    void *p = rp_secret_alloc(32);
    if (p != NULL) _exit(10);
    if (rp_last_error()->status != RP_ERR_INVALID) _exit(11);
    if (strstr(msg(), "RAMPART_POOL_LOCK=\"bogus\": expected one of: required report silent") == NULL) _exit(12);
    _exit(0);
}

static void pool_silent_child(void) {
    setenv("RAMPART_POOL_LOCK", "silent", 1);
    void *p = rp_secret_alloc(32);
    if (p == NULL) _exit(10);
    rp_secret_free(p);
    _exit(0);
}

/* The default pool is created once per process: each case in its own fork child. */
static void test_pool_variable(void) {
    CHECK(rp_test_exits_cleanly(pool_bogus_child));
    CHECK(rp_test_exits_cleanly(pool_silent_child));
}

/* Run rp_malloc in a fork child with name=value; its exit status and what it wrote to stderr. */
static int heap_child(const char *name, const char *value, char *err, size_t size) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        setenv(name, value, 1);
        void *p = rp_malloc(16);
        rp_free(p);
        _exit(p != NULL ? 0 : 3);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < size && (n = read(fds[0], err + used, size - 1 - used)) > 0) used += (size_t)n;
    err[used] = '\0';
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

/* The heap reads its options at the first allocation: the parent never allocates from it, so each
 * fork child starts uninitialised. */
static void test_heap_variables(void) {
    static const struct { const char *name, *value, *expect; } bad[] = {
        {"RAMPART_CACHE_MAX", "64X", "RAMPART_CACHE_MAX=\"64X\": expected a byte count"},
        {"RAMPART_PURGE_DELAY", "soon", "RAMPART_PURGE_DELAY=\"soon\": expected a whole number (digits only), or -1"},
        {"RAMPART_HEAP_WIPE", "yes", "RAMPART_HEAP_WIPE=\"yes\": expected one of: 0 1"}};
    char err[1024];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = heap_child(bad[i].name, bad[i].value, err, sizeof err);
        if (rc != 125 || strstr(err, bad[i].expect) == NULL)
            fprintf(stderr, "    %s=%s: exit %d, stderr: %s\n", bad[i].name, bad[i].value, rc, err);
        CHECK(rc == 125);
        CHECK(strstr(err, bad[i].expect) != NULL);
    }
    static const struct { const char *name, *value; } good[] = {
        {"RAMPART_CACHE_MAX", "64M"}, {"RAMPART_PURGE_DELAY", "-1"}, {"RAMPART_HEAP_WIPE", "1"}, {"RAMPART_HEAP_WIPE", ""}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int rc = heap_child(good[i].name, good[i].value, err, sizeof err);
        if (rc != 0) fprintf(stderr, "    %s=%s: exit %d, stderr: %s\n", good[i].name, good[i].value, rc, err);
        CHECK(rc == 0);
    }
}

/* ---- secure execution ---------------------------------------------------------------------------- */

/* In the copy run by nobody: 0 when the secret allocation succeeded, 1 when it failed as
 * required, 2 when the variable was read in a secure process, 3 when AT_SECURE does not match. */
static int secure_child(bool expect_secure) {
    if ((getauxval(AT_SECURE) != 0) != expect_secure) return 3;
    if (expect_secure && (getenv("RAMPART_POOL_LOCK") == NULL || rp__env_get("RAMPART_POOL_LOCK", true) != NULL))
        return 2;
    void *p = rp_secret_alloc(32);
    if (p == NULL) {
        fprintf(stderr, "    (secret allocation failed: %s)\n", msg());
        return 1;
    }
    rp_secret_free(p);
    return 0;
}

/* Run path as nobody (memlock limit 0) with RAMPART_POOL_LOCK=silent; its exit status or -1. */
static int run_as_nobody(const char *path, const char *mode) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit none = {0, 0};
        if (setrlimit(RLIMIT_MEMLOCK, &none) != 0 || setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
            setuid(65534) != 0)
            _exit(126);
        setenv("RAMPART_POOL_LOCK", "silent", 1);
        execl(path, path, mode, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

static int test_secure(void) {
    if (geteuid() != 0) rp_test_skip("needs root to make a set-user-ID copy of this program and run it as nobody");
    char exe[256];
    if (!rp_test_copy_self(exe, sizeof exe)) rp_test_skip("cannot copy this program to /tmp");
    /* Owned by daemon (uid 1), not root: the set-user-ID copy then has no capability that would
     * let it lock despite the limit of 0. chown clears the mode bits, so chmod comes after. */
    int plain = -1, setuid_rc = -1;
    if (chown(exe, 1, 1) == 0 && chmod(exe, 0755) == 0) plain = run_as_nobody(exe, "secure-child-plain");
    if (chmod(exe, 04755) == 0) setuid_rc = run_as_nobody(exe, "secure-child-setuid");
    unlink(exe);
    *strrchr(exe, '/') = '\0';
    rmdir(exe);
    fprintf(stderr, "  not set-user-ID: exit %d (0: RAMPART_POOL_LOCK=silent honoured, memory unlocked)\n", plain);
    fprintf(stderr, "  set-user-ID:     exit %d (1: the variable ignored, the lock required and refused)\n", setuid_rc);
    if (setuid_rc == 3) rp_test_skip("the set-user-ID copy did not run in secure mode (a nosuid /tmp?)");
    CHECK(plain == 0);
    CHECK(setuid_rc == 1);
    return rp_test_exit();
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "secure-child-plain") == 0) return secure_child(false);
    if (argc > 1 && strcmp(argv[1], "secure-child-setuid") == 0) return secure_child(true);
    if (argc > 1 && strcmp(argv[1], "secure") == 0) return test_secure();
    RP_TEST(test_bytes);
    RP_TEST(test_count_and_word);
    RP_TEST(test_secure_read_plain);
    RP_TEST(test_pool_variable);
    RP_TEST(test_heap_variables);
    return rp_test_exit();
}
