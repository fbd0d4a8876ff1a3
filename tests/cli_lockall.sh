#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_lockall.sh — `rampart run`, `rampart status` and librampart-lock.so, end to end, on
# unmodified programs (cat, sh, touch): the child's own /proc status shows VmLck > 0, and so does
# a fork child that does not exec; status reads the lock state of another process; a malformed
# RAMPART_LOCK stops the program; statically linked and 32-bit programs are refused; bad
# arguments exit 2. As root it also runs the installed layout
# (bin/rampart + lib/librampart-lock.so, found through ../lib) as user nobody under small memlock
# limits: a required lock fails with the diagnosis and the program does NOT run (it would have
# created a file), best effort runs it unlocked with a warning; nobody reads root's locked process
# without smaps access; and in a user namespace, where CAP_IPC_LOCK does not lift the limit, the
# preflight and the diagnosis both name the limit.
# Usage: cli_lockall.sh PATH/TO/rampart PATH/TO/librampart-lock.so
set -u
bin=$1 lib=$2
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
no() { echo "FAILED: $*"; fail=1; }

# The kB figure of a field of a /proc status text on stdin.
field() { awk -v k="$1:" '$1 == k { print $2 }'; }

# CAP_IPC_LOCK (bit 14) in this shell's effective set.
cap=$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
can_lock=$(( (0x${cap:-0} >> 14) & 1 ))

# ---- as this user (locking needs CAP_IPC_LOCK or a big enough limit: checked as root) ----
if [ "$can_lock" = 1 ]; then
  out=$("$bin" run -- cat /proc/self/status); rc=$?
  [ $rc -eq 0 ] || no "run -- cat exited $rc"
  lck=$(echo "$out" | field VmLck); size=$(echo "$out" | field VmSize)
  echo "rampart run -- cat /proc/self/status: VmLck ${lck:-?} kB of VmSize ${size:-?} kB"
  [ "${lck:-0}" -gt 0 ] || no "the child's VmLck is not > 0"
  out=$("$bin" run --onfault -- cat /proc/self/status)
  lck=$(echo "$out" | field VmLck)
  echo "rampart run --onfault -- cat /proc/self/status: VmLck ${lck:-?} kB"
  [ "${lck:-0}" -gt 0 ] || no "--onfault: the child's VmLck is not > 0"
  # Without rampart run, nothing is locked: the check above is not vacuous.
  lck=$(env -u LD_PRELOAD cat /proc/self/status | field VmLck)
  [ "${lck:-1}" -eq 0 ] || no "plain cat already has VmLck $lck kB"

  # A fork child that does not exec (a subshell of builtins; "; :" keeps sh from running it in
  # place) is locked again: the kernel gives a fork child neither the locks nor future locking.
  out=$("$bin" run -- sh -c '( read -r pid rest </proc/self/stat; lck=0
    while read -r k v u; do [ "$k" = VmLck: ] && lck=$v; done </proc/self/status
    echo "$$ $pid $lck" ); :')
  echo "fork child without exec under rampart run (parent, child, child's VmLck kB): $out"
  set -- $out
  [ "${1:-0}" != "${2:-0}" ] || no "the subshell did not fork"
  [ "${3:-0}" -gt 0 ] || no "a fork child without exec is not locked (VmLck ${3:-?} kB)"

  # rampart status of a process locked by rampart run (sh, which reports on itself). The inner
  # rampart must not inherit the preload: in a sanitizer build it needs its runtime first.
  out=$("$bin" run -- sh -c 'env -u LD_PRELOAD "$0" status $$' "$bin"); rc=$?
  echo "$out"
  [ $rc -eq 0 ] || no "status exited $rc"
  echo "$out" | grep -Eq "^process [0-9]+ \(sh\): locked$" || no "status does not say the sh is locked"
  echo "$out" | grep -Eq "^  locked \(VmLck\) +[0-9.]+ [KM]iB$" || no "status shows no VmLck"
  echo "$out" | grep -Eq "^  regions locked +[1-9][0-9]* of [0-9]+$" || no "status shows no locked regions"
  echo "$out" | grep -Eq "^  CAP_IPC_LOCK +yes$" || no "status does not see CAP_IPC_LOCK"
  echo "$out" | grep -Eq "^  can lock more +yes, without limit" || no "status: can lock more"
else
  echo "(no CAP_IPC_LOCK here: the locking cases of this script run as root only)"
fi

