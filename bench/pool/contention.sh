#!/bin/sh
# SPDX-License-Identifier: MIT
# contention.sh — lock contention of the secure pool and its peers, counted with perf's software
# events (this VM has no hardware counters): for each allocator, pattern and thread count, runs
# `bench_pool --run` under `perf stat` and writes, per 1000 operations, the futex system calls (a
# user-space lock that is contended sleeps and wakes through futex; one that is not never enters
# the kernel), the kernel's lock contentions (lock:contention_begin: mmap_lock and the like, taken
# by mmap, mprotect and mlock), the memory system calls (mmap, munmap, mprotect, mlock, munlock,
# madvise: an allocator that maps or locks in its steady state shows here) and the context
# switches.
#
# Usage: contention.sh BENCH_POOL OUT.md [THREADS]
# THREADS: a count N (1, 2, 4, ... N; default 2) or a rising list such as 1,4,16 (1 is added).
# Without perf, or when perf may not open the events (perf_event_paranoid; run as root), it says
# so and leaves OUT.md as it was. What follows a line "<!-- analysis -->" in the OUT.md there is
# (findings written by hand: profiles, what could not be measured) is kept below the new table.
set -u
bench=$1 out=$2 max=${3:-2}
memcalls=syscalls:sys_enter_mmap,syscalls:sys_enter_munmap,syscalls:sys_enter_mprotect,syscalls:sys_enter_mlock,syscalls:sys_enter_munlock,syscalls:sys_enter_madvise
events=syscalls:sys_enter_futex,lock:contention_begin,context-switches,$memcalls
if ! command -v perf >/dev/null 2>&1; then
  echo "contention.sh: perf not found (Debian package linux-perf): $out not written" >&2; exit 0
fi
if ! perf stat -x, -e "$events" true >/dev/null 2>&1; then
  echo "contention.sh: perf cannot open $events here (try as root): $out not written" >&2; exit 0
fi
case $max in
  *,*) threads=$(echo "1,$max" | tr ',' '\n' | awk '!seen[$0]++' | tr '\n' ' ') ;;
  *)
    threads=1; t=2
    while [ "$t" -le "$max" ]; do threads="$threads $t"; t=$((t * 2)); done
    case " $threads " in *" $max "*) ;; *) threads="$threads $max" ;; esac
    ;;
esac

tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp" "$tmp.stat"' EXIT
{
  echo "# Secure pool benchmark: lock contention"
  echo
  echo "Written by \`make bench\` (bench/pool/contention.sh) on $(uname -sr), $(nproc) CPUs. Each line is one"
  echo "\`bench_pool --run ALLOCATOR PATTERN THREADS\` under \`perf stat\`, counted per 1000 operations"
  echo "(one alloc + one free), calibration included. futex: a contended user-space lock sleeps and"
  echo "wakes through futex, an uncontended one never enters the kernel (thread start and join add a"
  echo "few per run). kernel locks: lock:contention_begin, kernel locks such as mmap_lock that mmap,"
  echo "mprotect and mlock take. memory calls: mmap, munmap, mprotect, mlock, munlock and madvise"
  echo "together; an allocator that maps or locks memory in its steady state shows here. Software"
  echo "events only: this VM has no hardware counters, so cache misses and cycles spinning in user"
  echo "space are not counted."
  echo
  echo "| allocator | pattern | threads | Mops/s (median of 5) | futex / 1000 ops | kernel lock contentions / 1000 ops | memory calls / 1000 ops | context switches / 1000 ops |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|"
} >"$tmp"
"$bench" --list | grep -v '^floor' | while IFS= read -r name; do
  for pattern in pairs mixed; do
    for n in $threads; do
      if ! perf stat -x, -o "$tmp.stat" -e "$events" "$bench" --run "$name" "$pattern" "$n" >"$tmp.run" 2>/dev/null; then
        echo "| $name | $pattern | $n | failed (NULL or error) | | | | |" >>"$tmp"; continue
      fi
      awk -F, -v name="$name" -v pattern="$pattern" -v n="$n" -v run="$tmp.run" '
        BEGIN {
          k = 0
          while ((getline line < run) > 0) {
            if (line ~ /^operations /) { split(line, w, " "); ops = w[2] }
            else if (line ~ /Mops\/s/) { sub(/.*: /, "", line); sub(/ Mops.*/, "", line); v[++k] = line + 0 }
          }
          for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
        }
        $3 == "syscalls:sys_enter_futex" { futex = $1 }
        $3 == "lock:contention_begin" { klock = $1 }
        $3 == "context-switches" { cs = $1 }
        $3 ~ /^syscalls:sys_enter_m/ { mem += $1 }
        END {
          if (ops == 0) { printf "| %s | %s | %d | failed (NULL or error) | | | | |\n", name, pattern, n; exit }
          printf "| %s | %s | %d | %.3g | %.3f | %.3f | %.3f | %.3f |\n", name, pattern, n, v[int((k + 1) / 2)],
                 futex * 1000 / ops, klock * 1000 / ops, mem * 1000 / ops, cs * 1000 / ops
        }' "$tmp.stat" >>"$tmp"
      rm -f "$tmp.run"
    done
  done
done
if [ -f "$out" ] && grep -q '^<!-- analysis -->$' "$out"; then
  { echo; sed -n '/^<!-- analysis -->$/,$p' "$out"; } >>"$tmp"
fi
cp "$tmp" "$out" && echo "contention.sh: wrote $out" >&2
