/* SPDX-License-Identifier: MIT */
/* bench/heap/spawn.c — start cost of short-lived processes under the allocator.
 *
 * A build or a shell script starts thousands of small processes that each allocate a little and
 * exit: what counts there is the allocator's cost at start-up (mapping, first malloc), not its
 * fast path. This starts /bin/true and `/bin/sh -c 'echo ...'` 300 times each (posix_spawn,
 * waiting for each), and they inherit LD_PRELOAD from the launcher, so each child runs under the
 * allocator being measured. The checksum counts the children that exited 0.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <sys/wait.h>

#include "bench.h"

extern char **environ;

static int run(char *const argv[]) {
  pid_t pid;
  if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0) return 0;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return 0;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
  uint64_t n = bench_count(300, bench_scale(argc, argv));
  char *const t[] = {"/bin/true", NULL};
  char *const sh[] = {"/bin/sh", "-c", "echo started >/dev/null", NULL};
  /* a fork-heavy script: every $(...) forks a subshell that runs cut */
  char *const script[] = {"/bin/sh", "-c", "for i in 1 2 3 4; do x=$(echo $i | cut -c1); done", NULL};
  uint64_t ok = 0;
  for (uint64_t i = 0; i < n; i++) ok += (uint64_t)run(t) + (uint64_t)run(sh) + (i % 10 == 0 ? (uint64_t)run(script) : 0);
  bench_report(ok);
  return 0;
}
