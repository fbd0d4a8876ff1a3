/* SPDX-License-Identifier: MIT */
/* bench/heap/probe.c — says which loaded object serves malloc, free and realloc in this process.
 *
 * The runner starts it under each allocator's LD_PRELOAD before measuring: a library that failed
 * to preload, or that does not actually replace malloc, would otherwise be timed as glibc under
 * another name. Prints one line per function: "<name> <path of the object that defines it>".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
  static const char *const names[] = {"malloc", "free", "realloc"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    Dl_info info;
    void *sym = dlsym(RTLD_DEFAULT, names[i]);
    if (sym == NULL || dladdr(sym, &info) == 0 || info.dli_fname == NULL) {
      printf("%s ?\n", names[i]);
      continue;
    }
    printf("%s %s\n", names[i], info.dli_fname);
  }
  return 0;
}
