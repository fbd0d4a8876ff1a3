/* SPDX-License-Identifier: MIT */
/* internal.h — helpers shared by every layer inside the library (never installed).
 *
 *   RP_ASSERT(c)        debug-only invariant check (compiled out with NDEBUG)
 *   rp__mul_overflows   size arithmetic, checked before anything else
 *   rp__fail*           record the thread's last error (rp_last_error) and return the status
 *   rp__corrupt         the one corruption path: handler, then abort; never compiled out
 */
#ifndef RP_INTERNAL_H
#define RP_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rampart/common.h"

#if defined(__GNUC__)
#  define RP_LIKELY(x) __builtin_expect(!!(x), 1)
#  define RP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#  define RP_NORETURN __attribute__((noreturn))
/* Slow paths stay out of line so the fast paths that call them need no stack frame. */
#  define RP__NOINLINE __attribute__((noinline))
/* mingw's C99 stdio (__USE_MINGW_ANSI_STDIO) is checked as gnu_printf, which knows %zu. */
#  if defined(__MINGW32__)
#    define RP_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#  else
#    define RP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#  endif
#else
#  define RP_LIKELY(x) (x)
#  define RP_UNLIKELY(x) (x)
#  define RP_NORETURN _Noreturn
#  define RP__NOINLINE
#  define RP_PRINTF(f, a)
#endif

/* Library-internal data the inline fast paths read. Hidden, a shared library's code loads it
 * directly, not through the GOT (a free reads the cookie: one instruction instead of two); the
 * build's -fvisibility=hidden covers definitions only, not these extern declarations. */
#if defined(__GNUC__) && defined(__ELF__)
#  define RP_HIDDEN __attribute__((visibility("hidden")))
#else
#  define RP_HIDDEN
#endif

#ifdef NDEBUG
#  define RP_ASSERT(c) ((void)0)
#else
#  define RP_ASSERT(c) ((c) ? (void)0 : rp__assert_fail(#c, __FILE__, __LINE__))
#endif
RP_NORETURN void rp__assert_fail(const char *cond, const char *file, int line);

/* a * b, or true when it does not fit in size_t. */
static inline bool rp__mul_overflows(size_t a, size_t b, size_t *out) {
#if defined(__GNUC__)
    return __builtin_mul_overflow(a, b, out);
#else
    if (b != 0 && a > SIZE_MAX / b) return true;
    *out = a * b;
    return false;
#endif
}
static inline bool rp__add_overflows(size_t a, size_t b, size_t *out) {
    if (a > SIZE_MAX - b) return true;
    *out = a + b;
    return false;
}
/* x rounded up to a power-of-two multiple; 0 when that overflows (x == 0 gives 0 too). */
static inline size_t rp__align_up(size_t x, size_t pow2) {
    if (x > SIZE_MAX - (pow2 - 1)) return 0;
    return (x + pow2 - 1) & ~(pow2 - 1);
}
static inline bool rp__is_aligned(uintptr_t x, size_t pow2) { return (x & (pow2 - 1)) == 0; }

/* Record the failure for rp_last_error() and return status. os_error is the raw OS error or 0.
 * rp__fail_os classifies an OS error and appends the OS's words; it attaches no remedy (an EPERM
 * from mprotect is no memlock problem): lock failures go through rp__fail_lock. */
/* Check a growing struct's struct_size (the rule in rampart/common.h) and copy it into *known
 * (sizeof known_size, the library's own version, set to the defaults by the caller first): at most
 * min(struct_size, known_size) bytes are copied. RP_ERR_INVALID with a message naming `what`
 * when struct_size is below size_v1 (0 included) or when a larger struct has a non-zero byte
 * past known_size. */
rp_status_t rp__read_sized(const void *given, size_t size_v1, void *known, size_t known_size, const char *what);
/* rp__read_sized's checks alone, for a struct the library reads in place (a page allocator). */
rp_status_t rp__sized_in_check(const void *given, size_t size_v1, size_t known_size, const char *what);
/* A caller's page allocator fit to use: not NULL, a good struct_size (rp__sized_in_check), and
 * allocate_locked and free_locked set. RP_ERR_INVALID with a message naming `what` otherwise.
 * Every layer that takes one checks it once, when it is handed in (pages/pages.c). */
struct rp_page_allocator;
rp_status_t rp__pages_check(const struct rp_page_allocator *pa, const char *what);
/* The two halves of writing a growing out-struct (statistics, status, info) the caller allocates.
 * Check first, before any work: RP_ERR_INVALID with a message naming `what` when its struct_size
 * is below size_v1 (0 included) or past RP__SIZED_MAX. Then, with the library's own struct filled
 * whole (filled_size bytes, its first member the size), write: the bytes the caller's struct_size
 * covers are copied; a larger (newer) caller's struct gets the rest zeroed and its struct_size
 * lowered to filled_size, so it can tell which fields this library filled. */
rp_status_t rp__sized_out_check(const void *given, size_t size_v1, const char *what);
void rp__sized_out_write(void *given, const void *filled, size_t filled_size);
/* The size of a growing struct's first released version: the end of its last field then (no
 * trailing padding, which an older compiler's sizeof could differ in). */
#define RP__SIZE_V1(type, last_field) (offsetof(type, last_field) + sizeof(((type *)0)->last_field))
/* No growing struct will ever be this large; a bigger struct_size is garbage (an uninitialised
 * field), refused before a single byte past the known part is read. */
