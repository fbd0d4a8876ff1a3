#!/bin/sh
# SPDX-License-Identifier: MIT
# inject_aarch64.sh — src/os/inject_linux.c's aarch64 code path, cross-compiled (issue 15). It
# cannot run here, so this checks what a build can: it compiles warning-free for aarch64, holds the
# `svc #0` instruction (01 00 00 d4) it writes at the PC, and names aarch64's mlockall (230) and
# munlockall (231). Exits 77 without aarch64-linux-gnu-gcc and its C library headers (Debian:
# gcc-aarch64-linux-gnu, libc6-dev-arm64-cross).
# Usage: inject_aarch64.sh SOURCE_DIR
set -u
src=$1
cc=aarch64-linux-gnu-gcc
command -v $cc >/dev/null || { echo "SKIPPED: no $cc (apt-get install gcc-aarch64-linux-gnu); aarch64 injection untested"; exit 77; }
command -v aarch64-linux-gnu-objdump >/dev/null || { echo "SKIPPED: no aarch64-linux-gnu-objdump (binutils-aarch64-linux-gnu)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The cross compiler only recommends its C library headers: without them nothing compiles, which
# says nothing about inject_linux.c.
printf '#include <stdint.h>\n' | $cc -E -x c - >/dev/null 2>&1 ||
  { echo "SKIPPED: $cc has no aarch64 C library headers (apt-get install libc6-dev-arm64-cross)"; exit 77; }
fail=0
no() { echo "FAILED: $*"; fail=1; }
$cc -std=c11 -O2 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Werror \
  -I"$src/include" -I"$src/src" -c "$src/src/os/inject_linux.c" -o "$tmp/inject.o" || no "inject_linux.c does not compile for aarch64"
[ $fail -eq 0 ] || exit 1
# Unoptimised, the instruction bytes stay a constant in the object's data (optimised, they become
# immediates): look for them there.
$cc -std=c11 -O0 -I"$src/include" -I"$src/src" -c "$src/src/os/inject_linux.c" -o "$tmp/inject0.o" || no "-O0 build failed"
aarch64-linux-gnu-objdump -s "$tmp/inject0.o" | grep -q " 010000d4" || no "no svc #0 (01 00 00 d4) in the aarch64 object"
dis=$(aarch64-linux-gnu-objdump -d "$tmp/inject.o")
echo "$dis" | grep -A2 "<rp__os_inject_nr_mlockall>:" | grep -q "#0xe6" || no "mlockall is not 230 (0xe6) on aarch64"
echo "$dis" | grep -A2 "<rp__os_inject_nr_munlockall>:" | grep -q "#0xe7" || no "munlockall is not 231 (0xe7) on aarch64"
echo "$dis" | grep -q "<rp__os_inject_syscall>:" && echo "$dis" | grep -q "<rp__os_run_traced>:" || no "the aarch64 object lacks the injection"
[ $fail -eq 0 ] && echo "PASSED: aarch64 injection compiles (not run: no aarch64 machine here)"
exit $fail
