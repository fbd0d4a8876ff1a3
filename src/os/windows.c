/* SPDX-License-Identifier: MIT */
/* os/windows.c — the platform layer for Windows (Vista and later; built with mingw-w64 and run
 * under wine in CI). Implements every primitive of os/os.h; see there for the contracts.
 *
 * Windows facts this file relies on:
 *   - VirtualLock is bounded by the process's minimum working-set size, not by a limit a user
 *     sets; when it fails with ERROR_WORKING_SET_QUOTA we raise the minimum (and maximum) with
 *     SetProcessWorkingSetSize and try once more.
 *   - VirtualUnlock of pages that are not locked fails with ERROR_NOT_LOCKED.
 *   - There is no core-dump exclusion, fork wipe, lock-on-fault or secret memory: those
 *     primitives return ERROR_NOT_SUPPORTED and the layers above report it.
 *   - Errors are GetLastError() codes carried in an int.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <psapi.h>

#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "os/os.h"

/* ---- errors ------------------------------------------------------------------------------------ */

rp_status_t rp__os_classify(int err) {
    switch ((DWORD)err) {
    case 0: return RP_OK;
    case ERROR_INVALID_PARAMETER:
    case ERROR_INVALID_ADDRESS: return RP_ERR_INVALID;
    case ERROR_ACCESS_DENIED:
    case ERROR_PRIVILEGE_NOT_HELD: return RP_ERR_PERMISSION;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: return RP_ERR_NOMEM;
    case ERROR_WORKING_SET_QUOTA: return RP_ERR_LIMIT;
    case ERROR_NOT_SUPPORTED:
    case ERROR_CALL_NOT_IMPLEMENTED: return RP_ERR_UNSUPPORTED;
    case ERROR_ALREADY_EXISTS: return RP_ERR_EXISTS;
    default: return RP_ERR_OS;
    }
}

rp_status_t rp__os_classify_lock(int err) {
    switch ((DWORD)err) {
    case ERROR_WORKING_SET_QUOTA:
    case ERROR_NOT_ENOUGH_MEMORY: return RP_ERR_LIMIT;
    default: return rp__os_classify(err);
    }
}

const char *rp__os_errstr(int err, char *buf, size_t size) {
    char text[160];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)err, 0, text,
                             sizeof text, NULL);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n' || text[n - 1] == '.' || text[n - 1] == ' ')) n--;
    text[n] = '\0';
    snprintf(buf, size, "%s (Windows error %d)", n ? text : "error", err);
    return buf;
}

int rp__os_err_unsupported(void) { return ERROR_NOT_SUPPORTED; }
int rp__os_err_nomem(void) { return ERROR_NOT_ENOUGH_MEMORY; }
int rp__os_last_error(void) { return (int)GetLastError(); }
void rp__os_set_last_error(int err) { SetLastError((DWORD)err); }

/* ---- sizes ------------------------------------------------------------------------------------- */

static SYSTEM_INFO rp__system_info(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si;
}

size_t rp__os_page_size(void) {
    static size_t cached;
    size_t ps = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (ps == 0) {
        ps = rp__system_info().dwPageSize;
        __atomic_store_n(&cached, ps, __ATOMIC_RELAXED);
    }
    return ps;
}

size_t rp__os_alloc_granularity(void) { return rp__system_info().dwAllocationGranularity; }

size_t rp__os_physical_memory(void) {
    MEMORYSTATUSEX st = {.dwLength = sizeof st};
    if (!GlobalMemoryStatusEx(&st) || st.ullTotalPhys > SIZE_MAX) return SIZE_MAX;
    return (size_t)st.ullTotalPhys;
}

size_t rp__os_huge_sizes(rp__os_huge_size_t *out, size_t max) {
    size_t large = GetLargePageMinimum();
    if (large == 0) return 0;
    if (max > 0) *out = (rp__os_huge_size_t){large, SIZE_MAX, SIZE_MAX};
    return 1;
}

rp__os_thp_t rp__os_thp_mode(void) { return RP__OS_THP_NONE; }

/* ---- address space ----------------------------------------------------------------------------- */

static int rp__virtual_alloc(void *addr, size_t size, DWORD type, DWORD prot, void **out) {
    RP_ASSERT(size > 0);
    void *p = VirtualAlloc(addr, size, type, prot);
    if (p == NULL) {
        int err = (int)GetLastError();
        /* With no address given, the size is the only parameter that can be wrong: a size
         * larger than the address space. Report it as the out-of-memory it is. */
        return (addr == NULL && err == ERROR_INVALID_PARAMETER) ? ERROR_NOT_ENOUGH_MEMORY : err;
    }
    if (out) *out = p;
    return 0;
}

