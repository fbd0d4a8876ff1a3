/* SPDX-License-Identifier: MIT */
/* rampart/common.h — what every layer shares: version and ABI rule, the export macro, status
 * codes with the thread's last-error detail, remediation hints for lock failures, the wipe that
 * the compiler cannot remove, and the one corruption handler.
 *
 * ABI rule: within one major version (RP_VERSION_MAJOR, which is also the shared library's
 * SOVERSION) functions are only added, never changed or removed, and the enums only grow at the
 * end. Objects (rp_heap_t, rp_map_t, ...) are opaque handles whose layout can change freely.
 *
 * Growing structs: a struct the caller allocates and the library reads (options) starts with
 * `size_t struct_size`, which the caller sets to sizeof the struct as its headers define it:
 * `rp_heap_options_t o = {RP_SIZED(rp_heap_options_t), .limit = ...};` or the header's inline
 * `rp_X_options_default()`, which is compiled into the caller (never exported, so it always
 * uses the caller's sizeof). The library refuses (RP_ERR_INVALID, with a message) a struct_size
 * of 0 or one smaller than the struct's first released version; it reads only struct_size bytes
 * of a smaller (older) struct and gives every later field its default; of a larger (newer) struct
 * it requires the bytes it does not know to be zero, so a field it cannot honour is never dropped
 * in silence. New fields are only ever added at the end.
 * A struct the caller allocates and the library writes (statistics, info, status: out-structs)
 * follows the same rule: the caller sets struct_size (`rp_pool_stats_t st =
 * {RP_SIZED(rp_pool_stats_t)};`); a bad one is RP_ERR_INVALID before anything is done or
 * written; the library writes only the bytes struct_size covers, and a newer caller's larger
 * struct gets the fields the library does not know zeroed and struct_size set to the library's
 * own size. The caller-filled page allocator table (rp_page_allocator_t) is read by this rule.
 */
#ifndef RAMPART_COMMON_H
#define RAMPART_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RP_VERSION_MAJOR 0
#define RP_VERSION_MINOR 1
#define RP_VERSION_PATCH 0
/* One integer that compares in order: 0xMMmmpp. */
#define RP_VERSION_NUMBER ((RP_VERSION_MAJOR << 16) | (RP_VERSION_MINOR << 8) | RP_VERSION_PATCH)

/* RP_API marks the exported functions. The shared library is built with -fvisibility=hidden, so
 * nothing else leaves it. On Windows, define RP_USE_DLL when linking against the DLL (the CMake
 * package does it for rampart::rampart); the default there is the static library. */
#if defined(_WIN32)
#  if defined(RP_BUILDING_LIBRARY) && defined(DLL_EXPORT)
#    define RP_API __declspec(dllexport)
#  elif defined(RP_USE_DLL)
#    define RP_API __declspec(dllimport)
#  else
#    define RP_API
#  endif
#elif defined(__GNUC__)
#  define RP_API __attribute__((visibility("default")))
#else
#  define RP_API
#endif

#if defined(__GNUC__)
#  define RP_NODISCARD __attribute__((warn_unused_result))
#else
#  define RP_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The first member of a growing struct's initialiser: `{RP_SIZED(type), .field = ...}`. */
#define RP_SIZED(type) .struct_size = sizeof(type)

/* The library version as "MAJOR.MINOR.PATCH", and as RP_VERSION_NUMBER, at run time. */
RP_API const char *rp_version(void);
RP_API unsigned rp_version_number(void);

/* ---- status ------------------------------------------------------------------------------------
 * Every fallible function returns an rp_status_t or, when it returns a pointer, NULL with the
 * status in rp_last_error(). Constructors (rp_X_create) return a status and hand the object out
 * through their last argument (NULL on failure); allocations (rp_malloc, rp_pool_alloc,
 * rp_secret_alloc, ...) return a pointer, like malloc. Values only ever grow at the end. */
