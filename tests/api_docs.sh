#!/bin/sh
# SPDX-License-Identifier: MIT
# api_docs.sh — every function librampart.so exports is documented: named in README.md's
# "API overview" section and in one of the section 3 man pages (man/rampart_*.3).
# Usage: api_docs.sh SOURCE_DIR LIBRARY
set -u
src=${1:?usage: api_docs.sh SOURCE_DIR LIBRARY} lib=${2:?}
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm missing (Debian package binutils)"; exit 77; }
funcs=$(nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | grep '^rp_' | sort -u)
[ -n "$funcs" ] || { echo "FAIL: $lib exports no rp_ functions"; exit 1; }
# The overview runs from "## API overview" to the next level-2 heading.
overview=$(awk '/^## API overview/ { on = 1; next } on && /^## / { on = 0 } on' "$src/README.md")
[ -n "$overview" ] || { echo "FAIL: README.md has no '## API overview' section"; exit 1; }
bad=0 n=0
for f in $funcs; do
  n=$((n + 1))
  printf '%s\n' "$overview" | grep -q "\\b$f\\b" || { echo "FAIL: $f is not in README.md's API overview"; bad=1; }
  cat "$src"/man/rampart_*.3 | grep -q "\\b$f\\b" || { echo "FAIL: $f is in no man page (man/gen-man3.py)"; bad=1; }
done
[ $bad -eq 0 ] && echo "all $n exported functions are in README's API overview and a man page"
exit $bad