int rp__os_alloc(size_t size, void **out) {
    return rp__virtual_alloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, out);
}

int rp__os_reserve(size_t size, void **out) { return rp__virtual_alloc(NULL, size, MEM_RESERVE, PAGE_NOACCESS, out); }

int rp__os_commit(void *addr, size_t size) { return rp__virtual_alloc(addr, size, MEM_COMMIT, PAGE_READWRITE, NULL); }

int rp__os_decommit(void *addr, size_t size) {
    return VirtualFree(addr, size, MEM_DECOMMIT) ? 0 : (int)GetLastError();
}

int rp__os_release(void *addr, size_t size) {
    (void)size; /* MEM_RELEASE frees the whole reservation that starts at addr */
    return VirtualFree(addr, 0, MEM_RELEASE) ? 0 : (int)GetLastError();
}

bool rp__os_mapped(void *addr, size_t size) {
    for (uint8_t *at = addr, *end = at + size; at < end;) {
        MEMORY_BASIC_INFORMATION info;
        if (VirtualQuery(at, &info, sizeof info) == 0 || info.State == MEM_FREE) return false;
        at = (uint8_t *)info.BaseAddress + info.RegionSize;
    }
    return true;
}

static DWORD rp__native_prot(rp__os_prot_t prot) {
    switch (prot) {
    case RP__OS_PROT_NONE: return PAGE_NOACCESS;
    case RP__OS_PROT_READ: return PAGE_READONLY;
    case RP__OS_PROT_READ_WRITE: return PAGE_READWRITE;
    case RP__OS_PROT_READ_EXEC: return PAGE_EXECUTE_READ;
    case RP__OS_PROT_READ_WRITE_EXEC: return PAGE_EXECUTE_READWRITE;
    }
    return 0;
}

int rp__os_protect(void *addr, size_t size, rp__os_prot_t prot) {
    DWORD native = rp__native_prot(prot), old;
    if (native == 0) return ERROR_INVALID_PARAMETER;
    return VirtualProtect(addr, size, native, &old) ? 0 : (int)GetLastError();
}

/* ---- locking ----------------------------------------------------------------------------------- */

int rp__os_lock(void *addr, size_t size) {
    if (VirtualLock(addr, size)) return 0;
    int err = (int)GetLastError();
    if (err != ERROR_WORKING_SET_QUOTA) return err;
    /* The working-set minimum bounds what may be locked: grow it by this lock and retry once. */
    SIZE_T min_ws, max_ws;
    HANDLE self = GetCurrentProcess();
    if (!GetProcessWorkingSetSize(self, &min_ws, &max_ws)) return err;
    size_t new_min, new_max;
    if (rp__add_overflows(min_ws, size, &new_min) || rp__add_overflows(max_ws, size, &new_max)) return err;
    if (!SetProcessWorkingSetSize(self, new_min, new_max)) return (int)GetLastError();
    return VirtualLock(addr, size) ? 0 : (int)GetLastError();
}

int rp__os_lock_onfault(void *addr, size_t size) {
    (void)addr;
    (void)size;
    return ERROR_NOT_SUPPORTED;
}

int rp__os_unlock(void *addr, size_t size) { return VirtualUnlock(addr, size) ? 0 : (int)GetLastError(); }

bool rp__os_is_not_locked(int err) { return err == ERROR_NOT_LOCKED; }

int rp__os_lock_limit(size_t *soft, size_t *hard) {
    SIZE_T min_ws, max_ws;
    if (!GetProcessWorkingSetSize(GetCurrentProcess(), &min_ws, &max_ws)) return (int)GetLastError();
    if (soft) *soft = min_ws;
    if (hard) *hard = max_ws;
    return 0;
}

size_t rp__os_ram_total(void) {
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    if (!GlobalMemoryStatusEx(&ms)) return 0;
    return ms.ullTotalPhys > SIZE_MAX ? SIZE_MAX : (size_t)ms.ullTotalPhys;
}

bool rp__os_can_lock_unlimited(void) { return false; }

int rp__os_locked_bytes(int pid, size_t *vm_locked, size_t *resident_locked) {
    (void)pid;
    (void)vm_locked;
    (void)resident_locked;
    return ERROR_NOT_SUPPORTED;
}

