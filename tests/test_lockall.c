/* SPDX-License-Identifier: MIT */
/* test_lockall.c — process-wide locking (issue 3) on POSIX: the RAMPART_LOCK grammar, invalid
 * configurations, locking as root with VmLck growing, future locking of a later allocation,
 * lock-on-fault (VmLck charged at once, smaps Locked: as pages are touched), the preflight, the
 * query of any process, the one-line rendering; and, re-run as user nobody under small memlock
 * limits: permission denied, resource limit with the right numbers, best effort that keeps
 * running, and the headroom warning of future locking.
 *
 * Every case that locks runs in a fork child, so MCL_FUTURE never leaks into the next case.
 * Under ASan/TSan the runtime maps terabytes of shadow memory (VmSize): locking it all now would
 * fault it all in, so there the cases lock current memory on fault (MCL_ONFAULT), which the
 * kernel accepts (it only charges VmLck) and which still shows every effect checked here.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "os/os.h"
#include "rampart.h"
#include "testhelper.h"

#ifdef RP_TEST_SANITIZED
static const bool SANITIZED = true;
#else
static const bool SANITIZED = false;
#endif

static size_t PAGE;

/* Run body in a fork child; true when it exited 0 (no failed check). */
/* body's wait status in a fork child (-1 when the fork or the wait failed); a body that cannot
 * run says why and exits 77. */
static int forked_status(void (*body)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        rp_test_failures = 0;
        body();
        fflush(NULL);
        _exit(rp_test_failures ? 1 : 0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    if (WIFSIGNALED(status)) fprintf(stderr, "    child died of signal %d\n", WTERMSIG(status));
    return status;
}
static bool forked(void (*body)(void)) {
    int status = forked_status(body);
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static size_t vm_locked(void) {
    size_t v = SIZE_MAX;
    rp_lockall_locked_bytes(0, &v, NULL);
    return v;
}

static size_t resident_locked(void) {
    size_t r = SIZE_MAX;
    rp_lockall_locked_bytes(0, NULL, &r);
    return r;
}

static rp_area_t area_at(const void *p) {
    rp_area_t a = {RP_SIZED(rp_area_t)};
    if (rp_area_of(p, &a) != RP_OK) fprintf(stderr, "    rp_area_of(%p): %s\n", p, rp_last_error()->message);
    return a;
}

/* n pages in a region of their own: a no-access page on each side keeps the kernel from merging
 * them with a neighbour of equal flags, so the region's smaps figures are theirs alone. */
static void *map_pages(size_t n) {
    unsigned char *p = NULL;
    if (rp__os_alloc((n + 2) * PAGE, (void **)&p) != 0) return NULL;
    if (rp__os_protect(p, PAGE, RP__OS_PROT_NONE) != 0 || rp__os_protect(p + (n + 1) * PAGE, PAGE, RP__OS_PROT_NONE) != 0)
        return NULL;
    return p + PAGE;
}

static void touch(void *p, size_t pages) {
    volatile unsigned char *b = p;
    for (size_t i = 0; i < pages; i++) b[i * PAGE] = 1;
}

/* ---- configuration ------------------------------------------------------------------------------- */

static void test_config_parse(void) {
    rp_lockall_options_t c = rp_lockall_options_default();
    CHECK(c.current && c.future && !c.onfault && c.required);
    CHECK(c.struct_size == sizeof c);
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    CHECK(rp_lockall_options_parse(NULL, &c) == RP_OK && c.struct_size == sizeof c && c.current && c.future && !c.onfault && c.required);
    CHECK(rp_lockall_options_parse("  ", &c) == RP_OK && c.current && c.future && c.required);
    CHECK(rp_lockall_options_parse("current,future,onfault,best-effort", &c) == RP_OK);
    CHECK(c.current && c.future && c.onfault && !c.required);
    CHECK(rp_lockall_options_parse(" future , required ", &c) == RP_OK && !c.current && c.future && c.required);
    CHECK(rp_lockall_options_parse("onfault", &c) == RP_OK && c.current && c.future && c.onfault && c.required);
    CHECK(rp_lockall_options_parse("current", &c) == RP_OK && c.current && !c.future);

    rp_lockall_options_t before = c;
    CHECK(rp_lockall_options_parse("current,bogus", &c) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "unknown word 'bogus'") != NULL);
    CHECK(memcmp(&c, &before, sizeof c) == 0); /* untouched on failure */
    CHECK(rp_lockall_options_parse("current,", &c) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "empty word") != NULL);
    CHECK(rp_lockall_options_parse(",future", &c) == RP_ERR_INVALID);
    CHECK(rp_lockall_options_parse("required,best-effort", &c) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "both required and best-effort") != NULL);
    CHECK(rp_lockall_options_parse("Current", &c) == RP_ERR_INVALID);
    /* A trailing newline (an env file, $(cat ...) kept by a YAML block) is space, not a word. */
    CHECK(rp_lockall_options_parse("current,best-effort\n", &c) == RP_OK && c.current && !c.future && !c.required);
    CHECK(rp_lockall_options_parse("\r\n", &c) == RP_OK && c.current && c.future && c.required);
    /* Control characters never reach the terminal through the message. */
    CHECK(rp_lockall_options_parse("cur\033[2Jrent", &c) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "unknown word 'cur?[2Jrent'") != NULL);
    CHECK(strchr(rp_last_error()->message, '\033') == NULL);
    /* Duplicates are harmless. */
    CHECK(rp_lockall_options_parse("future,future,best-effort,best-effort", &c) == RP_OK && !c.current && c.future &&
          !c.required);
    CHECK(rp_lockall_options_parse("current", NULL) == RP_ERR_INVALID);
    /* A growing struct: parse needs the caller's struct_size, and writes nothing without it. */
    memset(&c, 0, sizeof c);
    CHECK(rp_lockall_options_parse("current", &c) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "struct_size 0") != NULL);
    CHECK(!c.current && c.struct_size == 0);
}

