/* SPDX-License-Identifier: MIT */
/* fuzz/replay_main.c — a main() for the fuzz targets without libFuzzer: it feeds every file
 * named on the command line (a directory: every regular file in it, in name order) to
 * LLVMFuzzerTestOneInput once. CTest runs the committed corpus this way with the ordinary
 * compiler (test_fuzz_corpus_<target>), so the model checks run in every `make test`; a check
 * that fails aborts, and the test fails. An empty corpus is a failure too: nothing was tested.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) free(buf);
            buf = bigger;
            cap *= 2;
        }
    }
    int bad = ferror(f) || buf == NULL;
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Replay one path; returns the number of inputs run, -1 on an error. */
static long replay_path(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return replay_file(path) == 0 ? 1 : -1;
    DIR *d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char **more = realloc(names, (count + 1) * sizeof *names);
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (more == NULL || full == NULL) {
            fprintf(stderr, "replay: out of memory listing %s\n", path);
            exit(2);
        }
        names = more;
        snprintf(full, len, "%s/%s", path, e->d_name);
        names[count++] = full;
    }
    closedir(d);
    qsort(names, count, sizeof *names, by_name);
    long run = 0;
    for (size_t i = 0; i < count; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]) != 0) run = -1;
            else if (run >= 0) run++;
        }
        free(names[i]);
    }
    free(names);
    return run;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long n = replay_path(argv[i]);
        if (n < 0) return 1;
        total += n;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no inputs found in the corpus: nothing was tested\n");
        return 1;
    }
    printf("replayed %ld inputs, every model check held\n", total);
    return 0;
}
