#!/bin/sh
# install.sh — install the build into a fresh prefix, then build examples/locked_page.c against
# it twice: with pkg-config, and with CMake's find_package. Both programs must lock a page.
# Usage: install.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for f in include/rampart.h include/rampart/pages.h lib/librampart.so lib/librampart.a \
         lib/pkgconfig/rampart.pc lib/cmake/rampart/rampartConfig.cmake bin/rampart; do
  [ -e "$tmp/prefix/$f" ] || { echo "FAILED: $f was not installed"; exit 1; }
done
command -v pkg-config >/dev/null || { echo "SKIPPED: pkg-config missing (Debian package pkgconf)"; exit 77; }
PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"; export PKG_CONFIG_PATH
cc -o "$tmp/locked_page" "$src/examples/locked_page.c" $(pkg-config --cflags --libs rampart)
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/locked_page" | tee "$tmp/out"
grep -q "locked: yes" "$tmp/out" || { echo "FAILED: pkg-config build did not lock its page"; exit 1; }
cmake -S "$src/tests/install_consumer" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/locked_page_cmake" | grep -q "locked: yes" || { echo "FAILED: find_package build (shared)"; exit 1; }
"$tmp/consumer/locked_page_cmake_static" | grep -q "locked: yes" || { echo "FAILED: find_package build (static)"; exit 1; }
"$tmp/prefix/bin/rampart" version
echo "install, pkg-config and find_package: ok"