/* ---- process-wide locking (the lockall layer) ----------------------------------------------------
 * Windows has no mlockall: "current" is every committed private region (VirtualQuery), locked one
 * by one after the working-set minimum has been raised to hold them all. There is no future or
 * on-fault locking. Regions that VirtualLock cannot take (guard pages of thread stacks, no-access
 * pages) are skipped: they hold nothing that could be paged out. */

unsigned rp__os_lockall_supported(void) { return RP__OS_LOCKALL_CURRENT; }

/* Whether a region is committed private memory that VirtualLock accepts. */
static bool rp__lockall_region(const MEMORY_BASIC_INFORMATION *mbi) {
    return mbi->State == MEM_COMMIT && mbi->Type == MEM_PRIVATE && !(mbi->Protect & (PAGE_GUARD | PAGE_NOACCESS));
}

/* Unlock the lockable regions in [0, stop); stop = UINTPTR_MAX for all of them. */
static void rp__lockall_undo(uintptr_t stop) {
    MEMORY_BASIC_INFORMATION mbi;
    for (uintptr_t at = 0; at < stop && VirtualQuery((void *)at, &mbi, sizeof mbi) == sizeof mbi;) {
        uintptr_t next = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (rp__lockall_region(&mbi)) VirtualUnlock(mbi.BaseAddress, mbi.RegionSize); /* ERROR_NOT_LOCKED is fine */
        if (next <= at) break;
        at = next;
    }
}

int rp__os_lockall(unsigned flags, size_t *locked_bytes) {
    RP_ASSERT(flags == RP__OS_LOCKALL_CURRENT && locked_bytes != NULL);
    (void)flags;
    *locked_bytes = 0;
    /* First the total, so the working set grows once for all regions (plus slack for the pages
     * this very loop touches). */
    MEMORY_BASIC_INFORMATION mbi;
    size_t total = 0;
    for (uintptr_t at = 0; VirtualQuery((void *)at, &mbi, sizeof mbi) == sizeof mbi;) {
        uintptr_t next = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (rp__lockall_region(&mbi) && rp__add_overflows(total, mbi.RegionSize, &total)) return ERROR_NOT_ENOUGH_MEMORY;
        if (next <= at) break;
        at = next;
    }
    SIZE_T min_ws, max_ws;
    HANDLE self = GetCurrentProcess();
    if (!GetProcessWorkingSetSize(self, &min_ws, &max_ws)) return (int)GetLastError();
    size_t slack = 64 * rp__os_page_size(), new_min, new_max;
    if (rp__add_overflows(min_ws, total, &new_min) || rp__add_overflows(new_min, slack, &new_min) ||
        rp__add_overflows(max_ws > new_min ? max_ws : new_min, slack, &new_max))
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!SetProcessWorkingSetSize(self, new_min, new_max)) return (int)GetLastError();
    size_t locked = 0;
    for (uintptr_t at = 0; VirtualQuery((void *)at, &mbi, sizeof mbi) == sizeof mbi;) {
        uintptr_t next = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (rp__lockall_region(&mbi)) {
            if (!VirtualLock(mbi.BaseAddress, mbi.RegionSize)) {
                int err = (int)GetLastError();
                rp__lockall_undo(at);
                return err;
            }
            locked += mbi.RegionSize;
        }
        if (next <= at) break;
        at = next;
    }
    *locked_bytes = locked;
    return 0;
}

int rp__os_unlockall(void) {
    rp__lockall_undo(UINTPTR_MAX);
    return 0;
}

static bool rp__sum_locked(const rp__os_area_t *area, void *ctx) {
    size_t *sum = ctx;
    if (area->locked != SIZE_MAX) *sum += area->locked;
    return true;
}

int rp__os_lock_info(int pid, rp__os_lock_info_t *out) {
    RP_ASSERT(out != NULL && pid >= 0);
    memset(out, 0, sizeof *out);
    out->vm_locked = out->resident_locked = out->vm_size = out->vm_rss = SIZE_MAX;
    out->limit_soft = out->limit_hard = SIZE_MAX;
    out->cap_ipc_lock = -1;
    out->limit_binding = false; /* rp__os_lock and rp__os_lockall raise the working set on demand */
    bool self = pid == 0 || (DWORD)pid == GetCurrentProcessId();
    HANDLE proc = self ? GetCurrentProcess()
                       : OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, (DWORD)pid);
    if (proc == NULL) return (int)GetLastError();
    int err = 0;
    SIZE_T min_ws, max_ws;
    /* PagefileUsage is the commit charge, the same figure as the _EX form's PrivateUsage; that
     * form is not asked for because wine fills only the plain struct (cb 72) and leaves
     * PrivateUsage as it found it, which read as garbage. */
    PROCESS_MEMORY_COUNTERS pmc;
    memset(&pmc, 0, sizeof pmc);
    if (GetProcessWorkingSetSize(proc, &min_ws, &max_ws)) {
        out->limit_soft = min_ws;
        out->limit_hard = max_ws;
    } else {
        err = (int)GetLastError();
    }
    if (GetProcessMemoryInfo(proc, &pmc, sizeof pmc)) {
        out->vm_size = pmc.PagefileUsage;
        out->vm_rss = pmc.WorkingSetSize;
    }
    char name[MAX_PATH];
    if (GetModuleBaseNameA(proc, NULL, name, sizeof name)) snprintf(out->name, sizeof out->name, "%s", name);
    if (!self) CloseHandle(proc);
    /* Locked pages are always resident here: one figure serves for both (QueryWorkingSetEx). */
    size_t locked = 0;
    if (rp__os_areas(self ? 0 : pid, rp__sum_locked, &locked) == 0) out->vm_locked = out->resident_locked = locked;
    return err;
}