typedef enum rp_status {
    RP_OK = 0,
    RP_ERR_INVALID,      /* an argument is invalid (NULL, zero, unaligned, contradictory) */
    RP_ERR_BOUNDS,       /* a range lies outside the object */
    RP_ERR_PERMISSION,   /* the OS refused for lack of privilege (EPERM, EACCES) */
    RP_ERR_LIMIT,        /* a resource limit was hit (RLIMIT_MEMLOCK, working-set quota) */
    RP_ERR_NOMEM,        /* out of memory or address space, or a size that overflows */
    RP_ERR_UNSUPPORTED,  /* this platform or kernel lacks the feature */
    RP_ERR_NOT_OWNED,    /* a pointer this object did not hand out */
    RP_ERR_EXISTS,       /* something is already there (a fixed address that is mapped) */
    RP_ERR_CORRUPT,      /* metadata or a canary was found damaged */
    RP_ERR_OS,           /* any other OS failure; see rp_last_error()->os_error */
    RP_ERR_IO            /* the backing store cannot supply the memory: a file map's file is now
                            shorter than the map, or reading or writing it failed */
} rp_status_t;

/* A short, static, English description of a status ("resource limit exceeded"). Never NULL. */
RP_API const char *rp_strerror(rp_status_t status);

/* The detail of the last failure on this thread: the status, the raw OS error (errno, or
 * GetLastError() on Windows; 0 when the OS was not involved), a one-line message that names what
 * failed with its numbers, and, for lock failures, the remediation hint (see rp_remedy()).
 * Successful calls do not clear it. The pointer stays valid for the life of the thread. */
typedef struct rp_error {
    rp_status_t status;
    int os_error;
    char message[256];
    const char *remedy;  /* NULL unless a remedy applies */
} rp_error_t;
RP_API const rp_error_t *rp_last_error(void);

/* ---- remedies ----------------------------------------------------------------------------------
 * What to do when memory cannot be locked, written once and reused by every layer and the CLI.
 * RP_ERR_PERMISSION: the process has no CAP_IPC_LOCK and a memlock limit of 0.
 * RP_ERR_LIMIT: the memlock limit (RLIMIT_MEMLOCK, or the working-set quota) is too small.
 * RP_ERR_UNSUPPORTED: the platform cannot lock memory at all.
 * RP_REMEDY_BRIEF gives one line; RP_REMEDY_FULL gives the recipes for a shell, limits.conf,
 * setcap, systemd, docker, docker compose and Kubernetes, and says when a re-login or restart is
 * needed. Returns NULL for statuses that have no remedy. */
typedef enum rp_remedy_form { RP_REMEDY_BRIEF = 0, RP_REMEDY_FULL = 1 } rp_remedy_form_t;
RP_API const char *rp_remedy(rp_status_t status, rp_remedy_form_t form);

/* A byte count for people: "512 B", "64 KiB", "1.5 MiB", "unlimited" for SIZE_MAX. Returns buf. */
RP_API const char *rp_format_bytes(size_t bytes, char *buf, size_t size);

/* Receives one line of a human-readable report (rp_heap_stats_print_to, rp_pool_stats_print_to):
 * NUL-terminated, without a newline. The line lives only for the call. */
typedef void (*rp_line_fn)(const char *line, void *ctx);

/* ---- wiping ------------------------------------------------------------------------------------ */
/* Overwrite len bytes at p with zeros in a way the compiler cannot remove, even when p is freed
 * right after. p may be NULL when len is 0. */
RP_API void rp_memzero(void *p, size_t len);

/* ---- corruption --------------------------------------------------------------------------------
 * Every security check that fails (double free, foreign pointer, damaged canary or metadata)
 * ends in one function. The default prints "rampart(pid): <what> at <addr>" to stderr and calls
 * abort(). A replacement handler may log and return; the library then still aborts, because the
 * state it found cannot be trusted. Pass NULL to restore the default. Thread-safe. */
typedef void (*rp_corruption_handler_t)(const char *what, const void *addr, void *ctx);
RP_API void rp_set_corruption_handler(rp_corruption_handler_t handler, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* RAMPART_COMMON_H */
