#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_doctor.sh — `rampart doctor` end to end: as root it must print the table and exit 0; with its
# smaps hidden it must fail (exit 1) and say why; as an unprivileged user with a 64 KiB memlock limit
# it must name the limit and how to lift it.
# Usage: cli_doctor.sh PATH/TO/rampart
set -u
bin=$1
fail=0
out=$("$bin" doctor 2>&1); rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAILED: doctor exited $rc"; fail=1; }
for want in "page size" "memlock limit" "CAP_IPC_LOCK" "secret memory" "guard pages" "core dumps" \
            "os: allocate" "os: locked in RAM" "os: excluded from core dumps" "os: wiped on free" \
            "plain: wiped on free"; do
  echo "$out" | grep -q "$want" || { echo "FAILED: doctor output lacks '$want'"; fail=1; }
done
echo "$out" | grep -q " FAIL " && { echo "FAILED: a row failed"; fail=1; }

# Doctor must be able to fail: with its smaps hidden (/dev/null bound over it in a private mount
# namespace; the pid stays the same across exec) no page source can be checked, those rows fail
# and say why, and the exit status says so. Only smaps is hidden: sanitizers need the rest of /proc.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
  out=$(unshare -m sh -c 'mount --bind /dev/null /proc/$$/smaps && exec "$0" doctor' "$bin" 2>&1); rc=$?
  echo "$out"
  [ $rc -ne 0 ] || { echo "FAILED: doctor exited 0 though it could not check its pages"; fail=1; }
  echo "$out" | grep -q "os: excluded from core dumps *FAIL *cannot tell" ||
    { echo "FAILED: without smaps, doctor must say it cannot tell whether pages are dumped"; fail=1; }
  echo "$out" | grep -q "mount -t proc" || { echo "FAILED: without smaps, doctor must say how to fix it"; fail=1; }
else
  echo "SKIPPED the failing half: needs root and unshare -m (util-linux)"
fi

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null || ! command -v prlimit >/dev/null; then
  echo "SKIPPED the unprivileged half: needs root, setpriv and prlimit (util-linux)"
  exit $fail
fi
dir=$(mktemp -d); chmod 755 "$dir"; cp "$bin" "$dir/rampart"
out=$(prlimit --memlock=65536:65536 setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
      -- "$dir/rampart" doctor 2>&1); rc=$?
rm -rf "$dir"
echo "$out"
[ $rc -eq 0 ] || { echo "FAILED: unprivileged doctor exited $rc"; fail=1; }
for want in "may lock at most 64 KiB" "ulimit -l" "setcap cap_ipc_lock=+ep" "LimitMEMLOCK=infinity" \
            "How to lift the memlock limit" "os: locked in RAM"; do
  echo "$out" | grep -q -- "$want" || { echo "FAILED: unprivileged doctor output lacks '$want'"; fail=1; }
done
exit $fail