/* rp_lockall_options_t is a growing struct (rampart/common.h): a struct_size of 0 (a caller that
 * forgot RP_SIZED), garbage, or a newer struct asking for a field this library lacks is refused
 * before anything is locked; a newer struct whose extra bytes are zero is accepted. */
static void test_options_struct_size(void) {
    struct { rp_lockall_options_t o; unsigned char later[16]; } big;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    rp_lockall_options_t zero = {.current = true, .required = true};
    CHECK(rp_lockall(&zero, &st) == RP_ERR_INVALID);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_INVALID && strstr(st.message, "struct_size 0") != NULL);
    CHECK(rp_lockall_preflight(0, &zero, 0, &pf) == RP_ERR_INVALID && pf.verdict == RP_ERR_INVALID);
    CHECK(rp_lockall_preflight(0, &zero, 4096, &pf) == RP_ERR_INVALID);
    rp_lockall_options_t garbage = {.struct_size = 1u << 20, .current = true, .required = true};
    CHECK(rp_lockall(&garbage, NULL) == RP_ERR_INVALID && strstr(rp_last_error()->message, "not a size") != NULL);
    memset(&big, 0, sizeof big);
    big.o = rp_lockall_options_default();
    big.o.struct_size = sizeof big;
    big.later[3] = 1;
    CHECK(rp_lockall_preflight(0, &big.o, 0, &pf) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "cannot honour") != NULL);
    big.later[3] = 0;
    CHECK(rp_lockall_preflight(0, &big.o, 4096, &pf) != RP_ERR_INVALID);
    /* parse writes back only up to the caller's struct_size, and keeps it. */
    memset(big.later, 0xAA, sizeof big.later);
    CHECK(rp_lockall_options_parse("current", &big.o) == RP_OK && big.o.current && !big.o.future);
    CHECK(big.o.struct_size == sizeof big && big.later[0] == 0xAA && big.later[15] == 0xAA);
#ifdef __linux__
    CHECK(rp_lockall_remote(getppid(), &zero, 0, &st) == RP_ERR_INVALID && strstr(st.message, "struct_size") != NULL);
    char *argv[] = {"true", NULL};
    int code = 0;
    CHECK(rp_lockall_run_traced(argv, &zero, 0, &st, &code) == RP_ERR_INVALID && code == RP_LOCKALL_EXIT_FAILURE);
#endif
}

static void body_invalid_config(void) {
    size_t before = vm_locked();
    rp_lockall_options_t onfault_only = {RP_SIZED(rp_lockall_options_t), .onfault = true, .required = true};
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(rp_lockall(&onfault_only, &st) == RP_ERR_INVALID);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_INVALID && st.os_error == 0);
    CHECK(strstr(st.message, "onfault needs current or future") != NULL);
    CHECK(strstr(rp_last_error()->message, "onfault") != NULL);
    /* Rejected with best effort too: a configuration that asks for nothing is a bug. */
    rp_lockall_options_t nothing = {RP_SIZED(rp_lockall_options_t), .required = false};
    CHECK(rp_lockall(&nothing, NULL) == RP_ERR_INVALID);
    CHECK(strstr(rp_last_error()->message, "neither current nor future") != NULL);
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    CHECK(rp_lockall_preflight(0, &onfault_only, 0, &pf) == RP_ERR_INVALID && pf.verdict == RP_ERR_INVALID);
    CHECK(vm_locked() == before);
    CHECK(!rp_lockall_is_locked() || before > 0);
}

