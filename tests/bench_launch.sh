#!/bin/sh
# SPDX-License-Identifier: MIT
# bench_launch.sh LAUNCH — the heap benchmark's launcher (bench/heap/launch.c): its report line,
# and --cpu, which run.py uses to put every allocator's run of a single-thread workload on the
# same CPU. Usage: sh bench_launch.sh PATH_TO_LAUNCH
set -u
launch=$1
fail=0
check() { # what, condition result (0 = holds)
    if [ "$2" -ne 0 ]; then echo "FAILED: $1"; fail=1; else echo "ok: $1"; fi
}

out=$("$launch" - /bin/sh -c 'exit 3')
echo "$out" | grep -Eq '^launch wall_ns=[0-9]+ maxrss_kib=[0-9]+ status=exit:3$'
check "the report line carries the child's exit status ($out)" $?

# The CPUs this test may use; the last one is the least likely to be the default.
cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
last=$(echo "$cpus" | tr ',' '\n' | tail -n 1 | sed 's/.*-//')
got=$("$launch" --cpu "$last" - /bin/sh -c 'sed -n "s/^Cpus_allowed_list:[[:space:]]*//p" /proc/self/status' | head -n 1)
[ "$got" = "$last" ]
check "--cpu $last runs the child on CPU $last only (it saw '$got', this shell may use '$cpus')" $?

"$launch" --cpu nine - /bin/true > /dev/null 2> err.txt
rc=$?
[ "$rc" -eq 2 ] && grep -q "CPU number" err.txt
check "--cpu nine is refused with status 2 and a message (status $rc: $(cat err.txt))" $?

out=$("$launch" --cpu 1023 - /bin/true 2> err.txt)
if [ -e /sys/devices/system/cpu/cpu1023 ]; then
    echo "not checked: CPU 1023 exists here"
else
    echo "$out" | grep -q 'status=exit:127' && grep -q "cannot run on CPU 1023" err.txt
    check "a CPU it may not use makes the child fail with 127 and says why ($out: $(cat err.txt))" $?
fi
rm -f err.txt
exit $fail
