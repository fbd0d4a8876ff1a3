#!/bin/sh
# SPDX-License-Identifier: MIT
# install.sh — install the build into a fresh prefix, then build examples/locked_page.c against
# it twice: with pkg-config, and with CMake's find_package. Both programs must lock a page.
# Usage: install.sh BUILD_DIR SOURCE_DIR LIBDIR   (LIBDIR: the build's CMAKE_INSTALL_LIBDIR, e.g.
# lib, or lib/x86_64-linux-gnu when configured for Debian's /usr)
set -eu
build=$1 src=$2 libdir=${3:-lib}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/rampart.h include/rampart/pages.h $libdir/librampart.so $libdir/librampart.a \
         $libdir/pkgconfig/rampart.pc $libdir/cmake/rampart/rampartConfig.cmake bin/rampart \
         include/rampart/lockall.h $libdir/librampart-lock.so share/bash-completion/completions/rampart \
         share/man/man1/rampart.1 share/man/man3/rampart_pool.3; do
  [ -e "$tmp/prefix/$f" ] || { echo "FAILED: $f was not installed"; exit 1; }
done
command -v pkg-config >/dev/null || { echo "SKIPPED: pkg-config missing (Debian package pkgconf)"; exit 77; }
PKG_CONFIG_PATH="$tmp/prefix/$libdir/pkgconfig"; export PKG_CONFIG_PATH
cc -o "$tmp/locked_page" "$src/examples/locked_page.c" $(pkg-config --cflags --libs rampart)
LD_LIBRARY_PATH="$tmp/prefix/$libdir" "$tmp/locked_page" | tee "$tmp/out"
grep -q "locked: yes" "$tmp/out" || { echo "FAILED: pkg-config build did not lock its page"; exit 1; }
cmake -S "$src/tests/install_consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/locked_page_cmake" | grep -q "locked: yes" || { echo "FAILED: find_package build (shared)"; exit 1; }
"$tmp/consumer/locked_page_cmake_static" | grep -q "locked: yes" || { echo "FAILED: find_package build (static)"; exit 1; }
"$tmp/prefix/bin/rampart" version
# The installed `rampart run` finds the installed librampart-lock.so (LIBDIR beside bin/), and the
# program it runs reports its own memory locked.
cap=$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
if [ $(( (0x${cap:-0} >> 14) & 1 )) -eq 1 ]; then
  lck=$(env -u RAMPART_LOCK_LIBRARY "$tmp/prefix/bin/rampart" run -- cat /proc/self/status | awk '$1 == "VmLck:" { print $2 }')
  [ "${lck:-0}" -gt 0 ] || { echo "FAILED: the installed rampart run did not lock cat (VmLck ${lck:-?} kB)"; exit 1; }
  echo "installed rampart run -- cat: VmLck $lck kB"
else
  echo "(no CAP_IPC_LOCK: the installed rampart run is checked as root only)"
fi
echo "install, pkg-config and find_package: ok"