static void test_invalid_config(void) { CHECK(forked(body_invalid_config)); }

/* ---- locking as root ------------------------------------------------------------------------------- */

/* These cases lock the whole test process (and, under a sanitizer, its shadow memory on fault):
 * they run as "test_lockall privileged", a CTest test of its own that skips without
 * CAP_IPC_LOCK; the unprivileged re-runs cover the limited cases. */

static void body_lock_current_future(void) {
    size_t before = vm_locked();
    CHECK(before == 0);
    CHECK(!rp_lockall_is_locked());
    rp_lockall_options_t cfg = rp_lockall_options_default();
    cfg.onfault = SANITIZED;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    REQUIRE(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_LOCKED && st.current_locked && st.future_locked);
    CHECK(st.unlimited && !st.low_headroom && st.headroom_bytes == SIZE_MAX);
    CHECK(st.locked_bytes > before);
    CHECK(st.needed_bytes > 0);
    size_t after = vm_locked();
    CHECK(after > before && after >= st.locked_bytes / 2);
    CHECK(rp_lockall_is_locked());
    char line[RP_LOCKALL_LINE_MAX];
    rp_lockall_status_format(&st, line, sizeof line);
    CHECK(strncmp(line, SANITIZED ? "locked: current+future+onfault, " : "locked: current+future, ", 24) == 0);

    /* VmLck grows with what the process maps from now on. */
    const size_t n = 64;
    void *p = map_pages(n);
    REQUIRE(p != NULL);
    CHECK(vm_locked() >= after + n * PAGE);
    CHECK(area_at(p).flags & RP_AREA_LOCKED);

    CHECK(rp_unlockall() == RP_OK);
    CHECK(vm_locked() == 0);
    CHECK(!(area_at(p).flags & RP_AREA_LOCKED));
    CHECK(!rp_lockall_is_locked());
}

static void test_lock_current_future(void) {
    CHECK(forked(body_lock_current_future));
}

/* Future locking alone leaves what is mapped now unlocked and locks what comes later. */
static void body_future_covers_later_allocation(void) {
    const size_t n = 64;
    void *earlier = map_pages(n);
    REQUIRE(earlier != NULL);
    touch(earlier, n);
    rp_lockall_options_t cfg = {RP_SIZED(rp_lockall_options_t), .future = true, .onfault = SANITIZED, .required = true};
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    REQUIRE(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_LOCKED && !st.current_locked && st.future_locked);
    CHECK(!(area_at(earlier).flags & RP_AREA_LOCKED));

    void *later = map_pages(n);
    REQUIRE(later != NULL);
    rp_area_t a = area_at(later);
    CHECK(a.flags & RP_AREA_LOCKED);
    if (!SANITIZED) CHECK(a.locked == n * PAGE); /* locked mappings are faulted in at once */
    touch(later, n);
    CHECK(area_at(later).locked == n * PAGE);
    if (!SANITIZED) {
        /* A heap block big enough to get its own mapping from malloc is locked too. */
        size_t big = 4u << 20;
        unsigned char *m = malloc(big);
        REQUIRE(m != NULL);
        CHECK(area_at(m).flags & RP_AREA_LOCKED);
        free(m);
    }
    /* Not locked as a whole: what was mapped before the call is not. */
    CHECK(!rp_lockall_is_locked());
    rp_lockall_process_t q = {RP_SIZED(rp_lockall_process_t)};
    CHECK(rp_lockall_query(0, &q) == RP_OK && q.verdict == RP_LOCKALL_PARTLY);
    CHECK(q.unlocked_area_bytes >= n * PAGE && q.locked_area_bytes >= n * PAGE);
}

static void test_future_covers_later_allocation(void) {
    CHECK(forked(body_future_covers_later_allocation));
}

/* Lock on fault: the kernel charges whole mappings to VmLck at once; smaps Locked: counts only
 * the pages touched since. */
