#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_lockall.sh — `rampart run`, `rampart status` and librampart-lock.so, end to end, on
# unmodified programs (cat, sh, sleep, touch). One group of cases per CTest test, so that a group
# this machine cannot run is reported as skipped (exit 77, with the reason) and never as passed:
#   basic    always runs: status of an unlocked process (exit 3) and of a missing one (exit 4),
#            a malformed RAMPART_LOCK, CMD's exit status, arguments and stdio passing through,
#            execvp semantics (a script without #! runs in sh), bad arguments, run --help
#   locked   needs a lock-all of a small program to succeed here (CAP_IPC_LOCK, or a memlock
#            limit big enough): VmLck > 0 in the child and in a fork child, status "locked"
#            (exit 0) with "locked and resident" equal to the Rss of the locked areas, and a
#            partly locked process (one secret: exit 1)
#   opens    needs strace and a working lock: the preload reads no /proc file on its success path
#   static   needs a statically linked program (ldconfig): run traced (ptrace), not refused
#   i386     needs binutils that make an i386 program: refused (another word size)
#   nobody   root only: an installed layout run as nobody under small limits (required failure,
#            limit 0, best effort, the headroom warning, fork children that cannot lock)
#   foreign  root only: status of a process whose areas cannot be read says "cannot tell" (exit 4)
#   userns   root and unprivileged user namespaces: the limit still applies inside one
# Usage: cli_lockall.sh PATH/TO/rampart PATH/TO/librampart-lock.so PATH/TO/lock_helper GROUP
set -u
bin=$1 lib=$2 helper=$3 group=$4
fail=0
tmp=$(mktemp -d)
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
no() { echo "FAILED: $*"; fail=1; }
skip() { echo "SKIPPED: $*"; exit 77; }

# The kB figure of a field of a /proc status text on stdin.
field() { awk -v k="$1:" '$1 == k { print $2 }'; }

# The resident kB of the areas of process $1 whose VmFlags has lo (smaps).
locked_rss_kb() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / { rss = 0 } $1 == "Rss:" { rss = $2 }
       $1 == "VmFlags:" { for (i = 2; i <= NF; i++) if ($i == "lo") sum += rss } END { print sum + 0 }' "/proc/$1/smaps"
}

# Start "$@" in the background and wait until it has exec'd (its comm is $1's base name).
start() {
  "$@" &
  spid=$!
  name=$(basename "$1")
  [ "$1" = "$bin" ] && name=$(basename "$4")
  for i in $(seq 1 50); do [ "$(cat /proc/$spid/comm 2>/dev/null)" = "$name" ] && break; sleep 0.1; done
}

# Whether a lock-all of a small program succeeds here (as this user, under these limits).
can_lock() { "$bin" run -- true 2>"$tmp/probe"; }

