/* SPDX-License-Identifier: MIT */
/* run.c — `rampart run [--onfault] [--best-effort] [--] CMD ARGS...`: run an unmodified program
 * with its memory locked. Memory locks do not survive exec, so this command does not lock
 * anything itself: it preloads librampart-lock.so into CMD (LD_PRELOAD) with RAMPART_LOCK set from
 * the options, and that library locks CMD's memory before CMD's main() runs; a required lock that
 * fails stops CMD from running (exit status RP_LOCKALL_EXIT_FAILURE) with the diagnosis on stderr.
 *
 * The library is looked for in this order: $RAMPART_LOCK_LIBRARY; the install's library directory
 * relative to this binary (RP_RUN_BIN_TO_LIB from the build: PREFIX/bin/rampart,
 * PREFIX/lib/librampart-lock.so, or lib64, lib/x86_64-linux-gnu, ...); the build tree
 * (BUILD/tools/rampart/rampart, BUILD/librampart-lock.so).
 *
 * The dynamic loader ignores LD_PRELOAD for statically linked programs and for set-user-ID,
 * set-group-ID or file-capability programs, and skips a library built for another ELF class or
 * machine (a 32-bit program on a 64-bit system); CMD is checked for those first, so a required
 * lock is never silently skipped. A static CMD, or any with --ptrace / --follow, is run traced
 * instead (run_traced.c: mlockall injected at its exec stop); so is a library path that LD_PRELOAD cannot carry (a space or a
 * colon in it). Programs CMD starts are not checked (rampart is gone by then): static,
 * set-user-ID and file-capability ones run unlocked, which --help says. CMD is run with execvp,
 * so a file without #! runs in /bin/sh as a shell would run it. Exit status: CMD's own, or 125
 * (lock failed / cannot preload), 126 (CMD cannot be executed), 127 (CMD not found), 2 (bad
 * arguments). POSIX only.
 */
/* realpath, readlink, pread, setenv, getxattr, O_CLOEXEC: POSIX and Linux, not ISO C. */
#define _GNU_SOURCE 1

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"
#include "internal.h"
#include "rampart.h"

#define RP_RUN_LIBRARY "librampart-lock.so"
/* Set by tools/rampart/lockall.cmake from CMAKE_INSTALL_BINDIR and CMAKE_INSTALL_LIBDIR. */
#ifndef RP_RUN_BIN_TO_LIB
#  define RP_RUN_BIN_TO_LIB "../lib"
#endif

static void rp_run_usage(FILE *out) {
    fprintf(out,
            "usage: rampart run [--onfault] [--best-effort] [--ptrace | --follow] [--] CMD [ARGS...]\n"
            "  run CMD with all of its memory locked in RAM (current and future pages), through the\n"
            "  preload library " RP_RUN_LIBRARY " (RAMPART_LOCK=current,future[,onfault][,best-effort]).\n"
            "  --onfault      lock pages as CMD first touches them instead of faulting them all in now\n"
            "  --best-effort  run CMD unlocked (with a warning) when locking fails; by default CMD\n"
            "                 does not run and the exit status is %d\n"
            "  CMD is found and started as execvp does (PATH search; a file without #! runs in /bin/sh).\n"
            "  --ptrace       lock CMD through ptrace instead of the preload: CMD starts traced and calls\n"
            "                 mlockall at its exec stop, before its first instruction. A statically\n"
            "                 linked CMD (Go, Vault, etcd) is always run this way.\n"
            "  --follow       --ptrace, and stay attached: every program CMD and its descendants exec\n"
            "                 (static or dynamic) and every fork child is locked the same way\n"
            "  CMD itself is checked first: a set-user-ID, set-group-ID or file-capability CMD cannot\n"
            "  take the preload nor keep its privileges under ptrace and is refused (exit %d;\n"
            "  --best-effort runs it unlocked, with a warning). Its fork children are locked again.\n"
            "  Dynamically linked programs CMD starts inherit the preload and lock themselves; without\n"
            "  --follow, static, set-user-ID and file-capability programs it starts run unlocked.\n"
            "  RAMPART_LOCK_LIBRARY=PATH overrides where the library is found.\n"
            "  Check the result with `rampart status PID` (exit 0 only when locked as a whole).\n",
            RP_LOCKALL_EXIT_FAILURE,
            RP_LOCKALL_EXIT_FAILURE);
}

