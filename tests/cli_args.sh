#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_args.sh — the rampart CLI's argument handling (issue 10): every command's --help and
# `rampart help COMMAND` print that command's help and exit 0; a second process id is an
# "unexpected argument", an unknown option is named as one, and both exit 2 (the usage error of
# every command); rampart --help lists the exit statuses and every RAMPART_* variable.
# Usage: cli_args.sh PATH/TO/rampart
set -u
bin=$1
fail=0
no() { echo "FAILED: $*"; fail=1; }

# Each command: --help and help COMMAND give the same text, on stdout, exit 0.
for c in doctor maps run status; do
  a=$("$bin" "$c" --help 2>&1); rc=$?
  [ $rc -eq 0 ] || no "rampart $c --help exited $rc"
  echo "$a" | head -1 | grep -q "^usage: rampart $c" || no "rampart $c --help: $(echo "$a" | head -1)"
  b=$("$bin" help "$c" 2>/dev/null); rc=$?
  [ $rc -eq 0 ] || no "rampart help $c exited $rc"
  [ "$a" = "$b" ] || no "rampart help $c is not rampart $c --help"
done
"$bin" help >/dev/null; [ $? -eq 0 ] || no "rampart help must exit 0"
"$bin" help nosuchcommand >/dev/null 2>&1; [ $? -eq 2 ] || no "help on an unknown topic must exit 2"
"$bin" help run status >/dev/null 2>&1; [ $? -eq 2 ] || no "help with two topics must exit 2"
"$bin" >/dev/null 2>&1; [ $? -eq 2 ] || no "rampart without a command must exit 2"
"$bin" nosuchcommand >/dev/null 2>&1; [ $? -eq 2 ] || no "an unknown command must exit 2"

# A second argument is unexpected, not "not a process id".
for c in status maps; do
  err=$("$bin" "$c" 1 2 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || no "rampart $c 1 2 exited $rc, not 2"
  echo "$err" | grep -q "unexpected argument '2'" || no "rampart $c 1 2: $(echo "$err" | head -1)"
  echo "$err" | grep -q "not a process id" && no "rampart $c 1 2 calls the second argument not a process id"
  err=$("$bin" "$c" --bogus 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || no "rampart $c --bogus exited $rc, not 2"
  echo "$err" | grep -q "unknown option '--bogus'" || no "rampart $c --bogus: $(echo "$err" | head -1)"
  err=$("$bin" "$c" abc 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] || no "rampart $c abc exited $rc, not 2"
  echo "$err" | grep -q "'abc' is not a process id" || no "rampart $c abc: $(echo "$err" | head -1)"
  # Digits only, whatever side the blank or sign is on (a leading one was taken).
  for a in " 1" "+1" "1 "; do
    "$bin" "$c" "$a" >/dev/null 2>&1; rc=$?
    [ $rc -eq 2 ] || no "rampart $c '$a' exited $rc, not 2"
  done
done
err=$("$bin" doctor extra 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || no "rampart doctor extra exited $rc, not 2"
echo "$err" | grep -q "unexpected argument 'extra'" || no "rampart doctor extra: $(echo "$err" | head -1)"
"$bin" version extra >/dev/null 2>&1; [ $? -eq 2 ] || no "rampart version extra must exit 2"

# Output that cannot be written is a failure, said on stderr (it exited 0 with an empty file).
if [ -w /dev/full ]; then
  for c in version "maps --json" "doctor --json"; do
    err=$("$bin" $c 2>&1 >/dev/full); rc=$?
    [ $rc -eq 1 ] || no "rampart $c >/dev/full exited $rc, not 1"
    echo "$err" | grep -q "cannot write the output" || no "rampart $c >/dev/full: $(echo "$err" | tail -1)"
  done
fi

# The overview documents the exit statuses and every variable.
help=$("$bin" --help)
echo "$help" | grep -q "2 usage error" || no "rampart --help does not document the usage error"
echo "$help" | grep -q "0 locked, 1 partly locked, 3 not locked, 4 cannot tell" || no "rampart --help lacks the status codes"
for v in RAMPART_LOCK RAMPART_LOCK_LIBRARY RAMPART_POOL_LOCK RAMPART_PURGE_DELAY RAMPART_CACHE_MAX RAMPART_HEAP_WIPE RAMPART_SHOW_STATS RAMPART_VERBOSE; do
  echo "$help" | grep -q "^  $v " || no "rampart --help does not list $v"
done
exit $fail