case "$group" in
basic)
  # A process that is not locked, read from outside: exit 3.
  sleep 30 &
  spid=$!
  for i in $(seq 1 50); do [ "$(cat /proc/$spid/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done
  out=$("$bin" status $spid); rc=$?
  kill $spid 2>/dev/null; wait $spid 2>/dev/null
  echo "$out" | head -3
  [ $rc -eq 3 ] || no "status of an unlocked sleep exited $rc, not 3"
  echo "$out" | grep -Eq "^process $spid \(sleep\): not locked$" || no "status of an unlocked sleep"
  echo "$out" | grep -Eq "^  in locked areas +0 B mapped, 0 B resident$" || no "an unlocked sleep has locked areas"
  echo "$out" | grep -Eq "^  memlock limit +soft .*, hard " || no "status shows no memlock limit"
  # A missing process: cannot tell, exit 4.
  "$bin" status 1073741823 >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 4 ] || no "status of a missing process exited $rc, not 4"
  grep -q "cannot tell: .*process 1073741823: No such process" "$tmp/err" || no "a missing process: $(cat "$tmp/err")"

  # A malformed RAMPART_LOCK stops the program before it runs.
  RAMPART_LOCK=current,bogus LD_PRELOAD=$lib sh -c "touch '$tmp/bad-spec-ran'" 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "a malformed RAMPART_LOCK exited $rc, not 125"
  grep -q "unknown word 'bogus'" "$tmp/err" || no "a malformed RAMPART_LOCK is not named: $(cat "$tmp/err")"
  [ ! -e "$tmp/bad-spec-ran" ] || no "the program ran despite a malformed RAMPART_LOCK"

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

  # execvp semantics: a script without #! runs in /bin/sh, by path and through PATH, with the
  # exit status sh gives it.
  mkdir -p "$tmp/scripts"
  printf 'echo "no shebang: $1"\nexit 5\n' >"$tmp/scripts/noshebang" && chmod 0755 "$tmp/scripts/noshebang"
  sh -c "'$tmp/scripts/noshebang' x" >/dev/null; want=$?
  out=$("$bin" run --best-effort -- "$tmp/scripts/noshebang" x 2>"$tmp/err"); rc=$?
  [ $rc -eq $want ] && [ "$out" = "no shebang: x" ] || no "a script without #! by path: exit $rc (sh: $want), '$out' $(cat "$tmp/err")"
  out=$(PATH="$tmp/scripts:$PATH" "$bin" run --best-effort -- noshebang y 2>"$tmp/err"); rc=$?
  [ $rc -eq $want ] && [ "$out" = "no shebang: y" ] || no "a script without #! through PATH: exit $rc, '$out' $(cat "$tmp/err")"

  # Bad arguments.
  "$bin" run >/dev/null 2>&1; [ $? -eq 2 ] || no "run without a command must exit 2"
  "$bin" run --bogus -- true >/dev/null 2>&1; [ $? -eq 2 ] || no "run with an unknown option must exit 2"
  "$bin" run -- /nonexistent/program >/dev/null 2>&1; [ $? -eq 127 ] || no "a missing program must exit 127"
  # (A PATH that this user may search: a directory it may not enter makes execvp say EACCES.)
  PATH=/usr/bin:/bin "$bin" run -- no-such-command-anywhere >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 127 ] || no "a command not in PATH exited $rc, not 127"
  grep -q "no-such-command-anywhere: command not found" "$tmp/err" || no "not found: $(cat "$tmp/err")"
  # A directory named like the command earlier in PATH is passed over, as execvp does.
  mkdir -p "$tmp/pathdir/true"
  PATH="$tmp/pathdir:$PATH" "$bin" run --best-effort -- true 2>/dev/null; rc=$?
  [ $rc -eq 0 ] || no "a directory named true in PATH hid /bin/true (exit $rc)"
  RAMPART_LOCK_LIBRARY=/nonexistent.so "$bin" run -- true >/dev/null 2>&1; [ $? -eq 125 ] || no "a missing library must exit 125"
  # A library that is not rampart's (by its SONAME) would be preloaded, lock nothing, and the
  # program would run unlocked with exit 0: refused (it was run).
  other=$(ldd "$bin" 2>/dev/null | awk '$1 ~ /^libc\.so/ { print $3 }')
  for l in "$other" /etc/hostname; do
    [ -n "$l" ] && [ -r "$l" ] || continue
    RAMPART_LOCK_LIBRARY="$l" "$bin" run -- touch "$tmp/other-ran" 2>"$tmp/err"; rc=$?
    [ $rc -eq 125 ] || no "RAMPART_LOCK_LIBRARY=$l (not the lock library) exited $rc, not 125"
    grep -q "not rampart's lock library" "$tmp/err" || no "a wrong library is not explained: $(head -1 "$tmp/err")"
    [ ! -e "$tmp/other-ran" ] || no "the program ran with $l as the lock library"
  done
  # LD_PRELOAD cannot carry a path with a space: refused, rather than run unlocked.
  mkdir -p "$tmp/a b" && cp "$lib" "$tmp/a b/librampart-lock.so"
  RAMPART_LOCK_LIBRARY="$tmp/a b/librampart-lock.so" "$bin" run -- touch "$tmp/space-ran" 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "a library path with a space exited $rc, not 125"
  grep -q "a space or a colon" "$tmp/err" || no "a library path with a space is not explained: $(head -1 "$tmp/err")"
  [ ! -e "$tmp/space-ran" ] || no "the program ran although the library could not be preloaded"
  # --help says what is not locked: programs CMD starts that cannot take the preload.
  help=$("$bin" run --help)
  echo "$help" | grep -q "preload library" || no "run --help"
  echo "$help" | grep -q "static, set-user-ID and" || no "run --help does not name the programs CMD starts that stay unlocked"
  echo "$help" | grep -q "programs it starts run unlocked" || no "run --help does not say they run unlocked"
  echo "$help" | grep -q "execvp" || no "run --help does not say how CMD is found"
  "$bin" status not-a-pid >/dev/null 2>&1; [ $? -eq 2 ] || no "status of a bad pid must exit 2"
  # Locking current memory faults it all in, and locked pages must be resident: a process that
  # maps twice the machine's memory, writable, is refused by the preflight (it said "would succeed").
  mkfifo "$tmp/in-big"
  "$helper" beyond-ram <"$tmp/in-big" >"$tmp/big.out" &
  bpid=$!
  exec 5>"$tmp/in-big"
  for i in $(seq 1 50); do [ -s "$tmp/big.out" ] && break; sleep 0.1; done
  if [ -s "$tmp/big.out" ]; then
    out=$("$bin" status "$bpid")
    # (under a memlock limit, the limit refuses it first)
    echo "$out" | grep -Eq "more than this machine's memory|would exceed the memlock limit" ||
      no "a process mapping twice the RAM: $(echo "$out" | grep lock-all)"
  else
    echo "(the kernel refused a mapping of twice the machine's memory: not checked)"
  fi
  exec 5>&-
  wait $bpid
  ;;

