/* SPDX-License-Identifier: MIT */
/* heap_startprobe.c — run under librampart-malloc.so (test_heap_preload_start): what the first
 * mallocs of a fresh process cost (issue 12 item 4, short-lived processes under the preload).
 *
 * A shell or a build tool starts thousands of processes that each allocate a few blocks of a few
 * size classes and exit; every page the allocator touches there is a page fault (10-12 us on a
 * virtual machine), every mapping a system call. This checks, in a process of its own:
 *   - blocks of 8 size classes come from one segment (mallinfo2's arena, rampart's mapped bytes,
 *     is at most 512 KiB): a first segment of 256 KiB made the 5th class map a second segment
 *     and its descriptor, two system calls and a page fault (dash uses 5 classes for `sh -c`);
 *   - the first mallocs of those 8 classes take at most 20 page faults in all. Here they take
 *     16-21: one page per class, the thread's cache, the segment's descriptor, the map's three
 *     levels, and the C library's pages that pthread_atfork and the mutexes touch. They took
 *     21-23 while the freed mark's key came from the clock (the vDSO's data page and the C
 *     library's clock code) and a second segment was needed.
 * Without the preload glibc answers (its arena is brk memory, not a multiple of rampart's 64 KiB
 * slices), so the probe checks that rampart answers first.
 * The count is the fewest of three fresh processes (this program run again with "once"): faults
 * on the C library's pages vary with what the page cache holds, one or two from run to run, and
 * a single run crossed the bound about once in fifty under load.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* One fresh process's count: this program run again with "once", which prints the figure; -1
 * when it failed. */
static long faults_of_fresh_process(const char *self) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "once", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[256] = "";
    ssize_t n = pid > 0 ? read(fds[0], out, sizeof out - 1) : -1;
    close(fds[0]);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || n <= 0)
        return -1;
    out[n] = '\0';
    fputs(out, stdout);
    long faults = -1;
    return sscanf(out, "first mallocs of 8 classes: %ld page faults", &faults) == 1 ? faults : -1;
}

static int measure(void);

int main(int argc, char **argv) {
    const char *preload = getenv("LD_PRELOAD");
    if (preload == NULL || strstr(preload, "librampart-malloc") == NULL) {
        fprintf(stderr, "FAILED: run this under LD_PRELOAD=librampart-malloc.so\n");
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "once")) return measure();
    long fewest = -1;
    for (int i = 0; i < 3; i++) {
        long f = faults_of_fresh_process("/proc/self/exe");
        if (f < 0) {
            fprintf(stderr, "FAILED: a fresh process's measurement failed (above)\n");
            return 1;
        }
        if (fewest < 0 || f < fewest) fewest = f;
    }
    if (fewest > 20) {
        fprintf(stderr, "FAILED: the first mallocs of 8 classes took %ld page faults (the fewest of 3 runs), over 20\n",
                fewest);
        return 1;
    }
    return 0;
}

/* One process: the first mallocs of 8 classes, their faults and the mapped bytes printed; 1 when
 * they mapped more than one segment or rampart does not answer. */
static int measure(void) {
    int failures = 0;
    (void)minor_faults(); /* its own code and stack, before counting */
    long before = minor_faults();
    /* 8 classes of one slice each; writing each block makes its page resident, as a program does */
    static const size_t sizes[8] = {16, 32, 48, 64, 96, 128, 192, 256};
    void *volatile blocks[8]; /* volatile: clang removes a malloc whose block is only written and freed */
    for (int i = 0; i < 8; i++) {
        blocks[i] = malloc(sizes[i]);
        if (blocks[i] == NULL) {
            fprintf(stderr, "FAILED: malloc(%zu)\n", sizes[i]);
            return 1;
        }
        memset(blocks[i], 0x5a, sizes[i]);
    }
    long first_faults = minor_faults() - before;

    struct mallinfo2 mi = mallinfo2();
    printf("first mallocs of 8 classes: %ld page faults; mapped: %zu KiB\n", first_faults, mi.arena >> 10);
    if (mi.arena == 0 || mi.arena % (64u << 10) != 0) {
        fprintf(stderr, "FAILED: mallinfo2 is not rampart's (arena %zu bytes)\n", mi.arena);
        return 1;
    }
    if (mi.arena > (512u << 10)) {
        fprintf(stderr, "FAILED: 8 classes mapped %zu KiB, more than one 512 KiB segment\n", mi.arena >> 10);
        failures++;
    }
    for (int i = 0; i < 8; i++) free(blocks[i]);
    return failures == 0 ? 0 : 1;
}