static void body_onfault(void) {
    const size_t n = 64, touched = 16;
    void *earlier = map_pages(n); /* mapped before the call, never touched */
    REQUIRE(earlier != NULL);
    rp_lockall_options_t cfg = {RP_SIZED(rp_lockall_options_t), .current = true, .future = true, .onfault = true, .required = true};
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    REQUIRE(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_LOCKED);
    rp_area_t a = area_at(earlier);
    CHECK(a.flags & RP_AREA_LOCKED);
    CHECK(a.end - a.start == n * PAGE);
    CHECK(a.locked == 0);
    touch(earlier, touched);
    CHECK(area_at(earlier).locked == touched * PAGE);

    /* The process-wide smaps_rollup figure counts shared pages in proportion to the processes
     * that map them, so it moves as other processes come and go: the exact checks are per region. */
    size_t vm0 = vm_locked();
    void *later = map_pages(n);
    REQUIRE(later != NULL);
    size_t vm1 = vm_locked();
    CHECK(vm1 >= vm0 + (n + 2) * PAGE);            /* charged in full at mmap, guards too */
    CHECK(area_at(later).locked == 0);             /* but nothing of it is resident yet */
    touch(later, n);
    CHECK(area_at(later).locked == n * PAGE);
    /* VmLck and Locked: differ under on-fault: the untouched pages are charged, not resident. */
    CHECK(vm1 >= resident_locked() + (n - touched) * PAGE);
}

static void test_onfault(void) {
    CHECK(forked(body_onfault));
}

/* Some locked memory is not "locked": one 32-byte secret (a locked arena of the default pool)
 * makes VmLck > 0, and the process is still only partly locked. Its own CTest entry,
 * test_lockall_one_secret: skips (77) where no secret can be allocated (a memlock limit of 0). */
static void body_one_secret_is_not_locked(void) {
    CHECK(!rp_lockall_is_locked());
    void *secret = rp_secret_alloc(32);
    if (secret == NULL) {
        fprintf(stderr, "    no secret allocation here: %s\n", rp_last_error()->message);
        fflush(NULL);
        _exit(77);
    }
    CHECK(vm_locked() > 0);
    CHECK(!rp_lockall_is_locked());
    rp_lockall_process_t q = {RP_SIZED(rp_lockall_process_t)};
    REQUIRE(rp_lockall_query(0, &q) == RP_OK);
    CHECK(q.verdict == RP_LOCKALL_PARTLY);
    CHECK(q.locked_area_bytes > 0 && q.locked_area_bytes < q.unlocked_area_bytes);
    rp_secret_free(secret);
}

static void test_one_secret_is_not_locked(void) {
    int status = forked_status(body_one_secret_is_not_locked);
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 77)
        rp_test_skip("no secret allocation in the child (its message above says why)");
    CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The sum of the resident bytes of the areas flagged locked, read independently. */
static bool sum_locked_rss(const rp_area_t *a, void *ctx) {
    if (a->flags & RP_AREA_LOCKED) *(size_t *)ctx += a->resident;
    return true;
}

/* Locked as a whole, and "locked and resident" is the RAM of the locked areas (their Rss), not
 * the proportional smaps Locked:, which divides shared library pages among their processes. */