/* The preload library: an absolute path in out, or false with the places tried on stderr. */
static bool rp_run_find_library(char *out, size_t size) {
    /* Secure: a privileged rampart must not preload a library its caller chose. */
    const char *env = rp__env_get("RAMPART_LOCK_LIBRARY", true);
    char path[PATH_MAX + sizeof RP_RUN_BIN_TO_LIB + sizeof RP_RUN_LIBRARY + 8], resolved[PATH_MAX];
    if (env != NULL && env[0] != '\0') {
        if (realpath(env, resolved) != NULL && access(resolved, R_OK) == 0) {
            snprintf(out, size, "%s", resolved);
            return true;
        }
        int err = errno;
        char shown[PATH_MAX];
        fprintf(stderr, "rampart run: RAMPART_LOCK_LIBRARY=\"%s\": %s (expected the path of a readable "
                        RP_RUN_LIBRARY ")\n", rp__env_printable(env, strlen(env), shown, sizeof shown), strerror(err));
        return false;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        fprintf(stderr, "rampart run: cannot find this program's directory (/proc/self/exe): %s; "
                        "set RAMPART_LOCK_LIBRARY=/path/to/" RP_RUN_LIBRARY "\n", strerror(errno));
        return false;
    }
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    static const char *const places[] = {"%s/" RP_RUN_BIN_TO_LIB "/" RP_RUN_LIBRARY, "%s/../../" RP_RUN_LIBRARY};
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        snprintf(path, sizeof path, places[i], exe);
        if (realpath(path, resolved) != NULL && access(resolved, R_OK) == 0) {
            snprintf(out, size, "%s", resolved);
            return true;
        }
    }
    fprintf(stderr, "rampart run: " RP_RUN_LIBRARY " is neither in %s/" RP_RUN_BIN_TO_LIB "/ (installed) nor in %s/../../ (build "
                    "tree); set RAMPART_LOCK_LIBRARY=/path/to/" RP_RUN_LIBRARY "\n", exe, exe);
    return false;
}

/* Whether path names an executable regular file: what execvp would run (a directory of the same
 * name earlier in PATH is passed over, as execvp does). */
static bool rp_run_executable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The file execvp will run for CMD (its PATH search for a bare name), or false when there is
 * none: then execvp itself fails and says why. Only for the checks below; the exec is execvp's. */
static bool rp_run_which(const char *cmd, char *out, size_t size) {
    if (strchr(cmd, '/') != NULL) {
        snprintf(out, size, "%s", cmd);
        return access(out, F_OK) == 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(out, size, "%.*s/%s", (int)(len ? len : 1), len ? p : ".", cmd);
        if (rp_run_executable(out)) return true;
        p += len;
        if (*p == ':') p++;
    }
    return false;
}

/* What the dynamic loader compares before it loads a library into a program. */
typedef struct rp_run_elf {
    unsigned char elf_class, data;  /* ELFCLASS32/64, ELFDATA2LSB/MSB */
    unsigned machine;               /* EM_X86_64, EM_386, ... */
    bool dynamic;                   /* has a PT_INTERP program header naming the loader */
} rp_run_elf_t;

