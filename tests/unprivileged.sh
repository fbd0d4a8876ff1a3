#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/unprivileged.sh — run `make test` as an ordinary user (nobody, uid 65534) under the
# default 8 MiB memlock limit, from a fresh git clone of this checkout that nobody may write
# outside its own copy. Root hides lock-budget bugs (CAP_IPC_LOCK ignores RLIMIT_MEMLOCK), so CI
# runs the suite both ways. Only committed work is tested (git clone). Needs root and setpriv and
# prlimit (util-linux); without them it says why and exits 77 (skipped), never 0.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
uid=65534
limit=8388608

if [ "$(id -u)" != 0 ]; then
    echo "unprivileged.sh: must run as root (it drops to uid $uid with setpriv); you are uid $(id -u)" >&2
    exit 77
fi
for tool in setpriv prlimit git; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "unprivileged.sh: $tool not found (setpriv and prlimit: package util-linux; git: package git)" >&2
        exit 77
    fi
done

# The parent is owned by root and closed to others except for traversal, so nobody can only
# write inside its own clone.
parent=$(mktemp -d "${TMPDIR:-/tmp}/rampart-unpriv.XXXXXX")
trap 'rm -rf "$parent"' EXIT
chmod 711 "$parent"
git clone -q "$src" "$parent/rampart"
chown -R "$uid:$uid" "$parent/rampart"

echo "unprivileged.sh: make test as uid $uid, memlock limit $limit bytes, in $parent/rampart"
cd "$parent/rampart"
# RAMPART_MUST_RUN=1 (CI): afterwards, tests/must_run.py fails the run if a test listed in
# tests/must-run.txt was skipped.
junit="$parent/rampart/junit-unprivileged.xml"
setpriv --reuid=$uid --regid=$uid --clear-groups --inh-caps=-all \
    prlimit --memlock=$limit:$limit env HOME="$parent/rampart" \
    make test ${JOBS:+JOBS=$JOBS} CTEST_FLAGS="--output-junit $junit"
if [ "${RAMPART_MUST_RUN:-0}" = 1 ]; then
    # root's PATH may lead to a python3 that nobody cannot run (pyenv under /root)
    setpriv --reuid=$uid --regid=$uid --clear-groups --inh-caps=-all \
        env PATH=/usr/local/bin:/usr/bin:/bin python3 tests/must_run.py "$junit"
fi
