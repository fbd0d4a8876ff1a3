#!/bin/sh
# SPDX-License-Identifier: MIT
# man.sh — every man page in man/ renders with `man -l` at 80 columns without a single warning
# from groff (stderr must stay empty), and the section 3 pages match the headers (a page that
# man/gen-man3.py would now write differently is stale).
# Usage: man.sh SOURCE_DIR
set -u
src=${1:?usage: man.sh SOURCE_DIR}
command -v man >/dev/null 2>&1 || { echo "SKIP: man missing (Debian packages man-db and groff-base)"; exit 77; }
command -v groff >/dev/null 2>&1 || { echo "SKIP: groff missing (Debian package groff-base)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0 n=0
for page in "$src"/man/*.[0-9]; do
  n=$((n + 1))
  MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -l "$page" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  if [ $rc -ne 0 ] || [ -s "$tmp/err" ]; then
    echo "FAIL: $page (man status $rc):"; cat "$tmp/err"; bad=1
  elif ! grep -q NAME "$tmp/out"; then
    echo "FAIL: $page rendered without a NAME section"; bad=1
  fi
done
[ $n -ge 7 ] || { echo "FAIL: expected rampart.1 and six section 3 pages, found $n pages"; bad=1; }
if command -v python3 >/dev/null 2>&1; then
  mkdir -p "$tmp/src/man" && cp -r "$src/include" "$src/CMakeLists.txt" "$tmp/src/" &&
    python3 "$src/man/gen-man3.py" "$tmp/src" || { echo "FAIL: man/gen-man3.py failed"; bad=1; }
  for page in "$tmp"/src/man/*.3; do
    cmp -s "$page" "$src/man/${page##*/}" ||
      { echo "FAIL: man/${page##*/} is stale: run make man3 and commit it"; bad=1; }
  done
else
  echo "(python3 missing: the section 3 pages are not compared with the headers)"
fi
[ $bad -eq 0 ] && echo "$n man pages render without warnings; section 3 pages match the headers"
exit $bad