# A process that is not locked, read from outside.
sleep 30 &
spid=$!
# Until the child has exec'd sleep (before that it is a copy of this shell).
for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(cat /proc/$spid/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done
out=$("$bin" status $spid); rc=$?
kill $spid 2>/dev/null; wait $spid 2>/dev/null
[ $rc -eq 0 ] || no "status of sleep exited $rc"
echo "$out" | grep -Eq "^process $spid \(sleep\): not locked$" || no "status of an unlocked sleep"
echo "$out" | grep -Eq "^  memlock limit +soft .*, hard " || no "status shows no memlock limit"

# A malformed RAMPART_LOCK stops the program before it runs.
RAMPART_LOCK=current,bogus LD_PRELOAD=$lib sh -c "touch '$tmp/bad-spec-ran'" 2>"$tmp/err"; rc=$?
[ $rc -eq 125 ] || no "a malformed RAMPART_LOCK exited $rc, not 125"
grep -q "unknown word 'bogus'" "$tmp/err" || no "a malformed RAMPART_LOCK is not named: $(cat "$tmp/err")"
[ ! -e "$tmp/bad-spec-ran" ] || no "the program ran despite a malformed RAMPART_LOCK"

# Programs the dynamic loader would not preload into are refused, not silently left unlocked.
for s in /sbin/ldconfig /usr/sbin/ldconfig; do
  if [ -x "$s" ] && command -v readelf >/dev/null && readelf -lW "$s" 2>/dev/null | grep -q LOAD &&
     ! readelf -lW "$s" | grep -q INTERP; then
    echo "statically linked: $s"
    "$bin" run -- "$s" -p >/dev/null 2>"$tmp/err"; rc=$?
    [ $rc -eq 125 ] || no "a static program exited $rc, not 125"
    grep -q "statically linked" "$tmp/err" || no "a static program is not explained: $(cat "$tmp/err")"
    "$bin" run --best-effort -- "$s" -p >/dev/null 2>&1 || no "--best-effort does not run a static program"
    break
  fi
done

# A 32-bit program (a dynamically linked i386 one, made with binutils alone): its loader would
# skip the 64-bit library with a warning and run it unlocked, so it is refused too.
if [ "$(uname -m)" = x86_64 ] && command -v as >/dev/null && command -v ld >/dev/null &&
   printf '.globl _start\n_start: movl $1, %%eax\n xorl %%ebx, %%ebx\n int $0x80\n' >"$tmp/t32.s" &&
   as --32 "$tmp/t32.s" -o "$tmp/t32.o" 2>/dev/null &&
   ld -m elf_i386 -pie -dynamic-linker /lib/ld-linux.so.2 "$tmp/t32.o" -o "$tmp/t32" 2>/dev/null; then
  "$bin" run -- "$tmp/t32" >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "a 32-bit program exited $rc, not 125"
  grep -q "different word size" "$tmp/err" || no "a 32-bit program is not explained: $(cat "$tmp/err")"
else
  echo "(no x86_64 binutils that make i386 programs: the 32-bit case is skipped)"
fi

# CMD's exit status, its death by a signal, its arguments (spaces, empty ones) and its stdin and
# stdout pass through untouched: rampart run execs it in place.
"$bin" run --best-effort -- sh -c 'exit 7' 2>/dev/null; rc=$?
[ $rc -eq 7 ] || no "CMD's exit status 7 came back as $rc"
"$bin" run --best-effort -- sh -c 'kill -TERM $$' 2>/dev/null; rc=$?
[ $rc -eq 143 ] || no "CMD killed by SIGTERM came back as $rc, not 143"
out=$("$bin" run --best-effort -- printf '[%s]' "a b" "" 'c  d' 2>/dev/null)
[ "$out" = "[a b][][c  d]" ] || no "arguments arrived as $out"
out=$(printf 'x y\n' | "$bin" run --best-effort -- cat 2>/dev/null)
[ "$out" = "x y" ] || no "stdin/stdout: $out"

# Bad arguments.
"$bin" run >/dev/null 2>&1; [ $? -eq 2 ] || no "run without a command must exit 2"
"$bin" run --bogus -- true >/dev/null 2>&1; [ $? -eq 2 ] || no "run with an unknown option must exit 2"
"$bin" run -- /nonexistent/program >/dev/null 2>&1; [ $? -eq 127 ] || no "a missing program must exit 127"
# A directory named like the command earlier in PATH is passed over, as execvp does.
mkdir -p "$tmp/pathdir/true"
PATH="$tmp/pathdir:$PATH" "$bin" run --best-effort -- true 2>/dev/null; rc=$?
[ $rc -eq 0 ] || no "a directory named true in PATH hid /bin/true (exit $rc)"
RAMPART_LOCK_LIBRARY=/nonexistent.so "$bin" run -- true >/dev/null 2>&1; [ $? -eq 125 ] || no "a missing library must exit 125"
# LD_PRELOAD cannot carry a path with a space: refused, rather than run unlocked.
mkdir -p "$tmp/a b" && cp "$lib" "$tmp/a b/librampart-lock.so"
RAMPART_LOCK_LIBRARY="$tmp/a b/librampart-lock.so" "$bin" run -- touch "$tmp/space-ran" 2>"$tmp/err"; rc=$?
[ $rc -eq 125 ] || no "a library path with a space exited $rc, not 125"
grep -q "a space or a colon" "$tmp/err" || no "a library path with a space is not explained: $(head -1 "$tmp/err")"
[ ! -e "$tmp/space-ran" ] || no "the program ran although the library could not be preloaded"
"$bin" run --help | grep -q "preload library" || no "run --help"
"$bin" status not-a-pid >/dev/null 2>&1; [ $? -eq 2 ] || no "status of a bad pid must exit 2"
"$bin" status 1073741823 >/dev/null 2>"$tmp/err"; [ $? -eq 1 ] || no "status of a missing process must exit 1"
grep -q "process 1073741823: No such process" "$tmp/err" || no "a missing process is not named as such: $(cat "$tmp/err")"

# ---- as user nobody under small memlock limits, from an installed layout ----
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! command -v prlimit >/dev/null; then
  echo "(the unprivileged cases need root, setpriv and prlimit: skipped)"
  exit $fail
fi
mkdir -p "$tmp/prefix/bin" "$tmp/prefix/lib" "$tmp/out"
cp "$bin" "$tmp/prefix/bin/rampart" && cp "$lib" "$tmp/prefix/lib/librampart-lock.so" || { no "cannot copy"; exit 1; }
chmod 0755 "$tmp" "$tmp/prefix" "$tmp/prefix/bin" "$tmp/prefix/lib"
chmod 0777 "$tmp/out"
nobody() { limit=$1; shift; prlimit --memlock="$limit" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }
inst="$tmp/prefix/bin/rampart"

# Required, limit 64 KiB: resource limit with the numbers; touch never runs.
nobody 65536:65536 env -u RAMPART_LOCK_LIBRARY "$inst" run -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
cat "$tmp/err" | head -2
[ $rc -eq 125 ] || no "a required failure exited $rc, not 125"
grep -q "resource limit exceeded: lock-all (current+future) of .* failed" "$tmp/err" || no "the diagnosis names no resource limit"
grep -q "memlock limit soft 64 KiB, hard 64 KiB" "$tmp/err" || no "the diagnosis lacks the limits"
grep -q "(VmSize)" "$tmp/err" || no "the diagnosis lacks the bytes needed"
grep -q "ulimit -l unlimited" "$tmp/err" || no "the diagnosis lacks the remedy"
[ ! -e "$tmp/out/ran" ] || no "the program ran although its required lock failed"

# Required, limit 0: permission denied; touch never runs.
nobody 0:0 "$inst" run --onfault -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
[ $rc -eq 125 ] || no "limit 0 exited $rc, not 125"
grep -q "permission denied: lock-all (current+future+onfault)" "$tmp/err" || no "limit 0 is not permission denied: $(head -1 "$tmp/err")"
grep -q "CAP_IPC_LOCK" "$tmp/err" || no "limit 0: no CAP_IPC_LOCK remedy"
[ ! -e "$tmp/out/ran" ] || no "the program ran although it could not lock (limit 0)"

# Best effort: a warning, and the program runs.
nobody 65536:65536 "$inst" run --best-effort -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
cat "$tmp/err" | head -1
[ $rc -eq 0 ] || no "best effort exited $rc"
[ -e "$tmp/out/ran" ] || no "best effort did not run the program"
grep -q "warning: .* runs with its memory not locked: not locked (best effort): resource limit exceeded" "$tmp/err" \
  || no "best effort gave no warning"

# Another user's locked process: nobody cannot read its smaps (no regions, no resident figure),
# and the locked bytes against the mapped size still say it is locked.
if [ "$can_lock" = 1 ]; then
  "$bin" run -- sleep 30 &
  spid=$!
  for i in 1 2 3 4 5 6 7 8 9 10; do
    [ "$(cat /proc/$spid/comm 2>/dev/null)" = sleep ] &&
      [ "$(awk '$1 == "VmLck:" { print $2 }' /proc/$spid/status 2>/dev/null)" -gt 0 ] 2>/dev/null && break
    sleep 0.1
  done
  out=$(nobody 65536:65536 "$inst" status $spid); rc=$?
  kill $spid 2>/dev/null; wait $spid 2>/dev/null
  [ $rc -eq 0 ] || no "nobody's status of root's sleep exited $rc"
  echo "$out" | grep -Eq "^process $spid \(sleep\): locked$" || no "nobody's status of root's locked sleep: $(echo "$out" | head -1)"
  echo "$out" | grep -Eq "^  regions locked +\? " || no "nobody read root's regions?"
fi

# In a user namespace (rootless containers, unshare -r) CapEff shows CAP_IPC_LOCK, but the kernel
# still applies the memlock limit: the preflight must not promise success, and the failure is a
# resource limit, not "out of memory".
if nobody 65536:65536 unshare -Ur true 2>/dev/null; then
  out=$(nobody 65536:65536 unshare -Ur "$inst" status); rc=$?
  [ $rc -eq 0 ] || no "status in a user namespace exited $rc"
  echo "$out" | grep -Eq "^  CAP_IPC_LOCK +no$" || no "in a user namespace, CAP_IPC_LOCK is taken to lift the limit"
  echo "$out" | grep -q "would exceed the memlock limit" || no "in a user namespace, the preflight does not see the limit"
  rm -f "$tmp/out/ran"
  nobody 65536:65536 unshare -Ur "$inst" run -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "a required failure in a user namespace exited $rc, not 125"
  grep -q "resource limit exceeded: lock-all (current+future)" "$tmp/err" || no "in a user namespace: $(head -1 "$tmp/err")"
  [ ! -e "$tmp/out/ran" ] || no "the program ran although its required lock failed (user namespace)"
else
  echo "(no unprivileged user namespaces here: the user-namespace case is skipped)"
fi

# Enough limit for cat (8 MiB, if this shell's hard limit allows setting it), but future locking
# leaves little headroom: it runs locked, with a warning.
hard=$(ulimit -H -l)
if [ "$hard" = unlimited ] || [ "$hard" -ge 8192 ]; then
  nobody 8388608:8388608 "$inst" run -- cat /proc/self/status >"$tmp/out/status" 2>"$tmp/err"; rc=$?
  [ $rc -eq 0 ] || no "an 8 MiB limit exited $rc: $(cat "$tmp/err")"
  lck=$(field VmLck <"$tmp/out/status")
  echo "as nobody with an 8 MiB limit: cat's VmLck ${lck:-?} kB; $(head -1 "$tmp/err")"
  [ "${lck:-0}" -gt 0 ] || no "as nobody with an 8 MiB limit, cat's VmLck is not > 0"
  grep -q "warning: .*future locking leaves" "$tmp/err" || no "no headroom warning under an 8 MiB limit"
  # A fork child that can no longer lock (the shell lowered its limit first) ends with the
  # diagnosis before its code runs; with best effort it runs.
  nobody 8388608:8388608 "$inst" run -- sh -c 'ulimit -l 64; ( echo child-ran ); echo "child exit $?"' >"$tmp/out/fork" 2>"$tmp/err"
  grep -q "^child exit 125$" "$tmp/out/fork" || no "a fork child that cannot lock: $(cat "$tmp/out/fork")"
  ! grep -q child-ran "$tmp/out/fork" || no "a fork child ran although its required lock failed"
  grep -q "resource limit exceeded" "$tmp/err" || no "a fork child's failure is not explained: $(head -1 "$tmp/err")"
  nobody 8388608:8388608 "$inst" run --best-effort -- sh -c 'ulimit -l 64; ( echo child-ran ); :' >"$tmp/out/fork" 2>&1
  grep -q "^child-ran$" "$tmp/out/fork" || no "best effort: a fork child that cannot lock did not run: $(cat "$tmp/out/fork")"
else
  echo "(hard memlock limit ${hard} KiB < 8 MiB: the headroom case is skipped)"
fi
exit $fail
