#!/bin/sh
# SPDX-License-Identifier: MIT
# licence.sh — every tracked source file names its licence (SPDX MIT) in its first two lines
# (the second only after a #! line), and the LICENSE file is the MIT text.
set -u
src=${1:?usage: licence.sh SOURCE_DIR}
cd "$src" || exit 1
if ! command -v git >/dev/null 2>&1 || ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "SKIP: not a git checkout (or git missing: apt-get install git); cannot list the tracked files"
  exit 77
fi
grep -q '^MIT License$' LICENSE || { echo "FAIL: LICENSE is missing or is not the MIT licence"; exit 1; }
bad=0
for f in $(git ls-files | grep -v -E '\.(md|png|json|abi)$|^\.gitignore$|^LICENSE$|/corpus/|^debian/'); do
  [ -f "$f" ] || continue
  if ! head -n 2 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
    echo "FAIL: $f has no SPDX-License-Identifier: MIT line at its top"; bad=1
  fi
done
[ $bad -eq 0 ] && echo "every tracked source file carries SPDX-License-Identifier: MIT"
exit $bad