locked)
  can_lock || skip "a lock-all of a small program fails here: $(head -1 "$tmp/probe")"
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

  # rampart status of a process locked by rampart run (sh, which reports on itself): locked,
  # exit 0. The inner rampart must not inherit the preload: in a sanitizer build it needs its
  # runtime first.
  out=$("$bin" run -- sh -c 'env -u LD_PRELOAD "$0" status $$' "$bin"); rc=$?
  echo "$out"
  [ $rc -eq 0 ] || no "status of a locked sh exited $rc, not 0"
  echo "$out" | grep -Eq "^process [0-9]+ \(sh\): locked$" || no "status does not say the sh is locked"
  echo "$out" | grep -Eq "^  locked \(VmLck\) +[0-9.]+ [KM]iB$" || no "status shows no VmLck"
  echo "$out" | grep -Eq "^  in areas not locked +0 B mapped, 0 B resident$" || no "a locked sh has unlocked areas"

  # "locked and resident" is the RAM the locked areas hold (their Rss), not the proportional
  # smaps Locked:, which divides shared pages among the processes that map them.
  start "$bin" run -- sleep 30
  for i in $(seq 1 50); do [ "$(awk '$1 == "VmLck:" { print $2 }' /proc/$spid/status 2>/dev/null)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
  out=$("$bin" status --json $spid); rc=$?
  want=$(locked_rss_kb $spid)
  kill $spid 2>/dev/null; wait $spid 2>/dev/null
  got=$(echo "$out" | sed -n 's/.*"locked_areas_resident":\([0-9]*\).*/\1/p')
  pss=$(echo "$out" | sed -n 's/.*"locked_proportional":\([0-9]*\).*/\1/p')
  echo "sleep under rampart run: locked and resident ${got:-?} B, Rss of its lo areas ${want} kB, proportional ${pss:-?} B"
  [ $rc -eq 0 ] || no "status of a locked sleep exited $rc, not 0"
  [ -n "$got" ] && [ "$got" -eq $((want * 1024)) ] || no "locked and resident ${got:-?} B is not the locked areas' Rss ${want} kB"

  # Partly locked: one 32-byte secret (a locked pool arena), nothing else. VmLck > 0, exit 1.
  mkfifo "$tmp/in"
  "$helper" <"$tmp/in" >"$tmp/helper.out" &
  hpid=$!
  exec 3>"$tmp/in"
  for i in $(seq 1 50); do [ -s "$tmp/helper.out" ] && break; sleep 0.1; done
  out=$("$bin" status "$hpid"); rc=$?
  exec 3>&-
  wait $hpid || no "the helper failed"
  echo "$out" | head -4
  [ $rc -eq 1 ] || no "status of a process with one secret exited $rc, not 1 (partly locked)"
  echo "$out" | grep -Eq "^process $hpid \(lock_helper\): partly locked$" || no "one secret: $(echo "$out" | head -1)"
  ;;

opens)
  command -v strace >/dev/null || skip "strace is not installed (Debian package strace)"
  strace -f -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
  can_lock || skip "a lock-all of a small program fails here: $(head -1 "$tmp/probe")"
  # The program under the preload, not rampart itself: count opens after the exec of true.
  strace -f -e trace=openat,open,execve -o "$tmp/trace" "$bin" run -- true 2>"$tmp/err"; rc=$?
  [ $rc -eq 0 ] || no "run -- true under strace exited $rc: $(cat "$tmp/err")"
  grep -q 'execve(".*/true", .* = 0$' "$tmp/trace" || no "the trace shows no exec of true: $(tail -3 "$tmp/trace")"
  after=$(awk '/execve\(".*\/true", .* = 0$/ { on = 1 } on' "$tmp/trace")
  proc=$(echo "$after" | grep -c '"/proc/self/\(smaps_rollup\|smaps\|comm\|status\|limits\)"')
  heavy=$(echo "$after" | grep -c '"/proc/self/\(smaps_rollup\|smaps\)"')
  warned=$(grep -c "warning" "$tmp/err")
  echo "opens of /proc/self files by the locked program: $proc (smaps: $heavy; headroom warning lines: $warned)"
  echo "$after" | grep '/proc/self' | head -5
  [ "$heavy" -eq 0 ] || no "the success path reads smaps or smaps_rollup"
  # With no memlock limit that applies (CAP_IPC_LOCK), nothing at all; under a finite limit, the
  # headroom check reads status once, and a warning names the program (comm).
  if [ "$warned" -eq 0 ]; then
    st=$(echo "$after" | grep -c '"/proc/self/status"')
    [ "$st" -le 1 ] || no "the success path reads /proc/self/status $st times"
    [ $((proc - st)) -eq 0 ] || no "the success path opens other /proc/self files"
  else
    [ "$proc" -le 2 ] || no "the success path with a headroom warning opens $proc /proc/self files"
  fi
  ;;