static void body_whole_and_resident(void) {
    rp_lockall_options_t cfg = rp_lockall_options_default();
    cfg.onfault = SANITIZED;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    REQUIRE(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(rp_lockall_is_locked());
    rp_lockall_process_t q = {RP_SIZED(rp_lockall_process_t)};
    REQUIRE(rp_lockall_query(0, &q) == RP_OK);
    size_t rss = 0;
    REQUIRE(rp_areas_foreach(0, sum_locked_rss, &rss) == RP_OK);
    CHECK(q.verdict == RP_LOCKALL_WHOLE && q.unlocked_area_bytes == 0 && q.unlocked_resident_bytes == 0);
    CHECK(q.unlockable_bytes > 0); /* [vdso] and [vvar] at least */
    /* The figures are read at different moments, and reading smaps allocates (a stdio buffer; a
     * sanitizer's quarantine): allow a few pages, or 1/32 of the whole, of difference. The
     * proportional figure is far below (shared libraries), so it cannot pass for the Rss. */
    size_t tolerance = 16 * PAGE > rss / 32 ? 16 * PAGE : rss / 32;
    fprintf(stderr, "    locked and resident %zu, Rss of locked areas %zu, proportional Locked: %zu, status %zu\n",
            q.resident_locked_bytes, rss, q.locked_pss_bytes, st.resident_locked_bytes);
    CHECK(q.resident_locked_bytes + tolerance >= rss && rss + tolerance >= q.resident_locked_bytes);
    /* rp_lockall's own figure is older: the process has grown since (a sanitizer's shadow most),
     * so it only has to be close; the proportional figure is below half of the Rss here. */
    CHECK(st.resident_locked_bytes != SIZE_MAX && st.resident_locked_bytes <= rss + tolerance &&
          st.resident_locked_bytes + rss / 4 >= rss);
    size_t mine = SIZE_MAX;
    CHECK(rp_lockall_locked_bytes(0, NULL, &mine) == RP_OK && mine + tolerance >= rss && rss + tolerance >= mine);
    CHECK(q.locked_pss_bytes <= q.resident_locked_bytes);

    /* Current locking alone: a mapping made afterwards is not locked, so neither is the process. */
    CHECK(rp_unlockall() == RP_OK);
    rp_lockall_options_t current = {RP_SIZED(rp_lockall_options_t), .current = true, .onfault = SANITIZED, .required = true};
    REQUIRE(rp_lockall(&current, &st) == RP_OK);
    CHECK(rp_lockall_is_locked());
    void *later = map_pages(4);
    REQUIRE(later != NULL);
    CHECK(!rp_lockall_is_locked());
}

static void test_whole_and_resident(void) {
    CHECK(forked(body_whole_and_resident));
}

/* ---- preflight, query, rendering ------------------------------------------------------------------- */

/* A size near SIZE_MAX rounds to pages without overflow, but no machine can hold it locked. */
static void test_preflight_huge(void) {
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    rp_status_t s = rp_lockall_preflight(0, NULL, SIZE_MAX - 8 * PAGE, &pf);
    fprintf(stderr, "    %s\n", pf.reason);
    CHECK(s == RP_ERR_NOMEM && pf.verdict == RP_ERR_NOMEM);
    CHECK(strstr(pf.reason, "would succeed") == NULL);
    CHECK(strstr(pf.reason, "more than this machine's memory") != NULL);
    CHECK(rp_lockall_preflight(0, NULL, (SIZE_MAX / 4) * 3, &pf) == RP_ERR_NOMEM);
}

static void test_preflight_locks_nothing(void) {
    size_t before = vm_locked();
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    rp_status_t s = rp_lockall_preflight(0, NULL, 0, &pf);
    CHECK(s == pf.verdict);
    CHECK(pf.mapped_bytes > 0 && pf.mapped_bytes != SIZE_MAX);
    CHECK(pf.needed_bytes == pf.mapped_bytes || pf.needed_bytes + (1u << 20) > pf.mapped_bytes);
    struct rlimit rl;
    getrlimit(RLIMIT_MEMLOCK, &rl);
    CHECK(pf.memlock_soft == (rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_cur));
#ifdef RP_TEST_SANITIZED
    /* The sanitizer's shadow memory (terabytes, writable) is what locking current memory would
     * fault in: more than any machine has, which the preflight says. */
    if (s == RP_ERR_NOMEM) {
        CHECK(strstr(pf.reason, "more than this machine's memory") != NULL);
        CHECK(vm_locked() == before);
        return;
    }
#endif
    if (rp__os_can_lock_unlimited()) {
        CHECK(s == RP_OK && pf.unlimited && pf.headroom_bytes == SIZE_MAX && !pf.low_headroom);
        CHECK(strstr(pf.reason, "would succeed") != NULL && strstr(pf.reason, "CAP_IPC_LOCK") != NULL);
        CHECK(rp_lockall_preflight(0, NULL, 1u << 30, &pf) == RP_OK);
    }
    CHECK(rp_lockall_preflight(0, NULL, SIZE_MAX, &pf) == RP_ERR_NOMEM); /* overflows when rounded */
    CHECK(rp_lockall_preflight(-1, NULL, 0, &pf) == RP_ERR_INVALID);
    CHECK(rp_lockall_preflight(0, NULL, 0, NULL) == RP_ERR_INVALID);
    CHECK(rp_lockall_preflight(0x3fffffff, NULL, 0, &pf) != RP_OK); /* no such process */
    CHECK(vm_locked() == before);
}

static void test_query(void) {
    rp_lockall_process_t p = {RP_SIZED(rp_lockall_process_t)};
    REQUIRE(rp_lockall_query(0, &p) == RP_OK);
    CHECK(p.pid == (int)getpid());
    CHECK(strcmp(p.name, "test_lockall") == 0 || strcmp(p.name, "test") == 0);
    CHECK(p.mapped_bytes != SIZE_MAX && p.mapped_bytes > 0 && p.resident_bytes > 0);
    CHECK(p.locked_bytes == vm_locked());
    CHECK(p.verdict == (p.locked_bytes == 0 ? RP_LOCKALL_NONE : RP_LOCKALL_PARTLY));
    struct rlimit rl;
    getrlimit(RLIMIT_MEMLOCK, &rl);
    CHECK(p.memlock_hard == (rl.rlim_max == RLIM_INFINITY ? SIZE_MAX : (size_t)rl.rlim_max));
    CHECK(p.cap_ipc_lock == (rp__os_can_lock_unlimited() ? 1 : 0));
    if (p.cap_ipc_lock == 1) CHECK(p.can_lock_more && p.lockable_bytes == SIZE_MAX);
    /* Another process, with limits of its own (lowering needs no privilege): they must come
     * from its /proc/PID/limits, not from ours. */
    int ready[2], done[2];
    REQUIRE(pipe(ready) == 0 && pipe(done) == 0);
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        close(done[1]); /* so the read below ends when the parent closes its end */
        struct rlimit mine = {1u << 20, 2u << 20};
        char c = setrlimit(RLIMIT_MEMLOCK, &mine) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1) _exit(1);
        (void)read(done[0], &c, 1); /* until the parent has looked */
        _exit(0);
    }
    REQUIRE(child > 0);
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'y');
    CHECK(rp_lockall_query(child, &p) == RP_OK);
    CHECK(p.pid == child && strcmp(p.name, "test_lockall") == 0);
    CHECK(p.memlock_soft == (1u << 20) && p.memlock_hard == (2u << 20));
    CHECK(p.mapped_bytes != SIZE_MAX && p.locked_bytes == 0);
    if (p.cap_ipc_lock == 0) CHECK(p.can_lock_more && p.lockable_bytes == (1u << 20));
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    CHECK(rp_lockall_preflight(child, NULL, 4u << 20, &pf) == (p.cap_ipc_lock == 1 ? RP_OK : RP_ERR_LIMIT));
    CHECK(pf.memlock_soft == (1u << 20));
    close(done[1]);
    waitpid(child, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    /* A zombie has no memory: the preflight must not promise that locking it would succeed. */
    fflush(NULL);
    pid_t zombie = fork();
    if (zombie == 0) _exit(0);
    REQUIRE(zombie > 0);
    for (int i = 0; i < 200; i++) { /* until it has exited (its status loses its memory lines) */
        if (rp_lockall_query(zombie, &p) == RP_OK && p.mapped_bytes == SIZE_MAX) break;
        usleep(5000);
    }
    CHECK(rp_lockall_query(zombie, &p) == RP_OK && p.mapped_bytes == SIZE_MAX);
    CHECK(rp_lockall_preflight(zombie, NULL, 0, &pf) == RP_ERR_INVALID);
    CHECK(strstr(pf.reason, "no user memory") != NULL);
    waitpid(zombie, NULL, 0);
    CHECK(rp_lockall_query(0x3fffffff, &p) != RP_OK);
    CHECK(strstr(rp_last_error()->message, "1073741823") != NULL);
    CHECK(rp_lockall_query(-5, &p) == RP_ERR_INVALID);
    CHECK(rp_lockall_query(0, NULL) == RP_ERR_INVALID);
    CHECK(rp_lockall_locked_bytes(-1, NULL, NULL) == RP_ERR_INVALID);
}

