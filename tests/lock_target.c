/* SPDX-License-Identifier: MIT */
/* lock_target.c — programs for tests/cli_lock.sh to lock while they run (issue 15):
 *   checksum MAX STOPFILE  four threads keep computing checksums of a static buffer, step after step
 *                          (barriers: futex waits), and the main thread prints one line per step and
 *                          sleeps 10 ms; stops after MAX steps or once STOPFILE exists. The output
 *                          depends on nothing but the step count, so a locked run must print the
 *                          same lines as an untouched one.
 *   blocked                blocks in read() on stdin, then in nanosleep() (3 s), and prints what each
 *                          returned: a lock injected meanwhile must not make either fail with EINTR.
 *   vmlck [fork]           prints its VmLck ("VmLck N kB"); with fork, a fork child prints its own
 *                          ("child VmLck N kB") first. Built static too (lock_target_static).
 *   traced                 forks a child, traces it (PTRACE_SEIZE, as a debugger would), prints its
 *                          pid and waits for stdin to close: the child is "already traced".
 * Small thread stacks and no malloc in the threads keep the mapped size (VmSize, what mlockall charges)
 * under an 8 MiB memlock limit. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 4
#define CHUNK 16384
static unsigned char buffer[THREADS][CHUNK];
static uint64_t sums[THREADS];
static pthread_barrier_t start_bar, done_bar;
static volatile int step, quit;

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg;
    for (;;) {
        pthread_barrier_wait(&start_bar);
        if (quit) return NULL;
        uint64_t h = 1469598103934665603ull ^ (uint64_t)step;
        for (int round = 0; round < 8; round++)
            for (int i = 0; i < CHUNK; i++) {
                buffer[id][i] = (unsigned char)(buffer[id][i] + h);
                h = (h ^ buffer[id][i]) * 1099511628211ull;
            }
        sums[id] = h;
        pthread_barrier_wait(&done_bar);
    }
}

static int checksum(long max, const char *stopfile) {
    pthread_t t[THREADS];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_barrier_init(&start_bar, NULL, THREADS + 1);
    pthread_barrier_init(&done_bar, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], &attr, worker, (void *)(intptr_t)i) != 0) return 1;
    for (step = 0; step < max && access(stopfile, F_OK) != 0; step++) {
        pthread_barrier_wait(&start_bar);
        pthread_barrier_wait(&done_bar);
        uint64_t all = 0;
        for (int i = 0; i < THREADS; i++) all = all * 31 + sums[i];
        printf("step %d checksum %016llx\n", step, (unsigned long long)all);
        fflush(stdout);
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (nanosleep(&ts, NULL) != 0) printf("nanosleep failed: %s\n", strerror(errno));
    }
    quit = 1;
    pthread_barrier_wait(&start_bar);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    return 0;
}

static int blocked(void) {
    char line[64];
    ssize_t n = read(0, line, sizeof line);
    if (n < 0) printf("read failed: %s\n", strerror(errno));
    else printf("read %zd bytes\n", n);
    fflush(stdout);
    /* long enough for the test to see the sleep and unlock the process during it on a loaded machine */
    struct timespec ts = {3, 0};
    if (nanosleep(&ts, NULL) != 0) printf("nanosleep failed: %s\n", strerror(errno));
    else printf("nanosleep ok\n");
    return 0;
}

static int traced(void) {
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        for (;;) pause();
    }
    if (ptrace(PTRACE_SEIZE, child, NULL, NULL) != 0) {
        printf("cannot trace: %s\n", strerror(errno));
        kill(child, SIGKILL);
        return 1;
    }
    printf("%d\n", (int)child);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {}
    kill(child, SIGKILL);
    waitpid(child, NULL, __WALL);
    return 0;
}

static long vmlck_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmLck: %ld", &kb) == 1) break;
    if (f != NULL) fclose(f);
    return kb;
}

static int vmlck(bool fork_child) {
    if (fork_child) {
        pid_t c = fork();
        if (c == 0) {
            printf("child VmLck %ld kB\n", vmlck_kb());
            return 0;
        }
        waitpid(c, NULL, 0);
    }
    printf("VmLck %ld kB\n", vmlck_kb());
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && argc <= 3 && !strcmp(argv[1], "vmlck")) return vmlck(argc == 3 && !strcmp(argv[2], "fork"));
    if (argc == 4 && !strcmp(argv[1], "checksum")) return checksum(atol(argv[2]), argv[3]);
    if (argc == 2 && !strcmp(argv[1], "blocked")) return blocked();
    if (argc == 2 && !strcmp(argv[1], "traced")) return traced();
    fprintf(stderr, "usage: lock_target checksum MAX STOPFILE | vmlck [fork] | blocked | traced\n");
    return 2;
}