/* ---- advice ------------------------------------------------------------------------------------ */

int rp__os_advise(void *addr, size_t size, rp__os_advice_t advice) {
    switch (advice) {
    case RP__OS_ADV_FREE:
        /* Decommit and recommit: the pages stay usable and read back as zero, like MADV_DONTNEED
         * on private anonymous memory. */
        if (!VirtualFree(addr, size, MEM_DECOMMIT)) return (int)GetLastError();
        return rp__virtual_alloc(addr, size, MEM_COMMIT, PAGE_READWRITE, NULL);
    default:
        return ERROR_NOT_SUPPORTED;
    }
}

int rp__os_guard_install(void *addr, size_t size, bool *lightweight) {
    *lightweight = false;
    return rp__os_protect(addr, size, RP__OS_PROT_NONE);
}

int rp__os_guard_remove(void *addr, size_t size, bool lightweight) {
    (void)lightweight;
    return rp__os_protect(addr, size, RP__OS_PROT_READ_WRITE);
}

bool rp__os_guard_lightweight_available(void) { return false; }

/* ---- secret memory ----------------------------------------------------------------------------- */

int rp__os_secret_alloc(size_t size, void **out) {
    (void)size;
    (void)out;
    return ERROR_NOT_SUPPORTED;
}

bool rp__os_secret_available(void) { return false; }

/* ---- memory areas ------------------------------------------------------------------------------ */

static unsigned rp__prot_flags(DWORD protect) {
    switch (protect & 0xFF) {
    case PAGE_READONLY: return RP__OS_AREA_READ;
    case PAGE_READWRITE:
    case PAGE_WRITECOPY: return RP__OS_AREA_READ | RP__OS_AREA_WRITE;
    case PAGE_EXECUTE: return RP__OS_AREA_EXEC;
    case PAGE_EXECUTE_READ: return RP__OS_AREA_READ | RP__OS_AREA_EXEC;
    case PAGE_EXECUTE_READWRITE:
    case PAGE_EXECUTE_WRITECOPY: return RP__OS_AREA_READ | RP__OS_AREA_WRITE | RP__OS_AREA_EXEC;
    default: return RP__OS_AREA_GUARD; /* PAGE_NOACCESS */
    }
}

/* Count resident and locked pages of a committed region with QueryWorkingSetEx, in batches. */
static void rp__working_set(HANDLE proc, rp__os_area_t *a) {
    enum { BATCH = 256 };
    PSAPI_WORKING_SET_EX_INFORMATION info[BATCH];
    size_t ps = rp__os_page_size(), resident = 0, locked = 0;
    for (uintptr_t at = a->start; at < a->end;) {
        size_t n = 0;
        for (; n < BATCH && at < a->end; n++, at += ps) info[n].VirtualAddress = (void *)at;
        if (!QueryWorkingSetEx(proc, info, (DWORD)(n * sizeof info[0]))) {
            a->rss = a->locked = SIZE_MAX;
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if (info[i].VirtualAttributes.Valid) resident += ps;
            if (info[i].VirtualAttributes.Valid && info[i].VirtualAttributes.Locked) locked += ps;
        }
    }
    a->rss = resident;
    a->locked = locked;
    if (locked) a->flags |= RP__OS_AREA_LOCKED;
}

