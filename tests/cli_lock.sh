#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_lock.sh — `rampart lock PID` / `rampart unlock PID` on running programs (issue 15), one group
# of cases per CTest test; a group this machine cannot run exits 77 with the reason, never passes:
#   running   a multi-threaded checksum printer (tests/lock_target.c) locked while it computes: its
#             output equals an untouched run's, VmLck reaches VmRSS, `rampart status` says locked
#             (exit 0); then unlocked: VmLck 0, status exit 3
#   blocked   a target blocked in read() and then in nanosleep() while locked/unlocked sees no EINTR
#   refusals  as an unprivileged user (nobody via setpriv when root, else this user), each with its
#             message: the target's memlock limit (untouched, exit 1), --raise-limit over the hard
#             limit (refused: CAP_SYS_RESOURCE) and under it (soft raised, then locked), another
#             user's process, a process already traced (usage: a missing pid)
#   yama      needs Yama: with ptrace_scope >= 1 a non-child of the same user is refused, naming it
#   usage     bad arguments (exit 2), --help
#   static    needs lock_target_static (glibc's libc.a): `rampart run` locks it at its exec stop,
#             `rampart run --follow -- sh -c ./static` too, a fork child under --follow, --ptrace
#             keeps execvp's sh fallback for a script without #!, CMD's exit status passes, and
#             as nobody under a 64 KiB limit a required lock fails with exit 125 and its reason
# Usage: cli_lock.sh PATH/TO/rampart PATH/TO/lock_target GROUP [PATH/TO/lock_target_static|none]
set -u
bin=$1 target=$2 group=$3 static=${4:-none}
fail=0
tmp=$(mktemp -d)
chmod 0755 "$tmp"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
no() { echo "FAILED: $*"; fail=1; }
skip() { echo "SKIPPED: $*"; exit 77; }
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }
# Wait (up to 20 s) until file $1 has at least $2 lines.
wait_lines() { for i in $(seq 1 200); do [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
# Wait until process $1 is blocked in system call number $2 (/proc/PID/syscall: x86-64 numbers).
wait_syscall() { for i in $(seq 1 200); do s=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null); for n in $2; do [ "$s" = "$n" ] && return 0; done; sleep 0.1; done; return 1; }

# Copies every user can run, for the unprivileged cases.
cp "$bin" "$tmp/rampart" && cp "$target" "$tmp/lock_target" && chmod 0755 "$tmp/rampart" "$tmp/lock_target"
bin=$tmp/rampart target=$tmp/lock_target
if [ "$(id -u)" = 0 ]; then
  asuser() { setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"; }
else
  asuser() { "$@"; }
fi

case "$group" in
running)
  [ "$(uname -m)" = x86_64 ] || skip "injection is tested on x86-64 only (this is $(uname -m))"
  "$target" checksum 1000000 "$tmp/stop" >"$tmp/locked.out" &
  tp=$!; pids="$pids $tp"
  wait_lines "$tmp/locked.out" 5 || no "the checksum printer printed nothing"
  if ! "$bin" lock "$tp" >"$tmp/lock.msg" 2>&1; then
    cat "$tmp/lock.msg"
    grep -q "ptrace refused\|memlock limit\|CAP_IPC_LOCK" "$tmp/lock.msg" && skip "this user cannot lock it here: $(head -1 "$tmp/lock.msg")"
    no "rampart lock failed"
  fi
  cat "$tmp/lock.msg"
  grep -q "^process $tp locked: current+future" "$tmp/lock.msg" || no "lock did not report current+future"
  n=$(wc -l <"$tmp/locked.out")
  wait_lines "$tmp/locked.out" $((n + 5)) || no "the printer stopped after the lock"
  lck=$(field VmLck "$tp") rss=$(field VmRSS "$tp")
  echo "VmLck $lck kB, VmRSS $rss kB"
  [ "$lck" -gt 0 ] && [ "$lck" -ge "$rss" ] || no "VmLck $lck kB does not reach VmRSS $rss kB"
  "$bin" status "$tp" >/dev/null; rc=$?
  [ $rc -eq 0 ] || no "status of the locked printer exited $rc, not 0 (locked)"
  "$bin" unlock "$tp" || no "rampart unlock failed"
  [ "$(field VmLck "$tp")" = 0 ] || no "VmLck is $(field VmLck "$tp") kB after unlock, not 0"
  "$bin" status "$tp" >/dev/null; rc=$?
  [ $rc -eq 3 ] || no "status of the unlocked printer exited $rc, not 3"
  n=$(wc -l <"$tmp/locked.out")
  wait_lines "$tmp/locked.out" $((n + 3)) || no "the printer stopped after the unlock"
  touch "$tmp/stop"
  wait "$tp"; rc=$?
  [ $rc -eq 0 ] || no "the printer exited $rc"
  n=$(wc -l <"$tmp/locked.out")
  "$target" checksum "$n" "$tmp/none" >"$tmp/plain.out"
  cmp "$tmp/locked.out" "$tmp/plain.out" || no "the locked run printed other lines than an untouched run of $n steps"
  grep -q failed "$tmp/locked.out" && no "a system call of the printer failed: $(grep failed "$tmp/locked.out" | head -1)"
  echo "$n identical lines"
  ;;
blocked)
  [ "$(uname -m)" = x86_64 ] || skip "injection is tested on x86-64 only (this is $(uname -m))"
  mkfifo "$tmp/in"
  "$target" blocked <"$tmp/in" >"$tmp/blocked.out" &
  tp=$!; pids="$pids $tp"
  exec 3>"$tmp/in"
  wait_syscall "$tp" 0 || no "the target never blocked in read"
  "$bin" lock --current-only "$tp" >"$tmp/lock.msg" 2>&1 || { cat "$tmp/lock.msg"; grep -q "ptrace refused\|memlock limit\|CAP_IPC_LOCK" "$tmp/lock.msg" && skip "cannot lock here"; no "lock during read failed"; }
  # Just after the detach the target may not have been scheduled back into its restarted read yet
  # (/proc shows "running"): wait for it. Had the read failed with EINTR, the target would go on to
  # nanosleep and print "read failed", which the checks below catch.
  wait_syscall "$tp" 0 || no "the target is no longer in read after the lock"
  echo hello >&3
  wait_syscall "$tp" "35 230" || no "the target never blocked in nanosleep"
  "$bin" unlock "$tp" || no "unlock during nanosleep failed"
  exec 3>&-
  wait "$tp"
  cat "$tmp/blocked.out"
  grep -qx "read 6 bytes" "$tmp/blocked.out" || no "read did not return the 6 bytes written"
  grep -qx "nanosleep ok" "$tmp/blocked.out" || no "nanosleep did not complete"
  ;;
