/* SPDX-License-Identifier: MIT */
/* heap_preload_fork.c — run under librampart-malloc.so (test_heap_preload_fork): fork and glibc's
 * __libc_* allocator names in a plain program, as glibc's malloc serves them.
 *
 *   1. fork handlers registered before the program's first allocation (here in a constructor,
 *      as a library would): a child handler that allocates, and a prepare handler whose lock a
 *      thread holds while it allocates blocks large and small. The heap registered its own
 *      handlers at the first allocation, inside these: the child found the heap locked, and the
 *      prepare handler waited for a thread that waited for the heap lock (hung every time).
 *      A hang is turned into a failure by alarm().
 *   2. __libc_malloc and friends pair with free and realloc both ways (glibc exports them; before,
 *      they were glibc's own heap under the preload, and a mixed pair aborted).
 * The program first checks that malloc_info is rampart's, so it cannot pass without the preload.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload_expect.h"

void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t alignment, size_t size);

/* Through a volatile pointer: the compiler must not drop an allocation it can see unused. */
static void *(*volatile allocate)(size_t) = malloc;

static pthread_mutex_t program_lock = PTHREAD_MUTEX_INITIALIZER;

static void prepare(void) {
    pthread_mutex_lock(&program_lock);
    free(allocate(1 << 20));
}
static void parent(void) { pthread_mutex_unlock(&program_lock); }
static void child(void) {
    free(allocate(1 << 20));
    free(allocate(64));
    pthread_mutex_unlock(&program_lock);
}

/* Before main and before the program allocates: where a library's constructor registers. */
__attribute__((constructor)) static void register_handlers(void) { pthread_atfork(prepare, parent, child); }

static volatile int stop;

/* Allocates under the program's lock: large blocks (the heap lock) and small ones. */
static void *allocator(void *arg) {
    (void)arg;
    while (!stop) {
        pthread_mutex_lock(&program_lock);
        free(allocate(256 << 10));
        free(allocate(48));
        pthread_mutex_unlock(&program_lock);
    }
    return NULL;
}

static int fork_and_wait(void) {
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        alarm(10);
        free(allocate(1 << 20));
        _exit(0);
    }
    int status = 0;
    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int rampart_is_malloc(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (m == NULL) return 0;
    malloc_info(0, m);
    fclose(m);
    int ours = buf != NULL && strstr(buf, "rampart") != NULL;
    free(buf);
    return ours;
}

int main(void) {
    if (!rampart_is_malloc()) {
        fprintf(stderr, "FAILED: malloc_info is not rampart's: run this under LD_PRELOAD=librampart-malloc.so\n");
        return 1;
    }
    alarm(60); /* a hang fails the test */

    /* 1a. one thread: the child handler allocates */
    for (int i = 0; i < 20; i++) EXPECT(fork_and_wait());
    /* 1b. a thread allocates while it holds the prepare handler's lock */
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, allocator, NULL) == 0);
    int forked = 0;
    for (int i = 0; i < 300; i++) forked += fork_and_wait();
    stop = 1;
    pthread_join(t, NULL);
    EXPECT(forked == 300);

    /* 2. glibc's names pair with the standard ones */
    void *p = __libc_malloc(100);
    EXPECT(p != NULL && malloc_usable_size(p) >= 100);
    free(p);
    p = malloc(100);
    __libc_free(p);
    p = __libc_calloc(10, 10);
    EXPECT(p != NULL && ((unsigned char *)p)[99] == 0);
    p = realloc(p, 1000);
    EXPECT(p != NULL);
    p = __libc_realloc(p, 10);
    free(p);
    p = __libc_memalign(4096, 100);
    EXPECT(p != NULL && ((uintptr_t)p & 4095) == 0);
    free(p);

    if (failures == 0) printf("fork handlers and __libc_* names: ok\n");
    return failures == 0 ? 0 : 1;
}