#define RP__SIZED_MAX 4096
/* rp_lockall_options_t as given (NULL: the defaults) into *out, checked by rp__read_sized; out is
 * always usable afterwards (the defaults where the check failed), its struct_size the library's.
 * Shared by lockall.c and remote.c. */
struct rp_lockall_options;
/* rp_lockall_status_t as first released, for the functions that write one (lockall.c, remote.c);
 * used where rampart/lockall.h is included. */
#define RP__LOCKALL_STATUS_V1 RP__SIZE_V1(rp_lockall_status_t, warning)
/* Write *st, with what *asked asked for, into the caller's status out (NULL: nowhere), as far as
 * its struct_size reaches (lockall.c; remote.c writes its statuses through it too). */
struct rp_lockall_status;
void rp__lockall_publish(struct rp_lockall_status *out, struct rp_lockall_status *st, const struct rp_lockall_options *asked);
/* Copy the calling thread's last error (rp_last_error) into a status being written (lockall.c). */
void rp__lockall_copy_error(struct rp_lockall_status *st);
rp_status_t rp__lockall_options(const struct rp_lockall_options *given, struct rp_lockall_options *out,
                                const char *who);
rp_status_t rp__fail(rp_status_t status, int os_error, const char *fmt, ...) RP_PRINTF(3, 4);
rp_status_t rp__fail_os(int os_error, const char *fmt, ...) RP_PRINTF(2, 3);
/* A failed lock of len bytes (what: "mlock", "mlockall", ...): classifies the OS error as
 * permission / limit / unsupported, writes the memlock limits and the bytes needed into the
 * message, and attaches the remedy. Returns the status. */
rp_status_t rp__fail_lock(int os_error, size_t len, const char *what);
/* Attach a remedy to the thread's last error (a string from rp_remedy). */
void rp__error_set_remedy(const char *remedy);
/* Append to the thread's last error message (cut at its size), to add numbers a layer knows
 * after rp__fail_lock has written the common part. */
void rp__error_append(const char *fmt, ...) RP_PRINTF(1, 2);

/* A line sink writing to a stream (core/lines.c), for the *_print functions over their *_print_to
 * variants: rp__line_to_file appends a newline to each line and remembers the first failure;
 * rp__file_sink_status turns it into the function's status. */
typedef struct rp__file_sink { FILE *out; int error; } rp__file_sink_t;
void rp__line_to_file(const char *line, void *ctx);
/* The sink for reports without stdio (inside malloc, destructors): one write(2) per line. */
void rp__line_to_stderr(const char *line, void *ctx);
rp_status_t rp__file_sink_status(const rp__file_sink_t *sink, const char *what);

/* RAMPART_VERBOSE=1 (core/verbose.c): rp__verbose says whether it is on (read once, strictly; a
 * malformed value is reported and counts as off); rp__verbose_failure writes the thread's last
 * error to stderr when it is, and is called by rp__fail_os and rp__fail_lock. */
bool rp__verbose(void);
void rp__verbose_failure(void);

/* rp_memzero of the resident pages of [p, p+len) only: a page never touched holds nothing, and
 * writing it would fault it in (a sparse 1 GiB block would need 1 GiB of RAM to be freed). A page
 * swapped out is skipped too: writing it would not reach the copy on the swap device. Where the OS
 * cannot tell, every page is wiped. pre: p and len page-aligned, memory mapped by rampart. */
void rp__memzero_resident(void *p, size_t len);

/* Report corruption: call the handler, then abort. Never returns, never allocates. */
RP_NORETURN void rp__corrupt(const char *what, const void *addr);

/* ---- RAMPART_* environment variables (core/env.c) ----------------------------------------------
 * The only way the library reads its environment. Unset or empty (white space only) means "not
 * set": the functions return RP_OK and leave *out alone. A value outside the grammar is
 * RP_ERR_INVALID with a message naming the variable, the value and the grammar. secure: a
 * security-relevant setting, ignored (as if unset) in a secure-execution process (set-user-ID,
 * set-group-ID, file capabilities), see rp__os_getenv_secure. */
const char *rp__env_get(const char *name, bool secure);
/* Digits with an optional k/m/g/t suffix (powers of 1024) and an optional iB or B: "64M", "512k". */
rp_status_t rp__env_bytes(const char *name, bool secure, size_t *out);
/* Digits only; with minus_one, "-1" too, which gives SIZE_MAX. */
rp_status_t rp__env_count(const char *name, bool secure, bool minus_one, size_t *out);
/* Exactly one of words[0..count): *out = its index. */
rp_status_t rp__env_word(const char *name, bool secure, const char *const *words, size_t count, size_t *out);
/* At most size - 1 bytes of src[0..len) with control characters shown as '?': values from the
 * environment go to a terminal. Returns dst. */
const char *rp__env_printable(const char *src, size_t len, char *dst, size_t size);
/* The exit status of a preloaded library, or a process-wide setting read on a path that cannot
 * return an error (the heap's first allocation), when a RAMPART_* value is malformed: env(1)'s
 * 125, the same as RP_LOCKALL_EXIT_FAILURE. */
#define RP__ENV_EXIT_FAILURE 125
/* Write "who: <the thread's last error>; the process stops here ...\n" to stderr and _Exit with
 * RP__ENV_EXIT_FAILURE: for the places above, after an rp__env_* call failed. */
RP_NORETURN void rp__env_exit(const char *who);

#endif /* RP_INTERNAL_H */
