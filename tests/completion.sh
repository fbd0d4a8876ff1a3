#!/bin/sh
# SPDX-License-Identifier: MIT
# completion.sh — the bash completion (tools/rampart/rampart.bash) completes subcommands and each
# subcommand's options: runs _rampart in bash with COMP_WORDS set as bash would set them.
# Usage: completion.sh SOURCE_DIR
set -u
src=${1:?usage: completion.sh SOURCE_DIR}
command -v bash >/dev/null 2>&1 || { echo "SKIP: bash missing (Debian package bash)"; exit 77; }
exec bash -c '
. "$1/tools/rampart/rampart.bash" || exit 1
fail=0
# expect "WORDS..." "EXPECTED WORDS (sorted, space-separated)"
expect() {
  COMP_WORDS=($1); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  case "$1" in *" ") COMP_WORDS+=(""); COMP_CWORD=$((COMP_CWORD + 1)) ;; esac
  _rampart
  got=$(printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "); got=${got% }
  if [ "$got" = "$2" ]; then echo "ok: [$1] -> $got"; else echo "FAIL: [$1] -> [$got], expected [$2]"; fail=1; fi
}
expect "rampart " "--help --version doctor help lock maps run status unlock version"
expect "rampart st" "status"
expect "rampart d" "doctor"
expect "rampart doctor " "--help --json"
expect "rampart maps --f" "--flagged"
expect "rampart maps --" "--flagged --help --json"
expect "rampart status --j" "--json"
expect "rampart run --" "-- --best-effort --follow --help --onfault --ptrace"
expect "rampart lock --" "--best-effort --current-only --help --onfault --raise-limit"
expect "rampart unl" "unlock"
expect "rampart run --b" "--best-effort"
expect "rampart help ma" "maps"
expect "rampart run -- trueXYZnonexistent" ""
# A PID is offered for maps: this shell'"'"'s own.
COMP_WORDS=(rampart maps "$$"); COMP_CWORD=2; _rampart
case " ${COMPREPLY[*]} " in *" $$ "*) echo "ok: maps offers PID $$" ;; *) echo "FAIL: maps does not offer PID $$"; fail=1 ;; esac
exit $fail
' completion "$src"