/* Read the ELF identity of the file at path; false when it is not ELF (or unreadable). */
static bool rp_run_elf_read(const char *path, rp_run_elf_t *out) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    unsigned char ident[EI_NIDENT];
    bool elf = pread(fd, ident, sizeof ident, 0) == (ssize_t)sizeof ident && memcmp(ident, ELFMAG, SELFMAG) == 0;
    if (elf) {
        memset(out, 0, sizeof *out);
        out->elf_class = ident[EI_CLASS];
        out->data = ident[EI_DATA];
        /* The two classes differ only in where the header fields sit; the program-header scan
         * is shared (p_type is the first word of both Elf32_Phdr and Elf64_Phdr). */
        uint64_t phoff = 0;
        unsigned phnum = 0, phentsize = 0;
        if (ident[EI_CLASS] == ELFCLASS64) {
            Elf64_Ehdr eh;
            if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh) {
                out->machine = eh.e_machine;
                phoff = eh.e_phoff;
                phnum = eh.e_phnum;
                phentsize = eh.e_phentsize;
            }
        } else if (ident[EI_CLASS] == ELFCLASS32) {
            Elf32_Ehdr eh;
            if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh) {
                out->machine = eh.e_machine;
                phoff = eh.e_phoff;
                phnum = eh.e_phnum;
                phentsize = eh.e_phentsize;
            }
        }
        for (unsigned i = 0; i < phnum && !out->dynamic; i++) {
            Elf32_Word type;
            if (pread(fd, &type, sizeof type, (off_t)(phoff + (uint64_t)i * phentsize)) == (ssize_t)sizeof type)
                out->dynamic = type == PT_INTERP;
        }
    }
    close(fd);
    return elf;
}

/* The program headers of the ELF file fd, in one shape for both classes. */
typedef struct {
    uint32_t type;
    uint64_t offset, vaddr, filesz;
} rp_run_phdr_t;

static bool rp_run_phdr_read(int fd, const rp_run_elf_t *elf, uint64_t at, rp_run_phdr_t *out) {
    if (elf->elf_class == ELFCLASS64) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)at) != (ssize_t)sizeof ph) return false;
        *out = (rp_run_phdr_t){ph.p_type, ph.p_offset, ph.p_vaddr, ph.p_filesz};
    } else {
        Elf32_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)at) != (ssize_t)sizeof ph) return false;
        *out = (rp_run_phdr_t){ph.p_type, ph.p_offset, ph.p_vaddr, ph.p_filesz};
    }
    return true;
}

/* The SONAME of the shared library at path (this machine's byte order) into out, or false when
 * it is not such a library or has none. Read from the file: loading it would run its code. */
static bool rp_run_soname(const char *path, char *out, size_t size) {
    rp_run_elf_t elf;
    if (!rp_run_elf_read(path, &elf) || (elf.elf_class != ELFCLASS64 && elf.elf_class != ELFCLASS32)) return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool is64 = elf.elf_class == ELFCLASS64;
    uint64_t phoff = 0;
    unsigned phnum = 0, phentsize = 0, type = 0;
    if (is64) {
        Elf64_Ehdr eh;
        if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh)
            phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize, type = eh.e_type;
    } else {
        Elf32_Ehdr eh;
        if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh)
            phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize, type = eh.e_type;
    }
    rp_run_phdr_t dyn = {0, 0, 0, 0}, loads[16];
    unsigned nloads = 0;
    for (unsigned i = 0; type == ET_DYN && i < phnum; i++) {
        rp_run_phdr_t ph;
        if (!rp_run_phdr_read(fd, &elf, phoff + (uint64_t)i * phentsize, &ph)) break;
        if (ph.type == PT_DYNAMIC) dyn = ph;
        else if (ph.type == PT_LOAD && nloads < 16) loads[nloads++] = ph;
    }
    /* The dynamic section: DT_STRTAB (an address) and DT_SONAME (an offset into that table). */
    uint64_t strtab = 0, soname = UINT64_MAX;
    size_t entsize = is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
    for (uint64_t at = 0; dyn.type == PT_DYNAMIC && at + entsize <= dyn.filesz; at += entsize) {
        int64_t tag;
        uint64_t val;
        if (is64) {
            Elf64_Dyn d;
            if (pread(fd, &d, sizeof d, (off_t)(dyn.offset + at)) != (ssize_t)sizeof d) break;
            tag = d.d_tag, val = d.d_un.d_val;
        } else {
            Elf32_Dyn d;
            if (pread(fd, &d, sizeof d, (off_t)(dyn.offset + at)) != (ssize_t)sizeof d) break;
            tag = d.d_tag, val = d.d_un.d_val;
        }
        if (tag == DT_NULL) break;
        if (tag == DT_STRTAB) strtab = val;
        else if (tag == DT_SONAME) soname = val;
    }
    bool ok = false;
    for (unsigned i = 0; soname != UINT64_MAX && i < nloads && !ok; i++) {
        if (strtab < loads[i].vaddr || strtab - loads[i].vaddr >= loads[i].filesz) continue;
        ssize_t n = pread(fd, out, size - 1, (off_t)(loads[i].offset + (strtab - loads[i].vaddr) + soname));
        if (n > 0) {
            out[n] = '\0';
            ok = strlen(out) < (size_t)n || (size_t)n < size - 1; /* the whole name, ended by its NUL */
        }
    }
    close(fd);
    return ok;
}

