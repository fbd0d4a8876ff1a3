/* SPDX-License-Identifier: MIT */
/* bench/heap/launch.c — runs one workload under one allocator and measures it.
 *
 *   launch [--cpu N] PRELOAD PROGRAM [ARGS...]
 *
 * --cpu N runs the child on CPU N only (sched_setaffinity before exec): run.py pins the
 * single-thread workloads so that every allocator's run of one workload lands on the same CPU
 * (on a shared virtual machine one CPU can run memory-bound code far slower than another).
 * PRELOAD is the path of a malloc library to put in LD_PRELOAD for the child only, or "-" for none
 * (the system allocator; an inherited LD_PRELOAD is removed). The child's output passes through;
 * after it ends, one line goes to stdout:
 *
 *   launch wall_ns=N maxrss_kib=N status=exit:N|signal:N
 *
 * Wall time is CLOCK_MONOTONIC around fork..wait4, so it includes loading the allocator (part of
 * its cost). Peak RSS is the child's ru_maxrss from wait4, which the kernel keeps across exec, so
 * no sampling can miss a short peak and no extra package (GNU time) is needed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  const char *self = argv[0];
  long cpu = -1;
  if (argc >= 3 && strcmp(argv[1], "--cpu") == 0) {
    char *end = NULL;
    errno = 0;
    cpu = strtol(argv[2], &end, 10);
    if (errno != 0 || end == argv[2] || *end != '\0' || cpu < 0 || cpu >= CPU_SETSIZE) {
      fprintf(stderr, "launch: --cpu takes a CPU number below %d, not '%s'\n", CPU_SETSIZE, argv[2]);
      return 2;
    }
    argc -= 2;
    argv += 2;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: %s [--cpu N] PRELOAD|- PROGRAM [ARGS...]\n", self);
    return 2;
  }
  const char *preload = argv[1];
  fflush(stdout);
  long long start = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "launch: fork: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    int rc = strcmp(preload, "-") == 0 ? unsetenv("LD_PRELOAD") : setenv("LD_PRELOAD", preload, 1);
    if (rc != 0) {
      fprintf(stderr, "launch: setting LD_PRELOAD: %s\n", strerror(errno));
      _exit(127);
    }
    if (cpu >= 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET((int)cpu, &one);
      if (sched_setaffinity(0, sizeof one, &one) != 0) {
        fprintf(stderr, "launch: cannot run on CPU %ld: %s\n", cpu, strerror(errno));
        _exit(127);
      }
    }
    execv(argv[2], argv + 2);
    fprintf(stderr, "launch: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  pid_t got;
  do {
    got = wait4(pid, &status, 0, &ru);
  } while (got < 0 && errno == EINTR);
  long long wall = now_ns() - start;
  if (got < 0) {
    fprintf(stderr, "launch: wait4: %s\n", strerror(errno));
    return 1;
  }
  if (WIFSIGNALED(status))
    printf("launch wall_ns=%lld maxrss_kib=%ld status=signal:%d\n", wall, ru.ru_maxrss, WTERMSIG(status));
  else
    printf("launch wall_ns=%lld maxrss_kib=%ld status=exit:%d\n", wall, ru.ru_maxrss, WEXITSTATUS(status));
  return 0;
}