static void test_format(void) {
    char line[RP_LOCKALL_LINE_MAX];
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    st.asked.current = st.asked.future = st.asked.required = true;
    st.state = RP_LOCKALL_LOCKED;
    st.locked_bytes = 3u << 20;
    st.resident_locked_bytes = 1u << 20;
    CHECK(strcmp(rp_lockall_status_format(&st, line, sizeof line),
                 "locked: current+future, 3 MiB locked, 1 MiB of it resident") == 0);
    st.low_headroom = true;
    snprintf(st.warning, sizeof st.warning, "little room");
    CHECK(strstr(rp_lockall_status_format(&st, line, sizeof line), "; warning: little room") != NULL);
    st.low_headroom = false;
    st.state = RP_LOCKALL_FAILED;
    st.asked.required = false;
    st.error = RP_ERR_LIMIT;
    snprintf(st.message, sizeof st.message, "the reason");
    CHECK(strcmp(rp_lockall_status_format(&st, line, sizeof line),
                 "not locked (best effort): resource limit exceeded: the reason") == 0);
    st.state = RP_LOCKALL_UNSUPPORTED;
    CHECK(strcmp(rp_lockall_status_format(&st, line, sizeof line), "unsupported: the reason") == 0);
    char tiny[8];
    CHECK(strlen(rp_lockall_status_format(&st, tiny, sizeof tiny)) == sizeof tiny - 1);
    CHECK(rp_lockall_status_format(NULL, line, sizeof line) == line);
    CHECK(rp_lockall_status_format(&st, NULL, 0) == NULL);
}

