# SPDX-License-Identifier: MIT
# rampart.bash — bash completion for the rampart CLI: subcommands, each one's options, process
# ids for maps/status/lock/unlock, command names for run. Installed as
# share/bash-completion/completions/rampart (loaded on demand by bash-completion).
_rampart() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i w opts="" seen_dd=0 operand=0
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "doctor lock maps run status unlock version help --help --version" -- "$cur"))
    return 0
  fi
  cmd=${COMP_WORDS[1]}
  # Words between the subcommand and the cursor: has an operand (PID, CMD) or -- been given?
  for ((i = 2; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [ "$seen_dd" -eq 1 ] || [ "${w#-}" = "$w" ]; then operand=1; fi
    [ "$w" = "--" ] && seen_dd=1
  done
  case $cmd in
    doctor) opts="--json --help" ;;
    maps) opts="--flagged --json --help" ;;
    status) opts="--json --help" ;;
    lock) opts="--onfault --current-only --raise-limit --best-effort --help" ;;
    unlock) opts="--help" ;;
    run)
      if [ "$operand" -eq 1 ]; then   # the arguments of CMD: files
        COMPREPLY=($(compgen -f -- "$cur")); return 0
      fi
      if [ "$seen_dd" -eq 1 ] || { [ -n "$cur" ] && [ "${cur#-}" = "$cur" ]; }; then
        COMPREPLY=($(compgen -c -- "$cur")); return 0
      fi
      opts="--onfault --best-effort --ptrace --follow --help --" ;;
    help) [ "$COMP_CWORD" -eq 2 ] && COMPREPLY=($(compgen -W "doctor lock maps run status unlock version" -- "$cur"))
          return 0 ;;
    *) return 0 ;;
  esac
  if [ "${cur#-}" != "$cur" ] || [ -z "$cur" -a "$cmd" != maps -a "$cmd" != status -a "$cmd" != lock -a "$cmd" != unlock ]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$operand" -eq 0 ]; then   # maps / status PID: the running processes
    COMPREPLY=($(compgen -W "$opts $(cd /proc 2>/dev/null && ls -d [0-9]* 2>/dev/null)" -- "$cur"))
  fi
  return 0
}
complete -F _rampart rampart
