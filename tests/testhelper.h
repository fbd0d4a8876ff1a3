/* SPDX-License-Identifier: MIT */
/* testhelper.h — a tiny test harness shared by the CTest programs (no macros that rewrite main
 * or printf; each test file has its own main that calls RP_TEST for each case).
 *
 *   CHECK(cond)            record a failure with file:line and go on
 *   REQUIRE(cond)          record a failure and leave the current test case
 *   RP_TEST(fn)            run one case, print its name and result
 *   rp_test_exit()         0 when nothing failed, 1 otherwise
 *   rp_test_skip(why)      print why and exit 77 (CTest SKIP_RETURN_CODE)
 *   rp_test_unprivileged() re-run this binary as nobody with a chosen memlock limit
 *   rp_test_dies_with()    run a function in a fork child; did it die of that signal?
 */
#ifndef RP_TESTHELPER_H
#define RP_TESTHELPER_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static int rp_test_failures;
static bool rp_test_case_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "    FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
            rp_test_failures++;                                                      \
            rp_test_case_failed = true;                                              \
        }                                                                            \
    } while (0)

/* CHECK, with the figures that explain a failure (printf arguments). */
#define CHECK_SAYING(cond, ...)                  \
    do {                                         \
        if (!(cond)) {                           \
            fprintf(stderr, "    " __VA_ARGS__); \
            fputc('\n', stderr);                 \
        }                                        \
        CHECK(cond);                             \
    } while (0)

/* A failed REQUIRE ends the test case: the function returns. */
#define REQUIRE(cond)        \
    do {                     \
        if (!(cond)) {       \
            CHECK(cond);     \
            return;          \
        }                    \
    } while (0)

#define RP_TEST(fn)                                                              \
    do {                                                                         \
        rp_test_case_failed = false;                                             \
        fprintf(stderr, "  %s ...\n", #fn);                                      \
        fn();                                                                    \
        fprintf(stderr, "  %s %s\n", #fn, rp_test_case_failed ? "FAILED" : "ok"); \
    } while (0)

static inline int rp_test_exit(void) {
    if (rp_test_failures) fprintf(stderr, "%d check(s) failed\n", rp_test_failures);
    return rp_test_failures ? 1 : 0;
}

static inline void rp_test_skip(const char *why) {
    fprintf(stderr, "SKIPPED: %s\n", why);
    exit(77);
}

#if !defined(_WIN32)
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Why unprivileged re-runs cannot happen here, or NULL when they can. */
static inline const char *rp_test_unprivileged_unavailable(void) {
    if (geteuid() != 0) return "needs root to switch to an unprivileged user (setpriv)";
    if (access("/usr/bin/setpriv", X_OK) != 0 && access("/bin/setpriv", X_OK) != 0)
        return "setpriv is missing (Debian package util-linux)";
    if (access("/usr/bin/prlimit", X_OK) != 0 && access("/bin/prlimit", X_OK) != 0)
        return "prlimit is missing (Debian package util-linux)";
    return NULL;
}

/* Copy this executable where user nobody can run it (the build tree may sit under /root). */
static inline bool rp_test_copy_self(char *out, size_t size) {
    char dir[] = "/tmp/rampart-test-XXXXXX";
    if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0) return false;
    snprintf(out, size, "%s/test", dir);
    int in = open("/proc/self/exe", O_RDONLY);
    int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    bool ok = in >= 0 && o >= 0;
    char buf[65536];
    ssize_t n;
    while (ok && (n = read(in, buf, sizeof buf)) > 0) ok = write(o, buf, (size_t)n) == n;
    if (in >= 0) close(in);
    if (o >= 0) close(o);
    return ok;
}

/* Run this binary again as user nobody (uid 65534, no capabilities) with RLIMIT_MEMLOCK set to
 * memlock ("SOFT:HARD" in bytes), passing mode as argv[1]. Returns the child's exit status, or
 * -1 when it could not be run. */
static inline int rp_test_unprivileged(const char *memlock, const char *mode) {
    char exe[256], limit[64];
    if (!rp_test_copy_self(exe, sizeof exe)) return -1;
    snprintf(limit, sizeof limit, "--memlock=%s", memlock);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("prlimit", "prlimit", limit, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "--inh-caps=-all", "--", exe, mode, (char *)NULL);
        _exit(127);
    }
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    unlink(exe);
    *strrchr(exe, '/') = '\0';
    rmdir(exe);
    if (pid < 0 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#  define RP_TEST_SANITIZED 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#    define RP_TEST_SANITIZED 1
#  endif
#endif

/* Run fn in a fork child with its stderr silenced (death tests print their own verdicts); the
 * child's wait status, or -1 when the fork or the wait failed. */
static inline int rp_test_run_child(void (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 2);
        fn();
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

/* Run fn in a fork child and say whether it died of signal sig. Sanitizers catch SIGSEGV, print
 * a report and exit non-zero instead, so under a sanitizer a non-zero exit counts for SIGSEGV. */
static inline bool rp_test_dies_with(void (*fn)(void), int sig) {
    int status = rp_test_run_child(fn);
    if (status == -1) return false;
    if (WIFSIGNALED(status)) return WTERMSIG(status) == sig;
#ifdef RP_TEST_SANITIZED
    if (sig == SIGSEGV || sig == SIGBUS) return WEXITSTATUS(status) != 0;
#endif
    return false;
}

/* Run fn in a fork child; true when it returned and the child exited 0 (no abort, no fault). */
static inline bool rp_test_exits_cleanly(void (*fn)(void)) {
    int status = rp_test_run_child(fn);
    if (status == -1) return false;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fprintf(stderr, "    (child status 0x%x)\n", status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
#endif

#endif /* RP_TESTHELPER_H */