/* Whether the library at path is rampart's lock library, by its SONAME; false with the reason
 * on stderr. Any other library (a typo in RAMPART_LOCK_LIBRARY naming libm, say) would be
 * preloaded, lock nothing, and CMD would run unlocked with exit status 0. */
static bool rp_run_is_lock_library(const char *path) {
    char soname[256];
    bool named = rp_run_soname(path, soname, sizeof soname);
    if (named && strcmp(soname, RP_RUN_LIBRARY) == 0) return true;
    fprintf(stderr, "rampart run: %s is not rampart's lock library (%s%s), so the program would run unlocked; "
                    "set RAMPART_LOCK_LIBRARY to the path of " RP_RUN_LIBRARY "\n",
            path, named ? "its SONAME is " : "not a shared library with a SONAME", named ? soname : "");
    return false;
}

/* Why the dynamic loader would not preload the library lib into the file at path, or NULL when
 * it would (or when the file is a script or not ELF: then its interpreter is what runs). */
static const char *rp_run_unpreloadable(const char *path, const char *lib) {
    struct stat st;
    if (stat(path, &st) != 0) return NULL;
    if (st.st_mode & (S_ISUID | S_ISGID))
        return "it is set-user-ID or set-group-ID: the dynamic loader ignores LD_PRELOAD for it";
    if (getxattr(path, "security.capability", NULL, 0) > 0)
        return "it has file capabilities (setcap): the dynamic loader ignores LD_PRELOAD for it";
    rp_run_elf_t cmd, ours;
    if (!rp_run_elf_read(path, &cmd)) return NULL;
    if (!cmd.dynamic) return "it is statically linked: there is no dynamic loader to preload the library";
    /* A 32-bit program on a 64-bit system (or another machine's, under binfmt): its loader skips
     * our library with a warning and runs the program unlocked. */
    if (rp_run_elf_read(lib, &ours) &&
        (cmd.elf_class != ours.elf_class || cmd.data != ours.data || cmd.machine != ours.machine))
        return cmd.elf_class != ours.elf_class
                   ? "it is built for a different word size (32/64-bit) than " RP_RUN_LIBRARY ": the loader would skip the library"
                   : "it is built for a different machine than " RP_RUN_LIBRARY ": the loader would skip the library";
    return NULL;
}

/* The file the kernel runs for path: path itself, or for a script (#!) its interpreter, followed
 * through interpreters that are scripts too, as far as the kernel follows them (4 levels). The
 * checks below are about that file: a script whose interpreter is static would otherwise be
 * taken for a dynamic program, get LD_PRELOAD, and run unlocked. */
