#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_json.sh — `rampart status --json`, `rampart maps --json` and `rampart doctor --json` parse
# as JSON (python3's json module) and carry the members docs/cli-json.md documents, with values
# that agree with the exit status and with each other.
# Usage: cli_json.sh PATH/TO/rampart
set -u
bin=$1
command -v python3 >/dev/null || { echo "SKIPPED: python3 is not installed (Debian package python3)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
no() { echo "FAILED: $*"; fail=1; }

"$bin" status --json >"$tmp/status"; echo $? >"$tmp/status.rc"
"$bin" status --json 1073741823 >"$tmp/missing" 2>/dev/null; echo $? >"$tmp/missing.rc"
"$bin" maps --json >"$tmp/maps"; echo $? >"$tmp/maps.rc"
"$bin" maps --json 1073741823 >"$tmp/maps_missing" 2>/dev/null; echo $? >"$tmp/maps_missing.rc"
"$bin" maps --flagged --json >"$tmp/flagged"; echo $? >"$tmp/flagged.rc"
"$bin" doctor --json >"$tmp/doctor"; echo $? >"$tmp/doctor.rc"
# A process name the kernel cut to 15 bytes in the middle of a character (14 s and an e-acute):
# the JSON must still be UTF-8 (the byte was written raw, and parsers refused the file).
cut="$tmp/$(printf 'ssssssssssssss\303\251')"
cp "$(command -v sleep)" "$cut" && "$cut" 5 &
cut_pid=$!
i=0
while [ $i -lt 50 ] && ! grep -q '^ssssssssssssss' "/proc/$cut_pid/comm" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
"$bin" status --json $cut_pid >"$tmp/cutname"; echo $? >"$tmp/cutname.rc"
kill $cut_pid 2>/dev/null
python3 - "$tmp" <<'PY' || fail=1
import json, sys, os
d = sys.argv[1]
cut = json.loads(open(os.path.join(d, "cutname"), "rb").read().decode("utf-8"))
if not cut["name"].startswith("s" * 14) or "\ufffd" not in cut["name"]:
    print("FAILED: status --json of a name cut mid-character: %r" % cut["name"])
    sys.exit(1)
def load(name):
    with open(os.path.join(d, name)) as f:
        text = f.read()
    rc = int(open(os.path.join(d, name + ".rc")).read())
    return json.loads(text), rc
bad = []
def check(cond, what):
    if not cond:
        bad.append(what)

s, rc = load("status")
codes = {"locked": 0, "partly locked": 1, "not locked": 3, "cannot tell": 4}
for k in ("pid", "name", "verdict", "exit_code", "reason", "bytes", "memlock_limit", "cap_ipc_lock",
          "can_lock_more", "lockable_more", "lockall_preflight"):
    check(k in s, "status: no member " + k)
check(s["verdict"] in codes and codes[s["verdict"]] == s["exit_code"] == rc, "status: verdict %r, exit_code %r, exit %d" % (s["verdict"], s["exit_code"], rc))
b = s["bytes"]
for k in ("locked_areas_mapped", "locked_areas_resident", "unlocked_areas_mapped", "unlocked_areas_resident",
          "unlockable_mapped", "vmlck", "locked_proportional", "mapped", "resident"):
    check(k in b and (b[k] is None or (isinstance(b[k], int) and b[k] >= 0)), "status: bytes." + k)
check(b["unlocked_areas_mapped"] > 0, "status of itself: nothing unlocked?")
check(isinstance(s["lockall_preflight"]["would_succeed"], bool), "status: preflight")

m, rc = load("missing")
check(rc == 4 and m["verdict"] == "cannot tell" and m["exit_code"] == 4 and "No such process" in m["reason"]
      and m["pid"] == 1073741823,
      "status of a missing process: %r (exit %d)" % (m, rc))

mm, rc = load("maps_missing")
check(rc == 1 and mm["error"] and mm["areas"] == [] and mm["totals"] is None,
      "maps of a missing process: totals must be null (unknown), not zeros: %r (exit %d)" % (mm, rc))
mp, rc = load("maps")
check(rc == 0 and mp["error"] is None, "maps: exit %d, error %r" % (rc, mp.get("error")))
check(len(mp["areas"]) == mp["totals"]["regions"] == mp["totals"]["shown"] > 0, "maps: area count")
check(sum(a["size"] for a in mp["areas"]) == mp["totals"]["mapped"], "maps: sizes do not add up to mapped")
for a in mp["areas"]:
    check(int(a["end"], 16) - int(a["start"], 16) == a["size"], "maps: size of " + a["start"])
    for k in ("resident", "swapped", "locked_proportional", "perm", "locked", "dontdump", "wipeonfork",
              "noaccess", "guard_pages", "hugetlb", "anon_huge", "unlockable", "path"):
        check(k in a, "maps: area without " + k)
check(any(a["path"] == "[stack]" for a in mp["areas"]), "maps: no [stack]")
fl, rc = load("flagged")
check(rc == 0 and fl["flagged_only"] and all(a["locked"] or a["dontdump"] or a["wipeonfork"] for a in fl["areas"]),
      "maps --flagged shows unflagged areas")

dr, rc = load("doctor")
check(dr["ok"] == (rc == 0) == (dr["failures"] == 0), "doctor: ok %r, exit %d" % (dr["ok"], rc))
check(dr["warnings"] == sum(r["result"] == "warn" for r in dr["rows"]), "doctor: warnings do not add up")
check(dr["failures"] == sum(r["result"] == "fail" for r in dr["rows"]), "doctor: failures do not add up")
check({r["section"] for r in dr["rows"]} == {"system", "self-check"}, "doctor: sections")
check(any(r["check"] == "os: wiped on free" for r in dr["rows"]), "doctor: no wipe check")
check(all(r["fix"] is None for r in dr["rows"] if r["result"] == "ok"), "doctor: a fix on an ok row")
for line in bad:
    print("FAILED:", line)
print("status verdict %r, %d areas, %d doctor rows" % (s["verdict"], len(mp["areas"]), len(dr["rows"])))
sys.exit(1 if bad else 0)
PY
exit $fail
