#!/bin/sh
# SPDX-License-Identifier: MIT
# abi.sh — librampart.so's ABI against the committed baseline abi/librampart.abi (libabigail).
#   abi.sh baseline SOURCE_DIR LIBRARY   write abi/librampart.abi from LIBRARY (make abi-baseline)
#   abi.sh check SOURCE_DIR LIBRARY      fail when LIBRARY breaks binaries built against the
#                                        baseline (abidiff's "incompatible change" bit); added
#                                        functions and other compatible changes are reported only
# Only types reachable from the public headers (include/) count. The library must carry debug
# information (CMake's default RelWithDebInfo or Debug build), as the baseline's build did.
set -u
mode=${1:?usage: abi.sh baseline|check SOURCE_DIR LIBRARY} src=${2:?} lib=${3:?}
base=$src/abi/librampart.abi
for tool in abidw abidiff; do
  command -v $tool >/dev/null 2>&1 || { echo "SKIP: $tool missing (Debian package abigail-tools)"; exit 77; }
done
if ! readelf -S -W "$lib" 2>/dev/null | grep -q '\.debug_info'; then
  echo "SKIP: $lib has no debug information (build with CMAKE_BUILD_TYPE RelWithDebInfo or Debug)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Source paths are made relative so the baseline does not name the machine it was made on.
abidw --no-corpus-path --headers-dir "$src/include" --drop-private-types "$lib" | sed "s|$src/||g" > "$tmp/new.abi" ||
  { echo "FAIL: abidw could not read $lib"; exit 1; }
case $mode in
  baseline)
    # Generated data (libabigail's XML reader takes no leading comment): licence.sh exempts *.abi.
    cp "$tmp/new.abi" "$base" && echo "wrote $base from $lib" ;;
  check)
    [ -f "$base" ] || { echo "FAIL: no baseline $base (make abi-baseline)"; exit 1; }
    abidiff --no-added-syms "$base" "$tmp/new.abi"
    rc=$?
    # abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
    if [ $((rc & 3)) -ne 0 ]; then echo "FAIL: abidiff could not compare (status $rc)"; exit 1; fi
    if [ $((rc & 8)) -ne 0 ]; then
      echo "FAIL: incompatible ABI change against abi/librampart.abi (above). If it is meant (0.x minor"
      echo "release), regenerate the baseline with: make abi-baseline"
      exit 1
    fi
    [ $((rc & 4)) -ne 0 ] && echo "compatible ABI changes (above); the baseline still holds" \
                          || echo "ABI identical to abi/librampart.abi" ;;
  *) echo "usage: abi.sh baseline|check SOURCE_DIR LIBRARY"; exit 2 ;;
esac
