#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/valgrind.sh — run one program under Valgrind memcheck and check its report: with a
# pattern, memcheck must fail the run (--error-exitcode) and print that pattern (the bug the
# program has); with "clean", it must find no error and no leak at all.
#   valgrind.sh HAVE_HEADER PRELOAD|- PROGRAM MODE PATTERN|clean
# HAVE_HEADER is 1 when the build found <valgrind/memcheck.h> (core/annotate.h); PRELOAD, when
# not "-", is put in LD_PRELOAD of the program (librampart-malloc.so under a plain program).
# Exit 77 (skip) with the reason when Valgrind or its header is missing.
have=$1 preload=$2 prog=$3 mode=$4 want=$5
if [ "$have" != 1 ]; then
  echo "SKIP: the build did not find valgrind/memcheck.h (Debian: apt-get install valgrind), so rampart describes no block to memcheck"
  exit 77
fi
if ! command -v valgrind >/dev/null 2>&1; then
  echo "SKIP: valgrind is not installed (Debian: apt-get install valgrind)"
  exit 77
fi
out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT
set -- valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$prog" "$mode"
if [ "$preload" != - ]; then
  # Without this option Valgrind replaces every malloc, the preload's too, with its own.
  shift
  set -- valgrind --soname-synonyms=somalloc=nouserintercepts "$@"
  LD_PRELOAD=$preload "$@" >"$out" 2>&1
else
  "$@" >"$out" 2>&1
fi
rc=$?
cat "$out"
if [ "$want" = clean ]; then
  if [ $rc -ne 0 ]; then echo "FAIL: exit status $rc, expected 0 (no memcheck error)"; exit 1; fi
  grep -q "ERROR SUMMARY: 0 errors" "$out" || { echo "FAIL: memcheck reported errors"; exit 1; }
  grep -q "definitely lost: [1-9]" "$out" && { echo "FAIL: memcheck reported a leak"; exit 1; }
  echo "ok: no memcheck error in $mode"
  exit 0
fi
if [ $rc -ne 99 ]; then echo "FAIL: exit status $rc, expected memcheck's 99"; exit 1; fi
grep -Eq "$want" "$out" || { echo "FAIL: memcheck's report lacks /$want/"; exit 1; }
echo "ok: memcheck reported /$want/"
