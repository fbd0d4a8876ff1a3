#!/bin/sh
# SPDX-License-Identifier: MIT
# heap_preload.sh WHAT LIB [TEST BINARIES...] — run real programs unchanged under
# LD_PRELOAD=librampart-malloc.so (issue 6 item 5): python3 running a script, gcc compiling and
# linking a file, git init/add/commit/log, make building with two rules, the test suite itself, or
# a program that runs out of address space (malloc must fail cleanly, never hang or crash), or a
# probe under small address-space limits against glibc's malloc.
# Each first checks that the preload is really mapped into the program. Exit 77 (skipped) only
# when the program is missing.
set -u
what=$1
lib=$2
shift 2
need() {
    command -v "$1" >/dev/null 2>&1 || { echo "SKIPPED: $1 is missing (Debian package $2; .ci/run installs it)"; exit 77; }
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pre() { LD_PRELOAD="$lib" "$@"; }

case $what in
python)
    need python3 python3
    cat > script.py <<'PY'
import json, collections, re
maps = open("/proc/self/maps").read()
assert "librampart-malloc" in maps, "preload not mapped"
data = [{"id": i, "name": "x" * (i % 300), "tags": list(range(i % 17))} for i in range(60000)]
text = json.dumps(data)
back = json.loads(text)
assert back == data
words = collections.Counter(re.findall(r"[a-z]+", text))
big = [bytearray(1 << 20) for _ in range(20)]
del big
print("python ok", len(text), words["name"])
PY
    pre python3 script.py || exit 1
    ;;
gcc)
    need gcc build-essential
    cat > hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char *s = malloc(64);
    strcpy(s, "compiled under rampart");
    puts(s);
    free(s);
    return 0;
}
C
    pre gcc -O2 -Wall -o hello hello.c || exit 1
    out=$(pre ./hello) || exit 1
    [ "$out" = "compiled under rampart" ] || { echo "unexpected output: $out"; exit 1; }
    pre sh -c 'grep -q librampart-malloc /proc/$$/maps' || { echo "preload not mapped"; exit 1; }
    echo "gcc ok"
    ;;
git)
    need git git
    export GIT_CONFIG_NOSYSTEM=1 HOME="$tmp"
    pre git init -q repo || exit 1
    cd repo || exit 1
    for i in 1 2 3 4 5; do seq 1 $((i * 2000)) > "file$i.txt"; done
    pre git add . || exit 1
    pre git -c user.name=rampart -c user.email=r@example.org commit -qm "under the preload" || exit 1
    seq 1 5 >> file1.txt
    pre git -c user.name=rampart -c user.email=r@example.org commit -qam "second" || exit 1
    pre git log --oneline | grep -q "under the preload" || exit 1
    pre git diff HEAD~1 --stat | grep -q file1.txt || exit 1
    pre git fsck 2>/dev/null || exit 1
    echo "git ok"
    ;;
make)
    need make make
    need cc build-essential
    printf 'int two(void) { return 2; }\n' > two.c
    printf 'int two(void);\nint main(void) { return two() == 2 ? 0 : 1; }\n' > main.c
    printf 'prog: main.o two.o\n\tcc -o prog main.o two.o\n%%.o: %%.c\n\tcc -c -o $@ $<\n' > Makefile
    pre make -s || exit 1
    pre ./prog || exit 1
    echo "make ok"
    ;;
suite)
    for t in "$@"; do
        echo "== $t under the preload"
        pre "$t" || { echo "FAILED: $t under the preload"; exit 1; }
    done
    ;;
oom)
    # cat sets up its locale first; glibc allocates inside textdomain() while holding its locale
    # lock, so a failing malloc must not reach anything that takes that lock (strerror's
    # translation did, and the program hung). Under each address-space limit the program must
    # finish: it may print "memory exhausted", or the loader may refuse, but it may not hang or
    # die of a signal.
    need timeout coreutils
    for kib in 5000 6000 7000 8000 10000 12000 16000; do
        ( ulimit -v $kib; timeout 20 env LD_PRELOAD="$lib" cat /proc/self/status >/dev/null 2>err )
        rc=$?
        echo "address space ${kib} KiB: exit $rc $(head -c 80 err)"
        [ $rc -eq 124 ] && { echo "FAILED: hung under a ${kib} KiB address-space limit"; exit 1; }
        [ $rc -gt 128 ] && { echo "FAILED: killed by signal $((rc - 128)) under a ${kib} KiB limit"; exit 1; }
    done
    echo "oom ok"
    ;;
aslimit)
    # A preloaded program that allocates little maps little (issue 12): under address-space
    # limits of 6, 12 and 18 MiB the probe ($1) must load and serve within 3 MiB of what it gets
    # from glibc's malloc (the library's own mapping and one segment). Before, the first malloc
    # mapped a 4 MiB segment and a 2 MiB map leaf next to a 2 MiB .bss root: nothing was served
    # under 6 MiB and 5-6 MiB less than glibc under 12 and 18 MiB.
    need prlimit util-linux
    probe=$1
    for mib in 6 12 18; do
        as=$((mib * 1024 * 1024))
        glibc=$(prlimit --as=$as "$probe") || { echo "FAILED: the probe fails under glibc at $mib MiB"; exit 1; }
        ours=$(LD_PRELOAD="$lib" prlimit --as=$as "$probe" 2>err) || { echo "FAILED: exit $? at $mib MiB: $(head -c 200 err)"; exit 1; }
        grep -q "cannot be preloaded" err && { echo "FAILED: the preload did not load at $mib MiB"; exit 1; }
        echo "address space $mib MiB: glibc serves $glibc bytes, the preload $ours"
        [ "$ours" -gt 0 ] || { echo "FAILED: no malloc succeeded under the preload at $mib MiB"; exit 1; }
        [ $((glibc - ours)) -le $((3 * 1024 * 1024)) ] || { echo "FAILED: more than 3 MiB below glibc at $mib MiB"; exit 1; }
    done
    LD_PRELOAD="$lib" sh -c 'grep -q librampart-malloc /proc/$$/maps' || { echo "preload not mapped"; exit 1; }
    echo "aslimit ok"
    ;;
*)
    echo "unknown case $what"; exit 2 ;;
esac