refusals)
  [ "$(uname -m)" = x86_64 ] || skip "injection is tested on x86-64 only (this is $(uname -m))"
  # The target's own limit: 64 KiB, far below its mapped size; predicted, nothing is touched.
  asuser prlimit --memlock=65536:65536 "$target" checksum 1000000 "$tmp/stop" >"$tmp/small.out" &
  tp=$!; pids="$pids $tp"
  wait_lines "$tmp/small.out" 2 || no "the limited printer printed nothing"
  tp=$(pgrep -n -f "lock_target checksum 1000000 $tmp/stop")
  asuser "$bin" lock "$tp" >"$tmp/msg" 2>&1; rc=$?
  cat "$tmp/msg"
  [ $rc -eq 1 ] || no "lock of a process over its limit exited $rc, not 1"
  grep -q "process $tp: lock-all (current+future) would exceed the memlock limit" "$tmp/msg" || no "no limit message"
  grep -q "(its own limit counts)" "$tmp/msg" && grep -q "^fix: " "$tmp/msg" || no "the limit message names no fix"
  [ "$(field VmLck "$tp")" = 0 ] || no "the refused target has VmLck $(field VmLck "$tp") kB"
  asuser "$bin" lock --best-effort "$tp" >/dev/null 2>&1; rc=$?
  [ $rc -eq 0 ] || no "--best-effort lock exited $rc, not 0"
  # --raise-limit: the hard limit is 64 KiB too; raising it needs CAP_SYS_RESOURCE, which nobody lacks.
  asuser "$bin" lock --raise-limit "$tp" >"$tmp/msg" 2>&1; rc=$?
  cat "$tmp/msg"
  [ $rc -eq 1 ] && grep -q "prlimit) failed" "$tmp/msg" || no "--raise-limit over the hard limit was not refused with its reason"
  touch "$tmp/stop"
  # --raise-limit with room under the hard limit: the soft limit is raised to it (prlimit), then it locks.
  hard=$(ulimit -H -l); [ "$hard" = unlimited ] || hard=$((hard * 1024))
  asuser prlimit --memlock=65536:$hard "$target" checksum 1000000 "$tmp/stop2" >"$tmp/raise.out" &
  pids="$pids $!"
  wait_lines "$tmp/raise.out" 2 || no "the second limited printer printed nothing"
  tp=$(pgrep -n -f "lock_target checksum 1000000 $tmp/stop2")
  asuser "$bin" lock --raise-limit "$tp" >"$tmp/msg" 2>&1; rc=$?
  cat "$tmp/msg"
  if grep -q "ptrace refused" "$tmp/msg"; then
    echo "(ptrace refused here: --raise-limit's lock not checked)"
  else
    [ $rc -eq 0 ] || no "lock --raise-limit under a larger hard limit exited $rc"
    [ "$(field VmLck "$tp")" -gt 0 ] || no "--raise-limit: VmLck still 0"
    grep "Max locked memory" "/proc/$tp/limits"
  fi
  touch "$tmp/stop2"
  # Another user's process: pid 1 is root's (or, as root, a root-owned sleep for nobody).
  sleep 30 & sp=$!; pids="$pids $sp"
  other=$sp; [ "$(id -u)" = 0 ] || other=1
  if [ "$(stat -c %u /proc/$other)" != "$(asuser id -u)" ]; then
    asuser "$bin" lock --current-only "$other" >"$tmp/msg" 2>&1; rc=$?
    cat "$tmp/msg"
    [ $rc -eq 1 ] || no "lock of another user's process exited $rc, not 1"
    grep -q "ptrace refused: the process belongs to another user" "$tmp/msg" || no "no reason for another user's process"
    grep -q "^fix: .*CAP_SYS_PTRACE" "$tmp/msg" || no "another user's process: no fix named"
    # Yama is named only where the kernel has it
    [ -r /proc/sys/kernel/yama/ptrace_scope ] || ! grep -q "Yama" "$tmp/msg" || no "Yama named on a kernel without it"
  fi
  # A kernel thread has no user memory: said as such, by lock and unlock alike (unlock said
  # CAP_SYS_PTRACE was needed, to root too).
  kt=""
  for d in /proc/[0-9]*; do
    grep -q '^VmSize' "$d/status" 2>/dev/null || { [ -r "$d/status" ] && kt=${d#/proc/} && break; }
  done
  for c in lock unlock; do
    [ -n "$kt" ] || break # none visible (a PID namespace)
    "$bin" $c "$kt" >"$tmp/msg" 2>&1; rc=$?
    [ $rc -eq 1 ] || no "$c of kernel thread $kt exited $rc, not 1"
    grep -q "no user memory" "$tmp/msg" || no "$c of kernel thread $kt: $(cat "$tmp/msg")"
  done
  # A process already traced (by its parent, as a debugger would).
  mkfifo "$tmp/in-traced"
  asuser "$target" traced <"$tmp/in-traced" >"$tmp/traced.out" 2>&1 &
  pids="$pids $!"
  exec 4>"$tmp/in-traced"
  wait_lines "$tmp/traced.out" 1 || no "the tracing helper printed nothing"
  child=$(head -1 "$tmp/traced.out")
  asuser "$bin" lock --current-only "$child" >"$tmp/msg" 2>&1; rc=$?
  cat "$tmp/msg"
  [ $rc -eq 1 ] || no "lock of a traced process exited $rc, not 1"
  grep -q "it is already traced by process [0-9]" "$tmp/msg" || no "no 'already traced' reason"
  # its fix is to detach that tracer, not a capability or Yama (both were named)
  grep -q "^fix: detach the debugger" "$tmp/msg" || no "an already traced process: the fix is not to detach the tracer"
  grep -q "^fix: .*CAP_SYS_PTRACE" "$tmp/msg" && no "an already traced process: CAP_SYS_PTRACE named as the fix"
  exec 4>&-
  ;;
yama)
  [ -r /proc/sys/kernel/yama/ptrace_scope ] || skip "no Yama LSM on this kernel (/proc/sys/kernel/yama/ptrace_scope)"
  scope=$(cat /proc/sys/kernel/yama/ptrace_scope)
  [ "$scope" -ge 1 ] || skip "Yama ptrace_scope is 0: a process of the same user may be traced, nothing to refuse"
  asuser sleep 30 &
  pids="$pids $!"
  sleep 0.5
  sp=$(pgrep -n -u 65534 -x sleep || pgrep -n -x sleep)
  asuser "$bin" lock --current-only "$sp" >"$tmp/msg" 2>&1; rc=$?
  cat "$tmp/msg"
  [ $rc -eq 1 ] || no "lock under Yama scope $scope exited $rc, not 1"
  grep -q "Yama ptrace_scope is $scope" "$tmp/msg" || no "the refusal does not name Yama ptrace_scope $scope"
  ;;
usage)
  "$bin" lock >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] || no "lock without a pid exited $rc, not 2"
  "$bin" lock --bogus 1 >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] || no "lock --bogus exited $rc, not 2"
  "$bin" unlock --onfault 1 >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] || no "unlock --onfault exited $rc, not 2"
  "$bin" lock 12x >/dev/null 2>&1; rc=$?; [ $rc -eq 2 ] || no "lock 12x exited $rc, not 2"
  "$bin" lock --help | grep -q "usage: rampart lock" || no "lock --help"
  "$bin" help unlock | grep -q "rampart unlock PID" || no "help unlock"
  "$bin" --help | grep -q "^  lock " || no "rampart --help does not list lock"
  # A process that does not exist (the highest pid + 1 is never in use long enough to matter).
  max=$(cat /proc/sys/kernel/pid_max)
  "$bin" lock "$max" >"$tmp/msg" 2>&1; rc=$?
  cat "$tmp/msg"
  [ $rc -eq 1 ] || no "lock of a missing process exited $rc, not 1"
  ;;