int rp__os_areas(int pid, rp__os_area_fn fn, void *ctx) {
    HANDLE proc = pid == 0 ? GetCurrentProcess()
                           : OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, (DWORD)pid);
    if (proc == NULL) return (int)GetLastError();
    MEMORY_BASIC_INFORMATION mbi;
    uintptr_t at = 0;
    while (VirtualQueryEx(proc, (void *)at, &mbi, sizeof mbi) == sizeof mbi) {
        uintptr_t next = (uintptr_t)mbi.BaseAddress + mbi.RegionSize;
        if (mbi.State != MEM_FREE) {
            rp__os_area_t a;
            memset(&a, 0, sizeof a);
            a.start = (uintptr_t)mbi.BaseAddress;
            a.end = next;
            a.anon_huge = a.hugetlb = a.swapped = SIZE_MAX;
            a.guard_pages = 0; /* no lightweight guard pages on Windows (PAGE_NOACCESS is flagged) */
            a.page_size = rp__os_page_size();
            a.flags = mbi.State == MEM_RESERVE ? RP__OS_AREA_GUARD : rp__prot_flags(mbi.Protect);
            if (mbi.Type == MEM_MAPPED || mbi.Type == MEM_IMAGE) {
                a.flags |= RP__OS_AREA_SHARED;
                GetMappedFileNameA(proc, mbi.BaseAddress, a.path, sizeof a.path);
            }
            if (mbi.State == MEM_COMMIT) rp__working_set(proc, &a);
            if (!fn(&a, ctx)) break;
        }
        if (next <= at) break;
        at = next;
    }
    if (pid != 0) CloseHandle(proc);
    return 0;
}

/* ---- wiping ------------------------------------------------------------------------------------ */

/* SecureZeroMemory is an inline function of the Windows headers whose volatile stores the
 * compiler keeps. */
void rp__os_wipe(void *p, size_t len) { SecureZeroMemory(p, len); }
const char *rp__os_wipe_primitive(void) { return "SecureZeroMemory"; }

/* ---- process facts ----------------------------------------------------------------------------- */

int rp__os_core_info(rp__os_core_info_t *out) {
    /* Windows writes crash dumps through Windows Error Reporting; there is no per-process limit
     * to read here, so the record stays empty and the doctor omits the row. */
    memset(out, 0, sizeof *out);
    return 0;
}

void rp__os_describe(char *buf, size_t size) {
    SYSTEM_INFO si;
    GetNativeSystemInfo(&si);
    const char *arch = si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_AMD64   ? "x86_64"
                       : si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_ARM64 ? "arm64"
                                                                                    : "x86";
    snprintf(buf, size, "Windows %s", arch);
}

int rp__os_getpid(void) { return (int)GetCurrentProcessId(); }

void rp__os_process_name(char *buf, size_t size) {
    char name[MAX_PATH];
    buf[0] = '\0';
    if (GetModuleBaseNameA(GetCurrentProcess(), NULL, name, sizeof name)) snprintf(buf, size, "%s", name);
}

/* Windows has no set-user-ID or file-capability programs: a process runs with the token it was
 * started with and the environment its starter gave it, so no process gains privilege over the
 * one that chose its environment, and the variable is read as it is. A service that must not
 * take a setting from its environment sets the variable itself (or clears it) before it starts. */
const char *rp__os_getenv_secure(const char *name) { return getenv(name); }

static HANDLE volatile rp__stderr_copy;

void rp__os_keep_stderr(void) {
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    if (rp__stderr_copy != NULL || err == NULL || err == INVALID_HANDLE_VALUE) return;
    HANDLE copy = NULL;
    if (!DuplicateHandle(GetCurrentProcess(), err, GetCurrentProcess(), &copy, 0, FALSE, DUPLICATE_SAME_ACCESS)) return;
    /* The heap and the default pool may both ask at once, from two threads: one copy is kept. */
    if (InterlockedCompareExchangePointer((PVOID volatile *)&rp__stderr_copy, copy, NULL) != NULL) CloseHandle(copy);
}

void rp__os_write_stderr(const char *text, size_t len) {
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE), copy = rp__stderr_copy;
    DWORD written;
    if (err != NULL && err != INVALID_HANDLE_VALUE && WriteFile(err, text, (DWORD)len, &written, NULL)) return;
    if (copy != NULL) WriteFile(copy, text, (DWORD)len, &written, NULL);
}

/* ---- threads ----------------------------------------------------------------------------------- */

_Static_assert(sizeof(SRWLOCK) == sizeof(void *), "rp__os_mutex_t holds an SRWLOCK");

void rp__os_mutex_lock(rp__os_mutex_t *m) { AcquireSRWLockExclusive((PSRWLOCK)&m->srw); }
void rp__os_mutex_unlock(rp__os_mutex_t *m) { ReleaseSRWLockExclusive((PSRWLOCK)&m->srw); }
bool rp__os_mutex_trylock(rp__os_mutex_t *m) { return TryAcquireSRWLockExclusive((PSRWLOCK)&m->srw) != 0; }

