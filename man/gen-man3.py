#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# gen-man3.py — write the section 3 man pages man/rampart_LAYER.3 from the public headers, so
# the pages say what the headers say: the header's opening comment is the DESCRIPTION, every
# RP_API declaration goes in the SYNOPSIS and under FUNCTIONS with the comment written above it,
# and the types are shown as declared. Run it after changing a header (make man3) and commit.
# Usage: gen-man3.py SOURCE_DIR
import re
import sys

PAGES = [  # page, headers, one-line summary
    ("rampart_pages", ["pages.h"], "locked pages: the page allocators under every rampart layer"),
    ("rampart_pool", ["pool.h"], "a secure pool for secrets: small allocations in locked arenas"),
    ("rampart_heap", ["heap.h"], "a general-purpose locked heap: malloc, free, partial free, donation"),
    ("rampart_map", ["map.h"], "mapped regions with protection, range locks, commit and split"),
    ("rampart_lockall", ["lockall.h"], "lock all of a process's memory in RAM, now and in future"),
    ("rampart_system", ["system.h", "common.h"],
     "facts about the machine and its memory areas; versions, errors and wiping"),
]
VERSION_RE = re.compile(r"project\(rampart VERSION ([0-9.]+)")


def esc(text):
    """Text safe inside a man page line: backslashes, and leading dots or quotes."""
    text = text.replace("\\", "\\e")
    return "\\&" + text if text.startswith((".", "'")) else text


def comment_text(block):
    """The lines of a /* ... */ comment without the comment marks."""
    lines = []
    for line in block.splitlines():
        line = re.sub(r"^\s*/\*+ ?", "", line)
        line = re.sub(r"\s*\*+/\s*$", "", line)
        line = re.sub(r"^\s*\* ?", "", line)
        lines.append(line.rstrip())
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def parse(path):
    src = open(path, encoding="utf-8").read()
    comments = list(re.finditer(r"/\*.*?\*/", src, re.S))
    intro = comment_text(comments[1].group(0)) if len(comments) > 1 else []
    # The first line names the header: "rampart/pool.h — what it is"; the rest describes it.
    funcs, types = [], []
    for m in re.finditer(r"^RP_API\b[^;]*;", src, re.M):
        decl = " ".join(m.group(0).replace("RP_API ", "").replace("RP_NODISCARD ", "").split())
        name = re.search(r"(rp_\w+)\s*\(", decl).group(1)
        before = src[:m.start()].rstrip()
        doc = []
        if before.endswith("*/"):
            start = before.rfind("/*")
            doc = comment_text(before[start:])
        funcs.append((name, decl, doc))
    for m in re.finditer(r"^typedef (?:struct|enum|union)\b.*?^\}[^;]*;|^typedef [^{;]*;", src, re.M | re.S):
        types.append(m.group(0))
    return intro, funcs, types


def nofill(lines):
    return [".nf"] + [esc(line) if line else "" for line in lines] + [".fi"]


def page(src, name, headers, summary, version):
    out = [".\\\" SPDX-License-Identifier: MIT",
           ".\\\" %s.3 — generated from include/rampart/%s by man/gen-man3.py; edit the header, "
           "then run make man3." % (name, " and ".join(headers)),
           '.TH %s 3 "" "rampart %s" "rampart manual"' % (name.upper(), version),
           ".SH NAME", "%s \\- %s" % (name, esc(summary)),
           ".SH SYNOPSIS", ".nf"]
    parsed = [(h, *parse("%s/include/rampart/%s" % (src, h))) for h in headers]
    for h, _, funcs, _ in parsed:
        out.append(".B #include <rampart/%s>" % h)
        out.append("")
        for _, decl, _ in funcs:
            out.append(esc(decl))
        out.append("")
    out += [".fi", "Link with \\fI\\-lrampart\\fP (pkg\\-config \\fBrampart\\fP, or CMake "
            "\\fBfind_package(rampart)\\fP and \\fBrampart::rampart\\fP)."]
    out.append(".SH DESCRIPTION")
    for h, intro, _, _ in parsed:
        out += nofill(intro)
        out.append(".PP")
    out.append(".SH FUNCTIONS")
    for h, _, funcs, _ in parsed:
        for fname, _, doc in funcs:
            out += [".TP", ".B %s" % fname]
            out += nofill(doc) if doc else ["(see the header)"]
    out.append(".SH TYPES")
    for h, _, _, types in parsed:
        for t in types:
            out += nofill(t.splitlines())
            out.append(".PP")
    out += [".SH RETURN VALUE",
            "Functions that return \\fBrp_status_t\\fP return \\fBRP_OK\\fP (0) on success; "
            "those that return a pointer return NULL on failure. Either way, "
            "\\fBrp_last_error\\fP() then gives the status, a message and errno for the calling thread.",
            ".SH SEE ALSO"]
    others = [p for p, _, _ in PAGES if p != name]
    out.append(", ".join("\\fB%s\\fP(3)" % p for p in others) + ", \\fBrampart\\fP(1)")
    return "\n".join(out) + "\n"


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "."
    version = VERSION_RE.search(open(src + "/CMakeLists.txt").read()).group(1)
    for name, headers, summary in PAGES:
        with open("%s/man/%s.3" % (src, name), "w", encoding="utf-8") as f:
            f.write(page(src, name, headers, summary, version))


main()
