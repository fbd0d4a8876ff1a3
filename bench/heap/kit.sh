#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/heap/kit.sh OUT BINDIR RAMPART_SO — pack the heap benchmark into a folder that runs on
# another machine without a build or package access (for example a 16-core machine lent for a
# few minutes): run.py, the built workloads, launch and probe (BINDIR, from `make bench`:
# build-bench/bench/heap), librampart-malloc.so, the installed peers (mimalloc, jemalloc,
# tcmalloc) and the C++ runtime two of them need. The target needs python3 and a glibc at least
# as new as this machine's. OUT/RUN.txt says what to run there.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 OUT BINDIR RAMPART_SO" >&2; exit 2; }
out=$1 bindir=$2 rampart=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/bin" "$out/lib"
cp "$here/run.py" "$out/"
for prog in tight simple small cfrac alloctest larson larsonsized mstress xmalloc scratch pareto bigreuse spawn \
            launch probe; do
    cp "$bindir/$prog" "$out/bin/"
done
cp "$rampart" "$out/lib/librampart-malloc.so"
peers=""
for so in libmimalloc.so.2 libjemalloc.so.2 libtcmalloc_minimal.so.4; do
    path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64/ {print $NF; exit}')
    if [ -n "$path" ]; then
        cp -L "$path" "$out/lib/$so"
        peers="$peers $(echo "$so" | sed 's/^lib//; s/_minimal//; s/\.so.*//')=lib/$so"
    else
        echo "kit.sh: $so not installed here, left out" >&2
    fi
done
# jemalloc and tcmalloc need the C++ runtime; the target may not have it.
for so in libstdc++.so.6 libgcc_s.so.1; do
    path=$(ldconfig -p | awk -v so="$so" '$1 == so && /x86-64/ {print $NF; exit}')
    [ -z "$path" ] || cp -L "$path" "$out/lib/$so"
done
cat > "$out/RUN.txt" <<TXT
On the target machine, from this folder (python3 needed; the C++ runtime is in lib/ for the
peers that need it; LD_LIBRARY_PATH reaches the workloads through the launcher):

  LD_LIBRARY_PATH=\$PWD/lib python3 run.py --bindir bin --threads 16 --out out \\
      glibc$peers rampart=lib/librampart-malloc.so

It writes out/heap-t16.md (tables, paired ratios, targets) and out/heap-t16.json (every run;
python3 run.py --replot out/heap-t16.json --out DIR redraws the page, and the chart where gnuplot
exists). About 10 minutes at 16 threads on 16 cores with the default 5 repetitions at scale 1;
add --reps 3 --scale 0.5 to halve it. --threads 2 gives the 2-thread figures on that machine.
TXT
echo "kit.sh: packed into $out ($(du -sh "$out" | cut -f1)); see $out/RUN.txt"
