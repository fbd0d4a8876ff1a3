#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/must_run.py — after ctest, fail when a test named in tests/must-run.txt was skipped or
# missing. CTest counts a skip (exit 77) as a pass; CI must not, for the tests listed.
#
#   python3 tests/must_run.py JUNIT.xml [LIST]
#
# JUNIT.xml comes from `ctest --output-junit`. LIST (default tests/must-run.txt) holds one CTest
# name a line; "root NAME" lines apply only when this script runs as root; '#' starts a comment.
import os
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) < 2:
        print("usage: must_run.py JUNIT.xml [LIST]", file=sys.stderr)
        return 2
    junit = sys.argv[1]
    listfile = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "must-run.txt")
    root = os.geteuid() == 0
    try:
        cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    except (OSError, ET.ParseError) as e:
        print(f"must_run.py: cannot read {junit}: {e}", file=sys.stderr)
        return 2
    bad = []
    with open(listfile) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            if words[0] == "root" and len(words) == 2:
                if not root:
                    continue
                name = words[1]
            elif len(words) == 1:
                name = words[0]
            else:
                print(f"must_run.py: {listfile}: bad line: {line.strip()}", file=sys.stderr)
                return 2
            case = cases.get(name)
            if case is None:
                bad.append(f"{name}: not in the ctest results (renamed, or not built?)")
            elif case.get("status") != "run" and case.get("status") != "fail":
                skipped = case.find("skipped")
                why = skipped.get("message", "") if skipped is not None else ""
                out = case.findtext("system-out") or ""
                reason = [l for l in out.splitlines() if "SKIP" in l.upper()]
                bad.append(f"{name}: {case.get('status')} {why} {reason[-1] if reason else ''}".rstrip())
    who = "root" if root else f"uid {os.geteuid()}"
    if bad:
        print(f"must_run.py: tests that must run did not ({who}):", file=sys.stderr)
        for b in bad:
            print("  " + b, file=sys.stderr)
        return 1
    print(f"must_run.py: every listed test ran ({who})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