/* ---- the unprivileged re-runs (argv[1] selects the case) ------------------------------------------ */

/* Nobody, memlock 0:0: permission denied, before and after the attempt, and with best effort. */
static int unprivileged_no_limit(void) {
    CHECK(getuid() == 65534 && !rp__os_can_lock_unlimited());
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    CHECK(rp_lockall_preflight(0, NULL, 0, &pf) == RP_ERR_PERMISSION && pf.verdict == RP_ERR_PERMISSION);
    CHECK(pf.remedy != NULL && strstr(pf.remedy, "CAP_IPC_LOCK") != NULL);
    CHECK(rp_lockall_preflight(0, NULL, 4096, &pf) == RP_ERR_PERMISSION);

    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(rp_lockall(NULL, &st) == RP_ERR_PERMISSION);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_PERMISSION && st.os_error == EPERM);
    CHECK(strstr(st.message, "memlock limit soft 0 B, hard 0 B") != NULL);
    CHECK(strstr(st.message, "no CAP_IPC_LOCK") != NULL);
    CHECK(st.remedy != NULL && strstr(st.remedy, "setcap") != NULL);
    CHECK(rp_last_error()->status == RP_ERR_PERMISSION && rp_last_error()->remedy == st.remedy);
    rp_lockall_options_t future = {RP_SIZED(rp_lockall_options_t), .future = true, .required = true};
    CHECK(rp_lockall(&future, &st) == RP_ERR_PERMISSION);
    rp_lockall_options_t best = {RP_SIZED(rp_lockall_options_t), .current = true, .future = true, .onfault = SANITIZED, .required = false};
    CHECK(rp_lockall(&best, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_PERMISSION);
    CHECK(vm_locked() == 0 && !rp_lockall_is_locked());
    return rp_test_exit();
}

/* Nobody, memlock 64 KiB soft / 128 KiB hard: resource limit, with those numbers and the mapped
 * size the process needed; the preflight predicts it without locking. */
static int unprivileged_small_limit(void) {
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    CHECK(rp_lockall_preflight(0, NULL, 0, &pf) == RP_ERR_LIMIT);
    CHECK(pf.memlock_soft == 65536 && pf.memlock_hard == 131072 && !pf.unlimited);
    CHECK(pf.needed_bytes == pf.mapped_bytes && pf.needed_bytes > 65536);
    CHECK(strstr(pf.reason, "soft limit 64 KiB, hard 128 KiB") != NULL);
    CHECK(pf.remedy != NULL && strstr(pf.remedy, "ulimit -l") != NULL);
    CHECK(rp_lockall_preflight(0, NULL, 32768, &pf) == RP_OK && pf.headroom_bytes == 32768);
    CHECK(rp_lockall_preflight(0, NULL, 65537, &pf) == RP_ERR_LIMIT);
    CHECK(strstr(pf.reason, "locking 68 KiB more would exceed the memlock limit") != NULL);

    rp_lockall_process_t q = {RP_SIZED(rp_lockall_process_t)};
    CHECK(rp_lockall_query(0, &q) == RP_OK);
    CHECK(q.can_lock_more && q.lockable_bytes == 65536 && q.cap_ipc_lock == 0);
    rp_lockall_options_t cfg = rp_lockall_options_default();
    cfg.onfault = SANITIZED;
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(rp_lockall(&cfg, &st) == RP_ERR_LIMIT);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_LIMIT);
    CHECK(st.memlock_soft == 65536 && st.memlock_hard == 131072);
    /* The bytes needed are the mapped size at the call, which the query read just before. */
    size_t diff = st.needed_bytes > q.mapped_bytes ? st.needed_bytes - q.mapped_bytes : q.mapped_bytes - st.needed_bytes;
    CHECK(diff <= (1u << 20));
    char need[32], msg[300];
    snprintf(msg, sizeof msg, "of %s failed", rp_format_bytes(st.needed_bytes, need, sizeof need));
    CHECK(strstr(st.message, msg) != NULL);
    snprintf(msg, sizeof msg, "must fit: %s (VmSize)", need);
    CHECK(strstr(st.message, msg) != NULL);
    CHECK(strstr(st.message, "memlock limit soft 64 KiB, hard 128 KiB") != NULL);
    CHECK(st.remedy != NULL && strstr(st.remedy, "ulimit -l") != NULL);
    CHECK(vm_locked() == 0);
    if (rp_test_failures) fprintf(stderr, "    message: %s\n", st.message);
    return rp_test_exit();
}

