#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_maps.sh — `rampart maps PID` against a process that uses rampart (maps_helper): the rows of
# its OS pages and of its map must show the flags L (locked), D (no core dump) and, for the map,
# W (wiped on fork), and its stack map's guard page G (a lightweight guard is found in the page
# tables, not in smaps); the totals must count them; bad arguments exit 2; a missing process and
# another user's process exit 1 and say which it is.
# Usage: cli_maps.sh PATH/TO/rampart PATH/TO/maps_helper
set -u
bin=$1 helper=$2
fail=0
dir=$(mktemp -d)
trap 'exec 3>&- 2>/dev/null; rm -rf "$dir"' EXIT
mkfifo "$dir/in"
"$helper" <"$dir/in" >"$dir/out" &
hpid=$!
exec 3>"$dir/in"
tries=0
while [ ! -s "$dir/out" ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
read -r pid pages map guard light <"$dir/out" || { echo "FAILED: the helper did not start"; exit 1; }
out=$("$bin" maps "$pid" 2>&1); rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAILED: maps exited $rc"; fail=1; }
echo "$out" | grep -Eq "^$pages-[0-9a-f]+ .* LD... " || { echo "FAILED: the OS pages at $pages are not shown locked + no-dump"; fail=1; }
echo "$out" | grep -Eq "^$map-[0-9a-f]+ .* LDW.. " || { echo "FAILED: the map at $map is not shown locked + no-dump + wipe-on-fork"; fail=1; }
echo "$out" | grep -Eq "^ +L locked: +[0-9.]+ [KM]iB in [1-9]" || { echo "FAILED: the totals count no locked bytes"; fail=1; }
echo "$out" | grep -Eq "^ +W wipe on fork: +[0-9.]+ [KM]iB in [1-9]" || { echo "FAILED: the totals count no wipe-on-fork bytes"; fail=1; }
echo "$out" | grep -q "^totals: " || { echo "FAILED: no totals line"; fail=1; }
# The stack map's guard page: G, also when it is a lightweight guard inside a read-write area.
echo "$out" | grep -Eq "^$guard-[0-9a-f]+ .* ...G. " || { echo "FAILED: the stack guard at $guard (lightweight: $light) is not shown G"; fail=1; }
flagged=$("$bin" maps --flagged "$pid")
echo "$flagged" | grep -Eq "^$map-" || { echo "FAILED: --flagged hides the map"; fail=1; }
echo "$flagged" | grep -q "r-xp" && { echo "FAILED: --flagged shows unflagged code regions"; fail=1; }
# Another user's process: as user nobody, the helper (root's) cannot be read: exit 1, and why.
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 && [ -x "$bin" ]; then
  cp "$bin" "$dir/rampart" && chmod 0755 "$dir" "$dir/rampart"
  err=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$dir/rampart" maps "$pid" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 1 ] || { echo "FAILED: another user's process must exit 1 (got $rc: $err)"; fail=1; }
  echo "$err" | grep -q "another user" || { echo "FAILED: another user's process must be named as such: $err"; fail=1; }
else
  echo "note: not root or no setpriv: another user's process is not checked"
fi
exec 3>&-
wait $hpid || { echo "FAILED: the helper failed"; fail=1; }

"$bin" maps not-a-pid >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAILED: a bad pid must exit 2"; fail=1; }
"$bin" maps 1 2 >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAILED: two pids must exit 2"; fail=1; }
err=$("$bin" maps 999999999 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] || { echo "FAILED: a missing process must exit 1"; fail=1; }
echo "$err" | grep -q "No such process" || { echo "FAILED: a missing process must be called so: $err"; fail=1; }
"$bin" maps --help | grep -q "wiped in fork children" || { echo "FAILED: no help"; fail=1; }
exit $fail