static)
  s=""
  for c in /sbin/ldconfig /usr/sbin/ldconfig; do
    if [ -x "$c" ] && command -v readelf >/dev/null && readelf -lW "$c" 2>/dev/null | grep -q LOAD &&
       ! readelf -lW "$c" | grep -q INTERP; then s=$c; break; fi
  done
  [ -n "$s" ] || skip "no statically linked program found (ldconfig) or no readelf (binutils)"
  echo "statically linked: $s"
  # No preload reaches it: it is run traced and locked at its exec stop (issue 15; locking itself
  # is checked by tests/cli_lock.sh, group static).
  "$bin" run -- "$s" -p >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 0 ] || no "a static program exited $rc under rampart run, not 0: $(cat "$tmp/err")"
  grep -q "librampart-lock" "$tmp/err" && no "a static program was given the preload: $(cat "$tmp/err")"
  ;;

i386)
  # A dynamically linked i386 program made with binutils alone: its loader would skip the 64-bit
  # library with a warning and run it unlocked, so it is refused too.
  [ "$(uname -m)" = x86_64 ] || skip "not an x86_64 machine"
  command -v as >/dev/null && command -v ld >/dev/null || skip "no binutils (as, ld)"
  printf '.globl _start\n_start: movl $1, %%eax\n xorl %%ebx, %%ebx\n int $0x80\n' >"$tmp/t32.s"
  as --32 "$tmp/t32.s" -o "$tmp/t32.o" 2>/dev/null &&
    ld -m elf_i386 -pie -dynamic-linker /lib/ld-linux.so.2 "$tmp/t32.o" -o "$tmp/t32" 2>/dev/null ||
    skip "binutils here cannot make i386 programs"
  "$bin" run -- "$tmp/t32" >/dev/null 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "a 32-bit program exited $rc, not 125"
  grep -q "different word size" "$tmp/err" || no "a 32-bit program is not explained: $(cat "$tmp/err")"
  ;;