static)
  [ "$static" != none ] && [ -x "$static" ] || skip "no statically linked lock_target (glibc's libc.a missing?)"
  [ "$(uname -m)" = x86_64 ] || skip "injection is tested on x86-64 only (this is $(uname -m))"
  cp "$static" "$tmp/static" && chmod 0755 "$tmp/static"
  # 1. rampart run STATIC: locked at its exec stop.
  "$bin" run -- "$tmp/static" vmlck >"$tmp/out" 2>"$tmp/err"; rc=$?
  cat "$tmp/out" "$tmp/err"
  [ $rc -eq 0 ] || no "rampart run of a static program exited $rc"
  v=$(awk '/^VmLck/ { print $2 }' "$tmp/out")
  [ "${v:-0}" -gt 0 ] || no "the static program is not locked (VmLck ${v:-?} kB)"
  # 2. started by a shell: --follow locks it at its exec.
  "$bin" run --follow -- sh -c "$tmp/static vmlck" >"$tmp/out" 2>&1; rc=$?
  cat "$tmp/out"
  [ $rc -eq 0 ] || no "rampart run --follow -- sh -c static exited $rc"
  v=$(awk '/^VmLck/ { print $2 }' "$tmp/out")
  [ "${v:-0}" -gt 0 ] || no "--follow: the static program started by sh is not locked (VmLck ${v:-?} kB)"
  # 3. a fork child under --follow is locked too (locks are not inherited).
  "$bin" run --follow -- "$tmp/static" vmlck fork >"$tmp/out" 2>&1; rc=$?
  cat "$tmp/out"
  v=$(awk '/^child VmLck/ { print $3 }' "$tmp/out")
  [ "${v:-0}" -gt 0 ] || no "--follow: the fork child is not locked (VmLck ${v:-?} kB)"
  # 4. --ptrace keeps execvp's fallback: a script without #! runs in sh (locked).
  printf '%s vmlck\nexit 3\n' "$tmp/static" >"$tmp/script"
  chmod 0755 "$tmp/script"
  "$bin" run --ptrace -- "$tmp/script" >"$tmp/out" 2>&1; rc=$?
  cat "$tmp/out"
  [ $rc -eq 3 ] || no "a script without #! under --ptrace exited $rc, not its own 3"
  # Signals reach a followed program: sh's own SIGTERM kills it (128 + 15).
  "$bin" run --follow -- sh -c 'kill -TERM $$; sleep 5' >/dev/null 2>&1; rc=$?
  [ $rc -eq 143 ] || no "a followed sh killed by SIGTERM exited $rc, not 143"
  # 4b. a script whose #! interpreter is static is that program to the kernel: plain rampart run
  # runs it traced and locks it (it was given the preload, which no loader reads, and ran unlocked).
  printf '#!%s vmlck\n' "$tmp/static" >"$tmp/static-script"
  chmod 0755 "$tmp/static-script"
  "$bin" run -- "$tmp/static-script" >"$tmp/out" 2>&1; rc=$?
  cat "$tmp/out"
  [ $rc -eq 0 ] || no "rampart run of a script with a static interpreter exited $rc"
  v=$(awk '/^VmLck/ { print $2 }' "$tmp/out")
  [ "${v:-0}" -gt 0 ] || no "a script with a static interpreter is not locked (VmLck ${v:-?} kB)"
  # 5. CMD not found: 127.
  "$bin" run --ptrace -- "$tmp/nonexistent" >/dev/null 2>&1; rc=$?
  [ $rc -eq 127 ] || no "a missing CMD under --ptrace exited $rc, not 127"
  # a path too long to run: the cause is named (it fell off the end of the message)
  long="$tmp/$(printf '%0300d' 0)"
  "$bin" run --ptrace -- "$long" >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 126 ] || no "an overlong CMD under --ptrace exited $rc, not 126"
  grep -q "File name too long" "$tmp/err" || no "an overlong CMD under --ptrace: no cause: $(cat "$tmp/err")"
  # 6. as an unprivileged user under a 64 KiB limit: the required lock fails, CMD does not run on.
  asuser prlimit --memlock=65536:65536 "$bin" run -- "$tmp/static" vmlck >"$tmp/out" 2>"$tmp/err"; rc=$?
  cat "$tmp/out" "$tmp/err"
  [ $rc -eq 125 ] || no "a static program over the limit exited $rc, not 125"
  grep -q "mlockall" "$tmp/err" && grep -q "^fix: " "$tmp/err" || no "the failed lock names no cause and fix"
  [ -s "$tmp/out" ] && no "the program ran on after its required lock failed"
  asuser prlimit --memlock=65536:65536 "$bin" run --best-effort -- "$tmp/static" vmlck >"$tmp/out" 2>"$tmp/err"; rc=$?
  cat "$tmp/out" "$tmp/err"
  [ $rc -eq 0 ] && grep -q "^VmLck 0 kB" "$tmp/out" && grep -q "warning: ran unlocked" "$tmp/err" ||
    no "--best-effort did not run the static program unlocked with a warning"
  ;;
*) echo "unknown group $group"; exit 2 ;;
esac
[ $fail -eq 0 ] && echo "PASSED: $group"
exit $fail