static void rp_run_image(const char *path, char *out, size_t size) {
    snprintf(out, size, "%s", path);
    for (int depth = 0; depth < 4; depth++) {
        char head[PATH_MAX + 3];
        int fd = open(out, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        ssize_t n = read(fd, head, sizeof head - 1);
        close(fd);
        if (n < 3 || head[0] != '#' || head[1] != '!') return;
        head[n] = '\0';
        char *interp = head + 2 + strspn(head + 2, " \t");
        interp[strcspn(interp, " \t\n")] = '\0';
        if (interp[0] == '\0') return;
        snprintf(out, size, "%s", interp);
    }
}

int rp_cli_run(int argc, char **argv) {
    bool onfault = false, best_effort = false, traced = false, follow = false;
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--")) {
            i++;
            break;
        }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            rp_run_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--onfault")) onfault = true;
        else if (!strcmp(argv[i], "--best-effort")) best_effort = true;
        else if (!strcmp(argv[i], "--ptrace")) traced = true;
        else if (!strcmp(argv[i], "--follow")) traced = follow = true;
        else {
            fprintf(stderr, "rampart run: unknown option '%s'\n", argv[i]);
            rp_run_usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "rampart run: no command given\n");
        rp_run_usage(stderr);
        return 2;
    }
    char **cmd = argv + i;

    char exe[PATH_MAX], image[PATH_MAX];
    bool found = rp_run_which(cmd[0], exe, sizeof exe);
    if (found) rp_run_image(exe, image, sizeof image);
    /* What ptrace can lock and the preload cannot: a static program (no library needed then). */
    static const char rp_run_static[] = "it is statically linked";
    const char *why = found ? rp_run_unpreloadable(image, "") : NULL;
    if (why != NULL && !strncmp(why, rp_run_static, sizeof rp_run_static - 1)) traced = true;
    char lib[PATH_MAX] = "";
    if (!traced) {
        if (!rp_run_find_library(lib, sizeof lib) || !rp_run_is_lock_library(lib)) return RP_LOCKALL_EXIT_FAILURE;
        /* LD_PRELOAD splits its value at spaces and colons, with no way to quote them: the loader
         * would look for the pieces, warn, and run CMD unlocked. */
        if (strpbrk(lib, " \t\n:") != NULL) {
            fprintf(stderr, "rampart run: the path %s has a space or a colon, which LD_PRELOAD cannot carry, so %s "
                            "would run unlocked; copy " RP_RUN_LIBRARY " to a path without them and set "
                            "RAMPART_LOCK_LIBRARY=/that/path/" RP_RUN_LIBRARY "\n", lib, cmd[0]);
            return RP_LOCKALL_EXIT_FAILURE;
        }
    }
    /* A set-user-ID or file-capability CMD would lose its privileges under ptrace too: refused. */
    why = found ? rp_run_unpreloadable(image, lib) : NULL;
    if (why != NULL && !strncmp(why, rp_run_static, sizeof rp_run_static - 1)) why = NULL;
    if (why != NULL) {
        fprintf(stderr, "rampart run: %s cannot be locked this way: %s.\n"
                        "  Call rp_lockall() in the program instead%s.\n",
                image, why, best_effort ? "; running it unlocked (best effort)" : "");
        if (!best_effort) return RP_LOCKALL_EXIT_FAILURE;
        traced = false; /* run it as it is: traced, it would lose its privileges */
    }
    if (traced) return rp_cli_run_traced(cmd, onfault, best_effort, follow);
    char spec[64];
    snprintf(spec, sizeof spec, "current,future%s%s", onfault ? ",onfault" : "", best_effort ? ",best-effort" : "");
    /* Ours goes last: a sanitizer runtime the user preloads must stay first. */
    const char *old = getenv("LD_PRELOAD");
    size_t need = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
    char *preload = malloc(need);
    if (preload == NULL) {
        fprintf(stderr, "rampart run: out of memory\n");
        return RP_LOCKALL_EXIT_FAILURE;
    }
    if (old != NULL && old[0] != '\0') snprintf(preload, need, "%s:%s", old, lib);
    else snprintf(preload, need, "%s", lib);
    if (setenv("RAMPART_LOCK", spec, 1) != 0 || setenv("LD_PRELOAD", preload, 1) != 0) {
        fprintf(stderr, "rampart run: cannot set the environment: %s\n", strerror(errno));
        free(preload);
        return RP_LOCKALL_EXIT_FAILURE;
    }
    free(preload);
    fflush(NULL);
    /* execvp, not execv of the file found above: it keeps the shell's fallback for a file without
     * #! (ENOEXEC: run it with /bin/sh) and its own PATH rules. */
    execvp(cmd[0], cmd);
    int err = errno;
    if (err == ENOENT)
        fprintf(stderr, "rampart run: %s: command not found\n", cmd[0]);
    else if (!found && err == EACCES) /* execvp met a PATH entry it may not search or run, as env(1) does */
        fprintf(stderr, "rampart run: %s: not found, and a directory or file on the way was not accessible: %s\n",
                cmd[0], strerror(err));
    else
        fprintf(stderr, "rampart run: cannot run %s: %s\n", found ? exe : cmd[0], strerror(err));
    return err == ENOENT ? 127 : 126;
}