nobody|foreign|userns)
  [ "$(id -u)" = 0 ] || skip "needs root to run cases as user nobody"
  command -v setpriv >/dev/null && command -v prlimit >/dev/null || skip "needs setpriv and prlimit (util-linux)"
  # An installed layout: the library where this build's rampart looks for it, relative to bin/.
  libdir="$tmp/prefix/bin/${RP_TEST_BIN_TO_LIB:-../lib}"
  mkdir -p "$tmp/prefix/bin" "$libdir" "$tmp/out"
  cp "$bin" "$tmp/prefix/bin/rampart" && cp "$lib" "$libdir/librampart-lock.so" || { no "cannot copy"; exit 1; }
  chmod -R a+rX "$tmp/prefix"
  chmod 0777 "$tmp/out"
  nobody() { limit=$1; shift; prlimit --memlock="$limit" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"; }
  inst="$tmp/prefix/bin/rampart"
  ;;
*)
  echo "unknown group '$group'"; exit 2 ;;
esac

case "$group" in
nobody)
  # Required, limit 64 KiB: resource limit with the numbers; touch never runs.
  nobody 65536:65536 env -u RAMPART_LOCK_LIBRARY "$inst" run -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
  head -2 "$tmp/err"
  [ $rc -eq 125 ] || no "a required failure exited $rc, not 125"
  grep -q "resource limit exceeded: lock-all (current+future) of .* failed" "$tmp/err" || no "the diagnosis names no resource limit"
  grep -q "memlock limit soft 64 KiB, hard 64 KiB" "$tmp/err" || no "the diagnosis lacks the limits"
  grep -q "(VmSize)" "$tmp/err" || no "the diagnosis lacks the bytes needed"
  grep -q "ulimit -l unlimited" "$tmp/err" || no "the diagnosis lacks the remedy"
  grep -q "rampart-lock: cannot lock the memory of touch (pid [0-9]*)" "$tmp/err" || no "the diagnosis does not name the program"
  [ ! -e "$tmp/out/ran" ] || no "the program ran although its required lock failed"

  # Required, limit 0: permission denied; touch never runs.
  nobody 0:0 "$inst" run --onfault -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "limit 0 exited $rc, not 125"
  grep -q "permission denied: lock-all (current+future+onfault)" "$tmp/err" || no "limit 0 is not permission denied: $(head -1 "$tmp/err")"
  grep -q "CAP_IPC_LOCK" "$tmp/err" || no "limit 0: no CAP_IPC_LOCK remedy"
  [ ! -e "$tmp/out/ran" ] || no "the program ran although it could not lock (limit 0)"

  # Best effort: a warning, and the program runs.
  nobody 65536:65536 "$inst" run --best-effort -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
  head -1 "$tmp/err"
  [ $rc -eq 0 ] || no "best effort exited $rc"
  [ -e "$tmp/out/ran" ] || no "best effort did not run the program"
  grep -q "warning: .* runs with its memory not locked: not locked (best effort): resource limit exceeded" "$tmp/err" \
    || no "best effort gave no warning"

  # Enough limit for cat (8 MiB), but future locking leaves little headroom: it runs locked, with
  # a warning.
  hard=$(ulimit -H -l)
  [ "$hard" = unlimited ] || [ "$hard" -ge 8192 ] || skip "hard memlock limit ${hard} KiB < 8 MiB: cannot give nobody 8 MiB"
  nobody 8388608:8388608 "$inst" run -- cat /proc/self/status >"$tmp/out/status" 2>"$tmp/err"; rc=$?
  [ $rc -eq 0 ] || no "an 8 MiB limit exited $rc: $(cat "$tmp/err")"
  lck=$(field VmLck <"$tmp/out/status")
  echo "as nobody with an 8 MiB limit: cat's VmLck ${lck:-?} kB; $(head -1 "$tmp/err")"
  [ "${lck:-0}" -gt 0 ] || no "as nobody with an 8 MiB limit, cat's VmLck is not > 0"
  grep -q "warning: cat (pid [0-9]*): future locking leaves" "$tmp/err" || no "no headroom warning under an 8 MiB limit"
  # A fork child that can no longer lock (the shell lowered its limit first) ends with the
  # diagnosis before its code runs; with best effort it runs.
  nobody 8388608:8388608 "$inst" run -- sh -c 'ulimit -l 64; ( echo child-ran ); echo "child exit $?"' >"$tmp/out/fork" 2>"$tmp/err"
  grep -q "^child exit 125$" "$tmp/out/fork" || no "a fork child that cannot lock: $(cat "$tmp/out/fork")"
  ! grep -q child-ran "$tmp/out/fork" || no "a fork child ran although its required lock failed"
  grep -q "resource limit exceeded" "$tmp/err" || no "a fork child's failure is not explained: $(head -1 "$tmp/err")"
  nobody 8388608:8388608 "$inst" run --best-effort -- sh -c 'ulimit -l 64; ( echo child-ran ); :' >"$tmp/out/fork" 2>&1
  grep -q "^child-ran$" "$tmp/out/fork" || no "best effort: a fork child that cannot lock did not run: $(cat "$tmp/out/fork")"
  ;;