/* Nobody, memlock 64 KiB, best effort: a failed status, and the program goes on. */
static int unprivileged_best_effort(void) {
    rp_lockall_options_t cfg = {RP_SIZED(rp_lockall_options_t), .current = true, .future = true, .onfault = SANITIZED, .required = false};
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_FAILED && st.error == RP_ERR_LIMIT && !st.current_locked && !st.future_locked);
    char line[RP_LOCKALL_LINE_MAX];
    CHECK(strncmp(rp_lockall_status_format(&st, line, sizeof line), "not locked (best effort): resource limit exceeded: ",
                  50) == 0);
    /* Still running, unlocked, and allocating normally. */
    size_t n = 1u << 20;
    unsigned char *p = malloc(n);
    CHECK(p != NULL);
    if (p == NULL) return rp_test_exit();
    memset(p, 0x5a, n);
    size_t sum = 0;
    for (size_t i = 0; i < n; i += 4096) sum += p[i];
    CHECK(sum == 0x5a * (n / 4096));
    free(p);
    CHECK(vm_locked() == 0 && !rp_lockall_is_locked());
    return rp_test_exit();
}

/* Nobody, memlock 4 MiB: future locking succeeds, warns about headroom, and the kernel indeed
 * refuses a later mapping bigger than what is left. */
static int unprivileged_headroom(void) {
    rp_lockall_options_t cfg = {RP_SIZED(rp_lockall_options_t), .future = true, .onfault = true, .required = true};
    rp_lockall_preflight_t pf = {RP_SIZED(rp_lockall_preflight_t)};
    CHECK(rp_lockall_preflight(0, &cfg, 0, &pf) == RP_OK && pf.low_headroom);
    rp_lockall_status_t st = {RP_SIZED(rp_lockall_status_t)};
    CHECK(rp_lockall(&cfg, &st) == RP_OK);
    CHECK(st.state == RP_LOCKALL_LOCKED && st.future_locked && !st.current_locked);
    CHECK(st.low_headroom && st.headroom_bytes <= (4u << 20));
    CHECK(strstr(st.warning, "of the 4 MiB memlock limit") != NULL);
    char line[RP_LOCKALL_LINE_MAX];
    CHECK(strstr(rp_lockall_status_format(&st, line, sizeof line), "; warning: future locking leaves") != NULL);
    void *p = NULL;
    CHECK(rp__os_alloc(8u << 20, &p) != 0); /* over the limit: refused */
    return rp_test_exit();
}

static void test_unprivileged(void) {
    CHECK(rp_test_unprivileged("0:0", "unprivileged-no-limit") == 0);
    CHECK(rp_test_unprivileged("65536:131072", "unprivileged-small-limit") == 0);
    CHECK(rp_test_unprivileged("65536:65536", "unprivileged-best-effort") == 0);
    CHECK(rp_test_unprivileged("4194304:4194304", "unprivileged-headroom") == 0);
}

int main(int argc, char **argv) {
    PAGE = rp_page_size();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-no-limit")) return unprivileged_no_limit();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-small-limit")) return unprivileged_small_limit();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-best-effort")) return unprivileged_best_effort();
    if (argc > 1 && !strcmp(argv[1], "unprivileged-headroom")) return unprivileged_headroom();
    if (argc > 1 && !strcmp(argv[1], "unprivileged")) {
        const char *why = rp_test_unprivileged_unavailable();
        if (why != NULL) rp_test_skip(why);
        RP_TEST(test_unprivileged);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "one_secret")) {
        RP_TEST(test_one_secret_is_not_locked);
        return rp_test_exit();
    }
    if (argc > 1 && !strcmp(argv[1], "privileged")) {
        if (!rp__os_can_lock_unlimited()) rp_test_skip("no CAP_IPC_LOCK: these cases lock the whole process (root only)");
        RP_TEST(test_lock_current_future);
        RP_TEST(test_future_covers_later_allocation);
        RP_TEST(test_onfault);
        RP_TEST(test_whole_and_resident);
        return rp_test_exit();
    }
    RP_TEST(test_config_parse);
    RP_TEST(test_options_struct_size);
    RP_TEST(test_invalid_config);
    RP_TEST(test_preflight_locks_nothing);
    RP_TEST(test_preflight_huge);
    RP_TEST(test_query);
    RP_TEST(test_format);
    return rp_test_exit();
}
