#!/bin/sh
# SPDX-License-Identifier: MIT
# ci-deb.sh — the Debian packages end to end, as on a fresh Debian 12 (CI step; needs root):
# build them with dpkg-buildpackage from a clean copy of the committed tree, check them with
# lintian (no errors), install them, and build the example consumer against the installed
# librampart-dev with CMake's find_package and with pkg-config, then run both programs.
# Usage: packaging/ci-deb.sh [SOURCE_DIR]   (build dependencies: debian/control's Build-Depends)
set -eu
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "ci-deb.sh: installs packages, so it runs as root" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/rampart"
git -C "$src" archive --format=tar HEAD | tar -x -C "$tmp/rampart"
cd "$tmp/rampart"
dpkg-buildpackage -us -uc -b
cd "$tmp"
lintian --fail-on error ./*.changes
apt-get install -y -qq --reinstall ./librampart0_*.deb ./librampart-dev_*.deb ./rampart_*.deb
# What each package put where (libraries in the multiarch directory).
lib=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in $lib/librampart.so.0 $lib/librampart-lock.so $lib/librampart-malloc.so \
         /usr/include/rampart.h $lib/librampart.a $lib/pkgconfig/rampart.pc \
         $lib/cmake/rampart/rampartConfig.cmake /usr/bin/rampart \
         /usr/share/bash-completion/completions/rampart; do
  [ -e "$f" ] || { echo "ci-deb.sh: FAILED: $f is not installed" >&2; exit 1; }
done
man -w rampart >/dev/null && man -w 3 rampart_pool >/dev/null
rampart version
[ "$(pkg-config --variable=libdir rampart)" -ef "$lib" ] || { echo "ci-deb.sh: FAILED: rampart.pc's libdir is not $lib" >&2; exit 1; }
# rampart run finds the installed lock preload next to the multiarch libraries.
rampart run -- true
# The consumer: find_package(rampart 0.1) from the system, shared and static.
cmake -S "$src/tests/install_consumer" -B "$tmp/consumer" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/locked_page_cmake"
"$tmp/consumer/locked_page_cmake_static"
cc -o "$tmp/locked_page" "$src/examples/locked_page.c" $(pkg-config --cflags --libs rampart)
"$tmp/locked_page"
echo "ci-deb.sh: packages built, lintian clean of errors, installed, consumer built and run"