/* ---- mappings (the map layer) ------------------------------------------------------------------
 * Anonymous private memory is VirtualAlloc'd (so commit/decommit work on it); shared anonymous
 * memory and files are sections (CreateFileMapping) mapped as views. The section handle is
 * closed at once: the view keeps the section alive. Views cannot be split, resized or unmapped in
 * part, so rp__os_remap_available() is false here. */

int rp__os_file_open(const char *path, bool write, bool create, rp__os_file_t *out, bool *created, bool *not_regular) {
    *not_regular = false;
    HANDLE h = CreateFileA(path, GENERIC_READ | (write ? GENERIC_WRITE : 0),
                           FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           create ? OPEN_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE) return (int)GetLastError();
    /* OPEN_ALWAYS succeeds either way and says ERROR_ALREADY_EXISTS when the file was there. */
    *created = create && GetLastError() != ERROR_ALREADY_EXISTS;
    *out = (rp__os_file_t)h;
    return 0;
}

int rp__os_file_dup(int fd, rp__os_file_t *out, bool *writable) {
    HANDLE h = (HANDLE)_get_osfhandle(fd), self = GetCurrentProcess(), copy = NULL;
    if (h == INVALID_HANDLE_VALUE) return ERROR_INVALID_HANDLE;
    /* Asking for write access succeeds only when the descriptor has it: that is the test. */
    *writable = DuplicateHandle(self, h, self, &copy, GENERIC_READ | GENERIC_WRITE, FALSE, 0) != 0;
    if (!*writable && !DuplicateHandle(self, h, self, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return (int)GetLastError();
    *out = (rp__os_file_t)copy;
    return 0;
}

int rp__os_file_clone(rp__os_file_t file, rp__os_file_t *out) {
    HANDLE self = GetCurrentProcess(), copy = NULL;
    if (!DuplicateHandle(self, (HANDLE)file, self, &copy, 0, FALSE, DUPLICATE_SAME_ACCESS)) return (int)GetLastError();
    *out = (rp__os_file_t)copy;
    return 0;
}

int rp__os_file_close(rp__os_file_t file) { return CloseHandle((HANDLE)file) ? 0 : (int)GetLastError(); }

int rp__os_file_size(rp__os_file_t file, uint64_t *size) {
    LARGE_INTEGER li;
    if (!GetFileSizeEx((HANDLE)file, &li)) return (int)GetLastError();
    *size = (uint64_t)li.QuadPart;
    return 0;
}

int rp__os_file_grow(rp__os_file_t file, uint64_t size) {
    uint64_t now = 0;
    int err = rp__os_file_size(file, &now);
    if (err != 0 || now >= size) return err;
    return rp__os_file_truncate(file, size);
}

int rp__os_file_truncate(rp__os_file_t file, uint64_t size) {
    if (size > (uint64_t)INT64_MAX) return ERROR_FILE_TOO_LARGE;
    LARGE_INTEGER to;
    to.QuadPart = (LONGLONG)size;
    if (!SetFilePointerEx((HANDLE)file, to, NULL, FILE_BEGIN) || !SetEndOfFile((HANDLE)file)) return (int)GetLastError();
    return 0;
}

int rp__os_file_same(rp__os_file_t a, rp__os_file_t b, bool *same) {
    BY_HANDLE_FILE_INFORMATION ia, ib;
    if (!GetFileInformationByHandle((HANDLE)a, &ia) || !GetFileInformationByHandle((HANDLE)b, &ib))
        return (int)GetLastError();
    *same = ia.dwVolumeSerialNumber == ib.dwVolumeSerialNumber && ia.nFileIndexHigh == ib.nFileIndexHigh &&
            ia.nFileIndexLow == ib.nFileIndexLow;
    return 0;
}

/* Fault every page in (the MAP_POPULATE of Windows) by reading one byte per page. */
static void rp__touch(const void *addr, size_t size) {
    const volatile unsigned char *p = addr;
    for (size_t at = 0; at < size; at += rp__os_page_size()) (void)p[at];
}

static int rp__map_view(const rp__os_map_request_t *req, void **out) {
    bool anon = req->file == RP__OS_FILE_NONE;
    bool writable = req->prot == RP__OS_PROT_READ_WRITE || req->prot == RP__OS_PROT_READ_WRITE_EXEC;
    DWORD section_prot, access;
    uint64_t view = req->size;
    if (req->shared && (writable || anon)) {
        section_prot = PAGE_EXECUTE_READWRITE;
        access = FILE_MAP_WRITE;
    } else if (!req->shared) {
        section_prot = PAGE_WRITECOPY;
        access = FILE_MAP_COPY;
    } else {
        section_prot = PAGE_READONLY;
        access = FILE_MAP_READ;
    }
    if (anon) {
        section_prot = PAGE_EXECUTE_READWRITE;
    } else {
        /* A file section cannot reach past the end of a file opened for reading; the view ends at
         * the file's end and the rest of its last page reads as zero. */
        uint64_t fsize = 0;
        int err = rp__os_file_size(req->file, &fsize);
        if (err != 0) return err;
        if (req->offset >= fsize) return ERROR_HANDLE_EOF;
        if (view > fsize - req->offset) view = fsize - req->offset;
        section_prot = section_prot == PAGE_EXECUTE_READWRITE ? PAGE_READWRITE : section_prot;
    }
    HANDLE section = CreateFileMappingA(anon ? INVALID_HANDLE_VALUE : (HANDLE)req->file, NULL, section_prot,
                                        anon ? (DWORD)((uint64_t)req->size >> 32) : 0,
                                        anon ? (DWORD)(req->size & 0xffffffffu) : 0, NULL);
    if (section == NULL) return (int)GetLastError();
    void *p = MapViewOfFileEx(section, access, (DWORD)(req->offset >> 32), (DWORD)(req->offset & 0xffffffffu),
                              (SIZE_T)view, req->fixed);
    int err = p == NULL ? (int)GetLastError() : 0;
    CloseHandle(section);
    if (err != 0) return (req->fixed != NULL && err == ERROR_INVALID_ADDRESS) ? ERROR_ALREADY_EXISTS : err;
    *out = p;
    return 0;
}

int rp__os_map(const rp__os_map_request_t *req, void **out) {
    RP_ASSERT(req != NULL && out != NULL && req->size > 0);
    void *p = NULL;
    int err;
    if (req->file == RP__OS_FILE_NONE && !req->shared) {
        DWORD type = MEM_RESERVE;
        /* A no-access, no-reserve request is a reservation: commit later, page by page. */
        if (!(req->prot == RP__OS_PROT_NONE && req->noreserve)) type |= MEM_COMMIT;
        if (req->huge_size != 0) type |= MEM_LARGE_PAGES | MEM_COMMIT;
        DWORD prot = rp__native_prot(req->prot);
        p = VirtualAlloc(req->fixed, req->size, type, prot);
        err = p == NULL ? (int)GetLastError() : 0;
        if (err != 0 && req->fixed != NULL && err == ERROR_INVALID_ADDRESS) err = ERROR_ALREADY_EXISTS;
        if (err == 0 && req->fixed != NULL && p != req->fixed) {
            VirtualFree(p, 0, MEM_RELEASE);
            err = ERROR_ALREADY_EXISTS;
        }
    } else {
        if (req->huge_size != 0) return ERROR_NOT_SUPPORTED;
        err = rp__map_view(req, &p);
        if (err == 0) {
            DWORD old;
            bool copy = !req->shared && req->file != RP__OS_FILE_NONE;
            DWORD prot = rp__native_prot(req->prot);
            /* Copy-on-write views spell "writable" as PAGE_WRITECOPY. */
            if (copy && prot == PAGE_READWRITE) prot = PAGE_WRITECOPY;
            if (copy && prot == PAGE_EXECUTE_READWRITE) prot = PAGE_EXECUTE_WRITECOPY;
            if (!VirtualProtect(p, req->size, prot, &old)) {
                err = (int)GetLastError();
                UnmapViewOfFile(p);
            }
        }
    }
    if (err != 0) return err;
    if (req->populate && req->prot != RP__OS_PROT_NONE) rp__touch(p, req->size);
    *out = p;
    return 0;
}

int rp__os_unmap(void *addr, size_t size) {
    (void)size; /* both calls free the whole allocation or view that starts at addr */
    MEMORY_BASIC_INFORMATION mbi;
    if (VirtualQuery(addr, &mbi, sizeof mbi) != sizeof mbi) return (int)GetLastError();
    if (mbi.Type == MEM_MAPPED) return UnmapViewOfFile(addr) ? 0 : (int)GetLastError();
    return VirtualFree(addr, 0, MEM_RELEASE) ? 0 : (int)GetLastError();
}

int rp__os_remap(void *addr, size_t old_size, size_t new_size, bool may_move, void *dest, void **out) {
    (void)addr;
    (void)old_size;
    (void)new_size;
    (void)may_move;
    (void)dest;
    (void)out;
    return ERROR_NOT_SUPPORTED;
}

bool rp__os_remap_available(void) { return false; }

int rp__os_flush(void *addr, size_t size, bool async, rp__os_file_t file) {
    if (!FlushViewOfFile(addr, size)) return (int)GetLastError();
    /* FlushViewOfFile only starts the writes; a synchronous flush waits for the file too. */
    if (!async && file != RP__OS_FILE_NONE && !FlushFileBuffers((HANDLE)file)) return (int)GetLastError();
    return 0;
}

int rp__os_guard_reader_open(int pid, rp__os_guard_reader_t *out) {
    (void)pid;
    *out = 0;
    return rp__os_err_unsupported();
}

int rp__os_guard_count(rp__os_guard_reader_t reader, uintptr_t start, uintptr_t end, size_t *count) {
    (void)reader;
    (void)start;
    (void)end;
    *count = 0;
    return 0;
}

void rp__os_guard_reader_close(rp__os_guard_reader_t reader) { (void)reader; }

/* A file cannot be shrunk while a view of it exists (SetEndOfFile fails with
 * ERROR_USER_MAPPED_FILE), so the fault POSIX guards against cannot come from truncation here;
 * an in-page I/O error still raises EXCEPTION_IN_PAGE_ERROR (mingw has no __try to catch it). */
int rp__os_copy_guarded(void *dst, const void *src, size_t len, const void *span, size_t span_len) {
    (void)span;
    (void)span_len;
    memcpy(dst, src, len);
    return 0;
}

int rp__os_err_io(void) { return ERROR_IO_DEVICE; }

void rp__os_icache_flush(void *addr, size_t size) { FlushInstructionCache(GetCurrentProcess(), addr, size); }

/* ---- map review: residency and mappable files (the map layer) --------------------------------- */

/* Pages of a secret map here are locked (VirtualLock faults them all in), so a wipe loses nothing
 * by treating every page as resident. */
int rp__os_resident(void *addr, size_t size, unsigned char *vec) {
    (void)addr;
    (void)size;
    (void)vec;
    return rp__os_err_unsupported();
}

int rp__os_file_mappable(rp__os_file_t file) {
    /* Directories do not open without FILE_FLAG_BACKUP_SEMANTICS; pipes and consoles are not disk
     * files and have no size to map. */
    DWORD type = GetFileType((HANDLE)file);
    if (type == FILE_TYPE_DISK) return 0;
    return type == FILE_TYPE_UNKNOWN && GetLastError() != NO_ERROR ? (int)GetLastError() : ERROR_NOT_SUPPORTED;
}

int rp__os_file_remove(const char *path) { return DeleteFileA(path) ? 0 : (int)GetLastError(); }

/* ---- the pool layer ---------------------------------------------------------------------------- */

/* RtlGenRandom, exported by advapi32 as SystemFunction036 (what rand_s uses underneath). */
BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

int rp__os_random(void *buf, size_t len) {
    unsigned char *p = buf;
    while (len > 0) {
        ULONG n = len > 0x10000000u ? 0x10000000u : (ULONG)len;
        if (!SystemFunction036(p, n)) return (int)ERROR_GEN_FAILURE;
        p += n;
        len -= n;
    }
    return 0;
}

int rp__os_random_nowait(void *buf, size_t len) { return rp__os_random(buf, len); /* never waits */ }

/* ---- heap support (the heap layer) ------------------------------------------------------------- */

uint64_t rp__os_clock_ms(void) { return (uint64_t)GetTickCount64(); }

void rp__os_yield(void) { SwitchToThread(); }

/* Fiber-local storage: its callback runs at thread exit, which TLS slots lack. */
int rp__os_thread_key_create(rp__os_thread_exit_fn on_exit, rp__os_thread_key_t *out) {
    DWORD key = FlsAlloc((PFLS_CALLBACK_FUNCTION)on_exit);
    if (key == FLS_OUT_OF_INDEXES) return (int)GetLastError();
    *out = (rp__os_thread_key_t)key;
    return 0;
}

int rp__os_thread_key_set(rp__os_thread_key_t key, void *value) {
    return FlsSetValue((DWORD)key, value) ? 0 : (int)GetLastError();
}

int rp__os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
    (void)prepare;
    (void)parent;
    (void)child;
    return rp__os_err_unsupported();
}

void rp__os_mutex_reset(rp__os_mutex_t *m) { m->srw = NULL; }
