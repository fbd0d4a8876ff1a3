#!/bin/sh
# SPDX-License-Identifier: MIT
# symbols.sh — librampart.so exports only public rp_* functions and data, each under the symbol
# version RAMPART_0.1 from abi/librampart.map; no rp__ internal and no unversioned symbol leaks.
# Usage: symbols.sh PATH/TO/librampart.so
set -u
lib=${1:?usage: symbols.sh LIBRARY}
command -v readelf >/dev/null 2>&1 || { echo "SKIP: readelf missing (Debian package binutils)"; exit 77; }
# Defined dynamic symbols: "name@@VERSION" (or "name" when unversioned), section index not UND.
syms=$(readelf --dyn-syms -W "$lib" | awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $4 != "SECTION" && $4 != "FILE" && $8 != "" { print $8 }')
[ -n "$syms" ] || { echo "FAIL: $lib exports no symbols at all"; exit 1; }
bad=0
for s in $syms; do
  name=${s%%@*}
  case $s in
    RAMPART_*) continue ;;                       # the version definition itself
    rp__*) echo "FAIL: internal symbol $s is exported"; bad=1 ;;
    rp_*@@RAMPART_0.1) ;;
    rp_*) echo "FAIL: $s carries no RAMPART_0.1 version"; bad=1 ;;
    *) echo "FAIL: non-rampart symbol $name is exported"; bad=1 ;;
  esac
done
n=$(printf '%s\n' $syms | grep -c '^rp_.*@@RAMPART_0.1$')
[ $bad -eq 0 ] && echo "$n public symbols, all rp_* @@RAMPART_0.1; no rp__ internals exported"
exit $bad
