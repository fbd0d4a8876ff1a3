#!/bin/sh
# SPDX-License-Identifier: MIT
# man.sh — every man page in man/ renders with `man -l` at 80 columns without a single warning
# from groff (stderr must stay empty), and the section 3 pages match the headers (a page that
# man/gen-man3.py would now write differently is stale). Every RAMPART_* variable that the library
# or the CLI reads is documented in rampart(1) and in the README's table.
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
vars=$(cat "$src"/src/*/*.c "$src"/tools/rampart/*.c | grep -o '"RAMPART_[A-Z_]*"' | tr -d '"' | sort -u)
[ -n "$vars" ] || { echo "FAIL: no RAMPART_* variable found in the sources"; bad=1; }
for v in $vars; do
  grep -q "^\.B $v\$" "$src/man/rampart.1" || { echo "FAIL: $v is read by the sources but not in rampart(1) ENVIRONMENT"; bad=1; }
  grep -q "^| \`$v\` |" "$src/README.md" || { echo "FAIL: $v is read by the sources but not in the README's table"; bad=1; }
done
[ $bad -eq 0 ] && echo "$n man pages render without warnings; section 3 pages match the headers"
exit $bad