foreign)
  # Another user's locked process: nobody reads its VmLck but not its areas, so whether all of
  # it is locked cannot be told: exit 4, with the reason.
  "$bin" run -- true 2>/dev/null || skip "root cannot lock here"
  start "$bin" run -- sleep 30
  for i in $(seq 1 50); do [ "$(awk '$1 == "VmLck:" { print $2 }' /proc/$spid/status 2>/dev/null)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
  out=$(nobody 65536:65536 "$inst" status $spid); rc=$?
  echo "$out" | head -2
  [ $rc -eq 4 ] || no "nobody's status of root's locked sleep exited $rc, not 4"
  echo "$out" | grep -Eq "^process $spid \(sleep\): cannot tell$" || no "nobody's status of root's locked sleep: $(echo "$out" | head -1)"
  echo "$out" | grep -q "run rampart as the process's owner or as root" || no "cannot tell, without the reason"
  # An unlocked one is "not locked" even so: VmLck 0 settles it.
  sleep 30 &
  upid=$!
  for i in $(seq 1 50); do [ "$(cat /proc/$upid/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done
  nobody 65536:65536 "$inst" status $upid >/dev/null; rc=$?
  [ $rc -eq 3 ] || no "nobody's status of root's unlocked sleep exited $rc, not 3"
  kill $spid $upid 2>/dev/null; wait $spid $upid 2>/dev/null
  # The areas of a process with locked memory (the helper's secret) hidden from root too (an
  # empty file bound over its smaps, in a private mount namespace): cannot tell.
  if command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
    mkfifo "$tmp/in"
    "$helper" <"$tmp/in" >"$tmp/helper.out" &
    hpid=$!
    exec 3>"$tmp/in"
    for i in $(seq 1 50); do [ -s "$tmp/helper.out" ] && break; sleep 0.1; done
    out=$(unshare -m sh -c 'mount --bind /dev/null /proc/$1/smaps && exec "$0" status $1' "$bin" "$hpid" 2>&1); rc=$?
    exec 3>&-
    wait $hpid
    echo "$out" | head -2
    [ $rc -eq 4 ] || no "status with the smaps hidden exited $rc, not 4"
    echo "$out" | grep -q "^process $hpid (lock_helper): cannot tell$" || no "status with the smaps hidden: $(echo "$out" | head -1)"
  else
    echo "(no private mount namespaces: the hidden-smaps case is not run)"
  fi
  ;;

userns)
  # In a user namespace (rootless containers, unshare -r) CapEff shows CAP_IPC_LOCK, but the
  # kernel still applies the memlock limit: the preflight must not promise success, and the
  # failure is a resource limit, not "out of memory".
  nobody 65536:65536 unshare -Ur true 2>/dev/null || skip "no unprivileged user namespaces here"
  out=$(nobody 65536:65536 unshare -Ur "$inst" status); rc=$?
  [ $rc -eq 3 ] || no "status of itself (not locked) in a user namespace exited $rc, not 3"
  echo "$out" | grep -Eq "^  CAP_IPC_LOCK +no$" || no "in a user namespace, CAP_IPC_LOCK is taken to lift the limit"
  echo "$out" | grep -q "would exceed the memlock limit" || no "in a user namespace, the preflight does not see the limit"
  rm -f "$tmp/out/ran"
  nobody 65536:65536 unshare -Ur "$inst" run -- touch "$tmp/out/ran" 2>"$tmp/err"; rc=$?
  [ $rc -eq 125 ] || no "a required failure in a user namespace exited $rc, not 125"
  grep -q "resource limit exceeded: lock-all (current+future)" "$tmp/err" || no "in a user namespace: $(head -1 "$tmp/err")"
  [ ! -e "$tmp/out/ran" ] || no "the program ran although its required lock failed (user namespace)"
  ;;
esac
exit $fail
