#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/heap/run.py — runs the heap workloads under several allocators side by side.

Every workload runs under every allocator in ONE run, interleaved: each repetition runs each
workload under each allocator in turn (the order rotates per repetition), so machine noise is
spread over all of them instead of hitting one. The medians of wall time and peak RSS go into a
markdown table (docs/bench/heap.md when run by `make bench`) and a gnuplot chart (heap.png).

    run.py [options] [ALLOCATOR ...]

ALLOCATOR is NAME=PATH (PATH is a malloc library put in LD_PRELOAD) or a bare NAME: "glibc" (the
system allocator, no preload) or one of the known peers (mimalloc, jemalloc, tcmalloc), which
are looked up with ldconfig and in the usual Debian paths. Default: glibc mimalloc jemalloc
tcmalloc. A peer that is not installed is reported with its Debian package, not silently dropped.

Without --bindir the workloads are compiled with the C compiler ($CC or cc) into a cache
directory, so an allocator developer can run, from any checkout:

    python3 bench/heap/run.py --quick glibc mimalloc mine=/path/to/libmymalloc.so
"""

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# (name, program, title, what it models, threads): threads None = the run's --threads, a number =
# fixed (1 for the single-thread variant of a threaded program). The order is the order of the
# tables and the chart. "N" in a description is the run's thread count.
WORKLOADS = [
    ("tight", "tight", "tight loop",
     "one thread, malloc then free at once, sizes cycling over 8 classes of 16-256 bytes: the "
     "fast path alone, 50 M pairs", 1),
    ("simple", "simple", "glibc-simple",
     "N threads, each allocates batches of 25-1600 blocks of one size (16-256 B), writes them and "
     "frees them in order (glibc bench-malloc-simple), 21 M pairs in all", None),
    ("small", "small", "small mixed",
     "one thread, bursts of 1-64 short-lived objects (70% 16-64 B, 25% up to 256 B, 5% up to "
     "1 KiB) built and freed together, LIFO or random order, over a slowly replaced window of "
     "4096 longer-lived objects (espresso style), 1 M bursts", 1),
    ("cfrac", "cfrac", "cfrac bignums",
     "one thread, multi-precision add/multiply into fresh numbers (8-176 B) with temporaries "
     "freed at once, 64 live numbers (cfrac style), 4 M steps", 1),
    ("alloctest1", "alloctest", "alloc-test 1 thread",
     "one thread replaces random slots of 8192 with sizes 60% 8-128 B, 30% up to 1 KiB, 9% up "
     "to 8 KiB, 1% up to 64 KiB (alloc-test style), 20 M steps", 1),
    ("alloctestN", "alloctest", "alloc-test N threads",
     "the same 20 M steps split over N threads, each with its own 8192 slots", None),
    ("larson", "larson", "larson server",
     "N threads each replace random objects (8-1000 B) in a 4000-slot array; every round the "
     "arrays pass to newly created threads, so every object is freed by a thread other than its "
     "allocator, which has exited (Larson & Krishnan), 20 rounds x 0.5 M replacements per thread", None),
    ("larsonsized", "larsonsized", "larson sized frees",
     "larson with every free sized, through the allocator's own sized free (C23 free_sized for "
     "rampart, mi_free_size, sdallocx, tc_free_sized; glibc 2.36 has none: plain free)", None),
    ("mstress", "mstress", "mstress phases",
     "N threads run rounds of 2000 allocations (90% 8-256 B, 9% up to 4 KiB, 1% up to 256 KiB), "
     "free half and swap the rest into a shared 4096-slot transfer array, freeing what they take "
     "out (mstress style), 3000 rounds in all", None),
    ("xmalloc", "xmalloc", "xmalloc prod/cons",
     "N/2 producer threads only allocate (16-256 B), as many consumers only free, batches of 256 "
     "through bounded queues: every free is remote (xmalloc-test style), 5 M objects per pair", None),
    ("scratch", "scratch", "cache-scratch",
     "the main thread allocates one 8-byte object per thread; each of N threads frees it, then "
     "repeatedly allocates 8 bytes, writes them 500 times and frees them: passive false sharing "
     "(Hoard cache-scratch), 180 k objects per thread", None),
    ("pareto", "pareto", "Pareto sizes",
     "one thread replaces random objects in a working set of 20000, sizes Pareto-distributed "
     "(min 8 B, shape 1.1, capped at 1 KiB), every 8th step a realloc that must keep the "
     "contents, 25 M steps", 1),
    ("bigreuse", "bigreuse", "big block reuse",
     "one thread allocates a 1-8 MiB block, writes one cache line per 4 KiB, reads it back, "
     "frees it, 12 k times: returning large blocks to the OS at once costs a page fault per "
     "page on every reuse", 1),
    ("spawn", "spawn", "process start",
     "starts /bin/true and `sh -c echo` 300 times each and a fork-heavy shell loop 30 times, "
     "which inherit the preload: the cost of loading the allocator and of the first mallocs in "
     "short-lived processes", 1),
]
WL = {w[0]: w for w in WORKLOADS}

# Workloads of one thread in one process: run pinned to one CPU, the same for every allocator.
# On a shared virtual machine the CPUs need not be equally fast: on this project's 2-CPU machine
# the same memory-bound run (pareto, alloctest1) took 1.5-1.65x longer on one CPU than on the
# other, while a compute loop took the same time on both, so an unpinned run's time depended on
# where the scheduler put it, and the ratios paired within a repetition spread from 0.87 to 2.02.
# Threaded workloads and spawn (many processes) are left to the scheduler: pinning them would
# measure a different program.
PINNED = {w[0] for w in WORKLOADS if w[4] == 1 and w[1] != "spawn"}

# Known peers: sonames to look for and the Debian package that provides them.
PEERS = {
    "mimalloc": (["libmimalloc.so.2", "libmimalloc.so"], "libmimalloc-dev"),
    "jemalloc": (["libjemalloc.so.2", "libjemalloc.so"], "libjemalloc-dev"),
    "tcmalloc": (["libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so"], "libgoogle-perftools-dev"),
}
KNOWN = ["glibc", "mimalloc", "jemalloc", "tcmalloc", "rampart"]
DEFAULT_ALLOCATORS = ["glibc", "mimalloc", "jemalloc", "tcmalloc"]

FULL_SCALE = 1.0
QUICK_SCALE = 0.25
SMOKE_SCALE = 0.02
RUN_TIMEOUT = 180.0  # seconds for one workload run; a hang is a failure, not a stall


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- finding allocators ---------------------------------------------------------------------

def ldconfig_paths():
    """soname -> [paths] from the dynamic linker's cache, this machine's architecture first."""
    exe = shutil.which("ldconfig") or next(
        (p for p in ("/sbin/ldconfig", "/usr/sbin/ldconfig") if os.path.exists(p)), None)
    found = {}
    if not exe:
        return found
    try:
        out = subprocess.run([exe, "-p"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return found
    want = "x86-64" if platform.machine() == "x86_64" else None
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)", line)
        if not m:
            continue
        soname, flags, path = m.groups()
        if want and platform.machine() == "x86_64" and want not in flags:
            continue
        found.setdefault(soname, []).append(path)
    return found


def multiarch_dirs():
    triplet = platform.machine() + "-linux-gnu"
    return [f"/usr/lib/{triplet}", f"/lib/{triplet}", "/usr/lib64", "/usr/lib", "/usr/local/lib"]


def find_peer(name, cache):
    sonames, _ = PEERS[name]
    for so in sonames:
        for path in cache.get(so, []):
            if os.path.exists(path):
                return path
    for d in multiarch_dirs():
        for so in sonames:
            path = os.path.join(d, so)
            if os.path.exists(path):
                return path
    return None


def parse_allocators(specs):
    """-> (allocators [(name, preload or None)], missing [(name, reason)], errors [str])."""
    cache = None
    allocators, missing, errors = [], [], []
    seen = set()
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not name or not re.match(r"^[A-Za-z0-9_.+-]+$", name):
            errors.append(f"bad allocator '{spec}': want NAME or NAME=PATH")
            continue
        if name in seen:
            errors.append(f"allocator '{name}' given twice")
            continue
        seen.add(name)
        if sep:
            if not path or path in ("-", "none"):
                allocators.append((name, None))
            elif os.path.isfile(path):
                allocators.append((name, os.path.abspath(path)))
            else:
                missing.append((name, f"{path} does not exist"))
                errors.append(f"{name}: {path} does not exist")
        elif name == "glibc":
            allocators.append((name, None))
        elif name in PEERS:
            if cache is None:
                cache = ldconfig_paths()
            found = find_peer(name, cache)
            if found:
                allocators.append((name, found))
            else:
                missing.append((name, f"not installed (Debian: apt-get install {PEERS[name][1]})"))
        else:
            errors.append(f"unknown allocator '{name}': give its library as {name}=PATH")
    for name in KNOWN:
        if name not in seen:
            if name == "rampart":
                why = ("not given to this run (make bench passes rampart=$<TARGET_FILE:rampart_malloc> "
                       "when the heap layer is built; by hand: rampart=build/.../librampart-malloc.so)")
            else:
                why = "not given to this run"
            missing.append((name, why))
    return allocators, missing, errors


# ---- building and running ---------------------------------------------------------------------

PROGRAMS = sorted({w[1] for w in WORKLOADS}) + ["launch", "probe"]


def build_programs():
    """Compiles the workloads next to this file into a cache dir keyed by their sources."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        sys.exit("run.py: no C compiler (set CC or install gcc) and no --bindir given")
    digest = hashlib.sha256()
    for name in sorted(os.listdir(HERE)):
        if name.endswith((".c", ".h")):
            with open(os.path.join(HERE, name), "rb") as f:
                digest.update(name.encode() + b"\0" + f.read())
    outdir = os.path.join(tempfile.gettempdir(),
                          f"rampart-heapbench-{os.getuid()}-{digest.hexdigest()[:12]}")
    os.makedirs(outdir, exist_ok=True)
    for prog in PROGRAMS:
        out = os.path.join(outdir, prog)
        if not os.path.exists(os.path.join(HERE, prog + ".c")):
            continue
        if os.path.exists(out):
            continue
        cmd = [cc, "-std=c11", "-O2", "-pthread", "-o", out + ".tmp",
               os.path.join(HERE, prog + ".c"), "-lm", "-ldl"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"run.py: building {prog} failed:\n{' '.join(cmd)}\n{r.stderr}")
        os.replace(out + ".tmp", out)
    log(f"run.py: workloads built with {cc} in {outdir}")
    return outdir


class Result:
    def __init__(self, wall=None, rss_kib=None, checksum=None, error=None):
        self.wall, self.rss_kib, self.checksum, self.error = wall, rss_kib, checksum, error
        self.rep = None


def clean_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)  # the launcher itself must not run under a preload
    return env


def launch(bindir, preload, argv, cpu=None):
    """Runs argv under preload (None = glibc) through the launcher, on CPU cpu only when it is
    not None -> (Result, stdout)."""
    pin = [] if cpu is None else ["--cpu", str(cpu)]
    cmd = [os.path.join(bindir, "launch")] + pin + [preload or "-"] + argv
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), start_new_session=True)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Result(error=f"timed out after {RUN_TIMEOUT:.0f} s"), ""
    m = re.search(r"^launch wall_ns=(\d+) maxrss_kib=(\d+) status=(\w+):(\d+)$", out, re.M)
    if proc.returncode != 0 or not m:
        return Result(error=f"launcher failed: {err.strip() or out.strip()}"), out
    wall, rss, kind, code = int(m.group(1)) / 1e9, int(m.group(2)), m.group(3), int(m.group(4))
    if "cannot be preloaded" in err:
        return Result(error="the dynamic linker refused the preload: " + err.strip()), out
    if kind == "signal":
        return Result(error=f"killed by signal {code} ({signal.Signals(code).name})"
                      + (f": {err.strip()[-300:]}" if err.strip() else "")), out
    if code != 0:
        return Result(error=f"exit status {code}" + (f": {err.strip()[-300:]}" if err.strip() else "")), out
    cs = re.search(r"^checksum ([0-9a-f]{16})$", out, re.M)
    return Result(wall, rss, cs.group(1) if cs else None), out


def run_workload(bindir, preload, wl, scale, threads, pin_cpu=None):
    """One workload run: a Result whose checksum is present, or whose error says why not. A
    workload in PINNED runs on pin_cpu when that is not None."""
    _, prog, _, _, fixed = WL[wl]
    cpu = pin_cpu if wl in PINNED else None
    res, _ = launch(bindir, preload, [os.path.join(bindir, prog), f"{scale:g}", str(fixed or threads)], cpu)
    if not res.error and res.checksum is None:
        res.error = "no checksum line in the output"
    return res


def verify_preload(bindir, name, preload):
    """None if malloc/free/realloc really come from the preload (or libc for glibc), else why not."""
    res, out = launch(bindir, preload, [os.path.join(bindir, "probe")])
    if res.error:
        return res.error
    providers = dict(line.split(" ", 1) for line in out.splitlines()
                     if line and not line.startswith("launch "))
    for fn in ("malloc", "free", "realloc"):
        got = providers.get(fn, "?")
        if preload is None:
            ok = "libc.so" in os.path.basename(got)
        else:
            ok = got != "?" and os.path.realpath(got) == os.path.realpath(preload)
        if not ok:
            return f"{fn} is served by {got}, not by {preload or 'libc'}"
    return None


def check_checksums(results, failed, workloads):
    """Every run of a workload must print the same checksum: glibc's if it ran, else the most
    common one. Cells that differ move from results to failed."""
    for wl in workloads:
        cells = {n: {r.checksum for r in runs} for (w, n), runs in results.items() if w == wl}
        if not cells:
            continue
        if "glibc" in cells and len(cells["glibc"]) == 1:
            ref = next(iter(cells["glibc"]))
        else:
            votes = [cs for sums in cells.values() for cs in sums]
            ref = max(set(votes), key=votes.count)
        for name, sums in cells.items():
            if sums != {ref}:
                got = ", ".join(sorted(sums))
                failed[(wl, name)] = f"checksum {got} differs from {ref} (data lost or corrupted)"
                results.pop((wl, name))
                log(f"run.py: FAIL {wl} under {name}: checksum {got} != {ref}")


# ---- statistics and output --------------------------------------------------------------------

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt_ratio(x):
    return "—" if x is None else (f"{x:.2f}" if x < 10 else f"{x:.1f}")


def fmt_time(s):
    return f"{s:.3f}" if s < 10 else f"{s:.1f}"


def fmt_mib(kib):
    return f"{kib / 1024:.1f}"


def machine_facts():
    facts = []
    cpus = os.cpu_count()
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            model = m.group(1).strip() if m else None
    except OSError:
        pass
    avail = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    facts.append(f"CPU: {cpus} logical cores ({avail} usable by this run)" + (f", {model}" if model else ""))
    try:
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
            if m:
                facts.append(f"memory: {int(m.group(1)) / 1048576:.1f} GiB")
    except OSError:
        pass
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', f.read(), re.M)
            osname = m.group(1) if m else osname
    except OSError:
        pass
    facts.append(f"system: {osname}, kernel {platform.release()} ({platform.machine()})")
    try:
        facts.append(f"glibc: {os.confstr('CS_GNU_LIBC_VERSION')}")
    except (ValueError, OSError, AttributeError):
        pass
    return facts


def package_version(path):
    """'pkg version' of the Debian package that owns path, or None."""
    if not path or not shutil.which("dpkg-query"):
        return None
    for p in (path, os.path.realpath(path)):
        r = subprocess.run(["dpkg-query", "-S", p], capture_output=True, text=True)
        if r.returncode == 0 and ":" in r.stdout:
            pkg = r.stdout.split(": ")[0].split(",")[0].strip()
            v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                               capture_output=True, text=True)
            if v.returncode == 0:
                return f"{pkg} {v.stdout.strip()}"
    return None


def summarize(results, allocators, workloads):
    """-> {(wl, alloc): (median wall, median rss, spread)} for the cells that have results."""
    med = {}
    for wl in workloads:
        for name, _ in allocators:
            runs = results.get((wl, name), [])
            if not runs:
                continue
            walls = [r.wall for r in runs]
            rss = [r.rss_kib for r in runs]
            m = statistics.median(walls)
            spread = (max(walls) - min(walls)) / m if m > 0 else 0.0
            med[(wl, name)] = (m, statistics.median(rss), spread)
    return med


def paired(results, wl, a, b, metric):
    """Ratios a/b of one metric ("wall" or "rss_kib"), paired within each repetition (both ran
    back to back in it) -> (median, min, max) or None."""
    ra = {r.rep: getattr(r, metric) for r in results.get((wl, a), [])}
    rb = {r.rep: getattr(r, metric) for r in results.get((wl, b), [])}
    xs = [ra[k] / rb[k] for k in ra if k in rb and rb[k] > 0]
    return (statistics.median(xs), min(xs), max(xs)) if xs else None


def fmt_paired(p):
    return "—" if p is None else f"{fmt_ratio(p[0])} ({fmt_ratio(p[1])}-{fmt_ratio(p[2])})"


PEER_NAMES = ("glibc", "mimalloc", "jemalloc", "tcmalloc")


def add_two_thread_targets(add, worst_fast, worst_rss, mi, gt, gr):
    """Issue 12's targets at 2 threads: time against the fastest peer and mimalloc, peak RSS."""
    over = [f"`{wl}` {r:.2f}x {p}" for r, wl, p in sorted(worst_fast, reverse=True) if r > 1.05]
    if worst_fast:
        add(f"- **every workload at most 1.05x the fastest peer: {'no' if over else 'yes'}**"
            + (f" (above: {', '.join(over)})" if over else ""))
    else:
        add("- every workload at most 1.05x the fastest peer: not evaluated (no peer measured)")
    if mi and gt.get("rampart") and gt.get("mimalloc"):
        t = gt["rampart"] / gt["mimalloc"]
        r = gr["rampart"] / gr["mimalloc"]
        add(f"- **geomean time at most 0.9x mimalloc's: {'yes' if t <= 0.9 else 'no'}** (ratio {t:.3f})")
        add(f"- **geomean peak RSS at most mimalloc's: {'yes' if r <= 1.0 else 'no'}** (ratio {r:.3f})")
    rover = [f"`{wl}` {r:.2f}x" for r, wl in sorted(worst_rss, reverse=True) if r > 1.25]
    if worst_rss:
        add(f"- **no workload above 1.25x glibc's peak RSS: {'no' if rover else 'yes'}**"
            + (f" (above: {', '.join(rover)})" if rover else ""))
    else:
        add("- no workload above 1.25x glibc's peak RSS: not evaluated (glibc not measured)")


def add_many_thread_target(add, ctx, results, wls):
    """Issue 12's target at 16 threads: every threaded workload at least mimalloc's throughput.
    It is defined on a machine with a core per thread; with fewer usable CPUs than threads the
    threads take turns, and the run shows contention and preempted lock holders, not scaling:
    the page then gives the ratios and says why it passes no judgement."""
    nt = ctx["threads"]
    usable = None
    for fact in ctx["facts"]:
        m = re.search(r"\((\d+) usable by this run\)", fact)
        if m:
            usable = int(m.group(1))
    threaded = [name for name, _, _, _, fixed in WORKLOADS if fixed is None and name in wls]
    ratios = [(paired(results, wl, "rampart", "mimalloc", "wall"), wl) for wl in threaded]
    shown = ", ".join(f"`{wl}` {fmt_paired(p)}" for p, wl in ratios)
    if usable is not None and usable < nt:
        add(f"- **at {nt} threads, every threaded workload at least mimalloc's throughput: not "
            f"evaluated here**: this run put {nt} threads on {usable} usable CPUs, so they took "
            "turns; the figures show how each allocator copes with contention and preempted lock "
            f"holders, not how it scales on {nt} cores. rampart's time over mimalloc's, paired: {shown}")
        return
    behind = [f"`{wl}` {p[0]:.2f}x" for p, wl in sorted((r for r in ratios if r[0]), reverse=True) if p[0] > 1.0]
    add(f"- **at {nt} threads, every threaded workload at least mimalloc's throughput: "
        f"{'no' if behind else 'yes'}** (rampart's time over mimalloc's, paired: {shown})")


def write_markdown(path, ctx):
    med, allocators, failed, results = ctx["med"], ctx["allocators"], ctx["failed"], ctx["results"]
    names = [n for n, _ in allocators]
    wls = ctx["workloads"]
    nt = ctx["threads"]
    lines = []
    add = lines.append
    add(f"# Heap benchmark at {nt} thread{'s' if nt > 1 else ''}: rampart against glibc, mimalloc, jemalloc and tcmalloc")
    add("")
    add(f"Generated by `bench/heap/run.py --threads {nt}` on {ctx['date']} ({ctx['mode']}). "
        "Regenerate with `make bench` (2 threads) or `make bench THREADS=N` (it builds "
        "`librampart-malloc.so`, the workloads and the launcher, then runs this script and "
        f"rewrites this page and `{ctx['stem']}.png`).")
    add("")
    add("## What is measured")
    add("")
    add(f"{len(WORKLOADS)} workloads written in this repository (`bench/heap/*.c`), plain C11 + "
        "pthreads calling only the C allocator functions, so the same binary runs under every "
        "allocator through `LD_PRELOAD` (glibc: no preload). Each uses a seeded PRNG, writes the "
        "memory it gets and prints a checksum of what it read back; the checksum must be equal "
        f"under every allocator (the run fails otherwise). Threaded workloads use N = {nt} threads.")
    add("")
    add("| workload | models |")
    add("|---|---|")
    for name, prog, title, what, fixed in WORKLOADS:
        if name in wls:
            add(f"| `{name}` ({title}{', ' + prog + '.c' if prog != name else ''}) | {what} |")
    add("")
    add(f"Each workload runs {ctx['reps']} time{'s' if ctx['reps'] > 1 else ''} under each "
        f"allocator at scale {ctx['scale']:g} (the counts above are for scale 1), "
        "interleaved: every repetition runs every workload under every allocator in turn, "
        "rotating the allocator order, so background noise spreads over all of them. A small C "
        "launcher (`bench/heap/launch.c`) forks the workload, times it with CLOCK_MONOTONIC "
        "(process start to exit, allocator loading included) and reads its peak RSS "
        "(`ru_maxrss`) from `wait4`. Tables show medians; *spread* is (max - min) / median of "
        "the times; ratios marked *paired* are taken within each repetition (the two runs were "
        "back to back) and shown as median (min-max) over the repetitions. Before measuring, a "
        "probe checks that `malloc`, `free` and `realloc` really come from the preloaded "
        "library, and a short smoke pass runs every workload once.")
    add("")
    pinned = ", ".join(f"`{w}`" for w in wls if w in PINNED)
    if ctx.get("pin_cpu") is None:
        add("No workload was pinned to a CPU in this run (`--pin-cpu none`, or a page made before "
            "run.py pinned any).")
    elif pinned:
        add(f"The single-thread workloads ({pinned}) ran pinned to CPU {ctx['pin_cpu']}, under every "
            "allocator: on a shared virtual machine the CPUs need not be equally fast (on this "
            "project's 2-CPU machine one ran the same memory-bound workload 1.5-1.65x slower than "
            "the other), and an unpinned run's time then depends on where the scheduler puts it. "
            "The threaded workloads and `spawn` are not pinned.")
    add("")
    add("## Machine")
    add("")
    for fact in ctx["facts"]:
        add(f"- {fact}")
    add(f"- load average before / after the run: {ctx['load_before']} / {ctx['load_after']}")
    add(f"- total run time: {ctx['elapsed']:.0f} s")
    add("")
    add("Allocators:")
    add("")
    for name, preload in allocators:
        if preload is None:
            add(f"- **{name}**: the C library's malloc, no preload")
        else:
            ver = package_version(preload)
            add(f"- **{name}**: `{preload}`" + (f" ({ver})" if ver else ""))
    for name, why in ctx["missing"]:
        add(f"- *{name}: not measured*: {why}")
    add("")

    complete = [wl for wl in wls if all((wl, n) in med for n in names)]
    add("## Summary (geometric mean over the workloads)")
    add("")
    if len(complete) < len(wls):
        add(f"Over the {len(complete)} workloads that every allocator completed "
            f"({', '.join(complete) or 'none'}).")
        add("")
    gt = {n: geomean([med[(wl, n)][0] for wl in complete]) for n in names}
    gr = {n: geomean([med[(wl, n)][1] for wl in complete]) for n in names}
    base, mi = "glibc" in names, "mimalloc" in names
    add("| allocator | time (s) | time vs glibc | time vs mimalloc | peak RSS (MiB) | RSS vs glibc | RSS vs mimalloc |")
    add("|---|---:|---:|---:|---:|---:|---:|")
    for n in names:
        if gt[n] is None:
            add(f"| {n} | — | — | — | — | — | — |")
            continue
        add(f"| {n} | {fmt_time(gt[n])} | {fmt_ratio(gt[n] / gt['glibc'] if base else None)} | "
            f"{fmt_ratio(gt[n] / gt['mimalloc'] if mi else None)} | {fmt_mib(gr[n])} | "
            f"{fmt_ratio(gr[n] / gr['glibc'] if base else None)} | "
            f"{fmt_ratio(gr[n] / gr['mimalloc'] if mi else None)} |")
    add("")

    peers = [n for n in names if n in PEER_NAMES]
    if "rampart" in names and peers:
        add("## rampart against the peers, per workload (paired ratios)")
        add("")
        add("*fastest peer* is the peer with the lowest median time on that workload; the ratio "
            "is rampart's time over that peer's, paired per repetition.")
        add("")
        add("| workload | fastest peer | time vs fastest peer | time vs mimalloc | time vs tcmalloc | RSS vs glibc | RSS vs mimalloc |")
        add("|---|---|---:|---:|---:|---:|---:|")
        worst_fast, worst_rss = [], []
        for wl in wls:
            if (wl, "rampart") not in med:
                add(f"| `{wl}` | — | failed | | | | |")
                continue
            have = [n for n in peers if (wl, n) in med]
            fastest = min(have, key=lambda n: med[(wl, n)][0]) if have else None
            pf = paired(results, wl, "rampart", fastest, "wall") if fastest else None
            pm = paired(results, wl, "rampart", "mimalloc", "wall")
            pt = paired(results, wl, "rampart", "tcmalloc", "wall")
            rg = paired(results, wl, "rampart", "glibc", "rss_kib")
            rm = paired(results, wl, "rampart", "mimalloc", "rss_kib")
            if pf:
                worst_fast.append((pf[0], wl, fastest))
            if rg:
                worst_rss.append((rg[0], wl))
            add(f"| `{wl}` | {fastest or '—'} | {fmt_paired(pf)} | {fmt_paired(pm)} | {fmt_paired(pt)} | "
                f"{fmt_paired(rg)} | {fmt_paired(rm)} |")
        add("")
        add("### Targets (issue 12)")
        add("")
        if nt == 2:
            add_two_thread_targets(add, worst_fast, worst_rss, mi, gt, gr)
        else:
            add_many_thread_target(add, ctx, results, wls)
        add("")
    if failed:
        add("## Failures")
        add("")
        for (wl, n), why in sorted(failed.items()):
            add(f"- `{wl}` under {n}: {why}")
        add("")

    add("## Per workload")
    add("")
    if ctx["chart"]:
        add(f"![time and peak RSS relative to glibc]({ctx['stem']}.png)")
        add("")
    for wl in wls:
        add(f"### `{wl}` — {WL[wl][2]}")
        add("")
        add("| allocator | time (s) | spread | time vs glibc | time vs mimalloc | peak RSS (MiB) | RSS vs glibc | RSS vs mimalloc |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|")
        g = med.get((wl, "glibc"))
        m = med.get((wl, "mimalloc"))
        for n in names:
            c = med.get((wl, n))
            if c is None:
                add(f"| {n} | failed | | | | | | |")
                continue
            add(f"| {n} | {fmt_time(c[0])} | {c[2] * 100:.0f}% | {fmt_ratio(c[0] / g[0] if g else None)} | "
                f"{fmt_ratio(c[0] / m[0] if m else None)} | {fmt_mib(c[1])} | "
                f"{fmt_ratio(c[1] / g[1] if g else None)} | {fmt_ratio(c[1] / m[1] if m else None)} |")
        add("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return "\n".join(lines)


def gp_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_chart(gnuplot, png, med, allocators, workloads):
    """Two panels of grouped bars: time and peak RSS relative to glibc, log scale."""
    names = [n for n, _ in allocators if n != "glibc"]
    if "glibc" not in [n for n, _ in allocators] or not names:
        return "the chart needs glibc and at least one other allocator"
    tmp = tempfile.mkdtemp(prefix="rampart-heapbench-plot-")
    try:
        data = os.path.join(tmp, "ratios.dat")
        with open(data, "w") as f:
            for idx, metric in ((0, "time"), (1, "rss")):
                f.write(f"# {metric}\nworkload " + " ".join(names) + "\n")
                for wl in workloads:
                    g = med.get((wl, "glibc"))
                    row = []
                    for n in names:
                        c = med.get((wl, n))
                        row.append(f"{c[idx] / g[idx]:.4f}" if c and g else "NaN")
                    f.write(wl + " " + " ".join(row) + "\n")
                f.write("\n\n")
        # Per panel, whole powers of two around the data, so bars below 1 stay readable.
        ranges = []
        for i in (0, 1):
            ratios = [med[(wl, n)][i] / med[(wl, "glibc")][i] for wl in workloads for n in names
                      if (wl, n) in med and (wl, "glibc") in med] + [1.0]
            ranges.append((2.0 ** math.floor(math.log2(min(ratios) / 1.2)),
                           2.0 ** math.ceil(math.log2(max(ratios) * 1.2))))
        colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
        cols = ", ".join(
            f"'' index {{IDX}} using {i + 2}:xtic(1) title {gp_quote(n)} lc rgb '{colors[i % len(colors)]}'"
            if i else f"{gp_quote(data)} index {{IDX}} using 2:xtic(1) title {gp_quote(n)} lc rgb '{colors[0]}'"
            for i, n in enumerate(names))
        script = f"""
set terminal pngcairo size 1200,900 font 'sans,10'
set output {gp_quote(png)}
set multiplot layout 2,1 title 'rampart heap benchmark: median relative to glibc (log scale, lower is better; 1 = glibc)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set grid ytics
set key top left horizontal
set key autotitle columnheader
set xtics nomirror
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb 'black' lw 1.5 front
set title 'wall time'
set ylabel 'wall time / glibc'
set yrange [{ranges[0][0]:g}:{ranges[0][1]:g}]
plot {cols.replace('{IDX}', '0')}
set title 'peak RSS'
set ylabel 'peak RSS / glibc'
set yrange [{ranges[1][0]:g}:{ranges[1][1]:g}]
plot {cols.replace('{IDX}', '1')}
unset multiplot
"""
        gp = os.path.join(tmp, "heap.gp")
        with open(gp, "w") as f:
            f.write(script)
        r = subprocess.run([gnuplot, gp], capture_output=True, text=True)
        if r.returncode != 0:
            return f"gnuplot failed: {r.stderr.strip()}"
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- main ---------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        description="Run the heap workloads under several allocators side by side.",
        epilog="ALLOCATOR: NAME=PATH (a malloc library for LD_PRELOAD) or glibc, mimalloc, "
               "jemalloc, tcmalloc (found on this machine). Default: "
               + " ".join(DEFAULT_ALLOCATORS))
    ap.add_argument("allocators", nargs="*", metavar="ALLOCATOR")
    ap.add_argument("--bindir", help="directory with the built workloads, launch and probe "
                    "(default: compile them with $CC/cc into a cache directory)")
    ap.add_argument("--out", help="write heap.md (and heap.png) into this directory")
    ap.add_argument("--reps", type=int, help="repetitions per workload and allocator (default 5, --quick 1)")
    ap.add_argument("--scale", type=float, help="work multiplier (default 1, --quick %g)" % QUICK_SCALE)
    ap.add_argument("--quick", action="store_true",
                    help="1 repetition of shorter workloads: a fast check while developing an allocator")
    ap.add_argument("--smoke", action="store_true",
                    help="only check that every workload runs and gives the same checksum under "
                         "every allocator (a few seconds), no timing")
    ap.add_argument("--only", help="comma-separated workloads to run (default: all)")
    ap.add_argument("--threads", type=int, default=2,
                    help="threads of the threaded workloads (default 2; heap.md/heap.png are then "
                         "written as heap-tN.md/heap-tN.png for N != 2)")
    ap.add_argument("--pin-cpu", default="auto", metavar="N|auto|none",
                    help="CPU for the single-thread workloads (" + ", ".join(sorted(PINNED)) + "), the "
                         "same under every allocator; auto (default): the lowest CPU this process "
                         "may use; none: leave them to the scheduler")
    ap.add_argument("--gnuplot", help="gnuplot executable (default: found on PATH)")
    ap.add_argument("--no-chart", action="store_true", help="write the table only")
    ap.add_argument("--replot", metavar="JSON",
                    help="run nothing: write the page (and chart) again from a heap*.json a run "
                         "saved next to its page")
    args = ap.parse_args()

    if args.replot:
        ctx = load_raw(args.replot)
        gnuplot = None if args.no_chart else (args.gnuplot or shutil.which("gnuplot"))
        publish(args, ctx, gnuplot, None if gnuplot else "no gnuplot")
        return
    reps = args.reps if args.reps is not None else (1 if args.quick else 5)
    scale = args.scale if args.scale is not None else (QUICK_SCALE if args.quick else FULL_SCALE)
    if reps < 1 or not (0 < scale <= 100) or not (1 <= args.threads <= 1024):
        ap.error("--reps must be >= 1, 0 < --scale <= 100 and 1 <= --threads <= 1024")
    allowed = sorted(os.sched_getaffinity(0))
    if args.pin_cpu == "none":
        pin_cpu = None
    elif args.pin_cpu == "auto":
        pin_cpu = allowed[0]
    elif args.pin_cpu.isdigit() and int(args.pin_cpu) in allowed:
        pin_cpu = int(args.pin_cpu)
    else:
        ap.error(f"--pin-cpu must be auto, none or one of the CPUs this process may use ({allowed})")
    workloads = [w[0] for w in WORKLOADS]
    stem = "heap" if args.threads == 2 else f"heap-t{args.threads}"
    if args.only:
        workloads = [w for w in args.only.split(",") if w]
        unknown = [w for w in workloads if w not in WL]
        if unknown:
            ap.error(f"unknown workload(s): {', '.join(unknown)}; known: "
                     + ", ".join(x[0] for x in WORKLOADS))

    allocators, missing, errors = parse_allocators(args.allocators or DEFAULT_ALLOCATORS)
    for name, why in missing:
        if not why.startswith("not given"):
            log(f"run.py: {name}: not measured: {why}")
    if errors:
        for e in errors:
            log(f"run.py: error: {e}")
        sys.exit(2)

    bindir = os.path.abspath(args.bindir) if args.bindir else build_programs()
    for prog in sorted({WL[w][1] for w in workloads}) + ["launch", "probe"]:
        if not os.access(os.path.join(bindir, prog), os.X_OK):
            sys.exit(f"run.py: {os.path.join(bindir, prog)} is missing (build the bench target first)")

    chart_why = None
    gnuplot = None
    if args.no_chart:
        chart_why = "--no-chart given"
    elif args.out:
        gnuplot = args.gnuplot or shutil.which("gnuplot")
        if not gnuplot:
            chart_why = "gnuplot not found (Debian package gnuplot-nox)"
            log(f"run.py: {chart_why}: writing the table only, no heap.png")

    # 1. Is each preload really the malloc in effect?
    usable = []
    for name, preload in allocators:
        why = verify_preload(bindir, name, preload)
        if why:
            log(f"run.py: {name}: not measured: {why}")
            missing.append((name, why))
        else:
            usable.append((name, preload))
    allocators = usable
    if not allocators:
        sys.exit("run.py: no allocator left to measure")

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    t0 = time.monotonic()
    failed = {}

    # 2. Smoke pass: every workload once, small; checksums must agree across allocators.
    log(f"run.py: smoke pass (scale {SMOKE_SCALE}) over {len(workloads)} workloads x {len(allocators)} allocators")
    smoke = {}
    for wl in workloads:
        for name, preload in allocators:
            res = run_workload(bindir, preload, wl, SMOKE_SCALE, args.threads, pin_cpu)
            if res.error:
                failed[(wl, name)] = res.error
                log(f"run.py: FAIL {wl} under {name}: {res.error}")
            else:
                smoke[(wl, name)] = [res]
    check_checksums(smoke, failed, workloads)
    if args.smoke:
        for wl in workloads:
            bad = [n for n, _ in allocators if (wl, n) in failed]
            print(f"{wl:10} " + ("ok" if not bad else "FAIL under " + ", ".join(bad)), flush=True)
        sys.exit(1 if failed else 0)

    # 3. Measurements, round-robin: per repetition, each workload under each allocator in turn.
    results = {}
    for rep in range(reps):
        order = allocators[rep % len(allocators):] + allocators[:rep % len(allocators)]
        for wl in workloads:
            for name, preload in order:
                if (wl, name) in failed:
                    continue
                res = run_workload(bindir, preload, wl, scale, args.threads, pin_cpu)
                if res.error:
                    failed[(wl, name)] = res.error
                    results.pop((wl, name), None)
                    log(f"run.py: FAIL {wl} under {name}: {res.error}")
                    continue
                res.rep = rep
                results.setdefault((wl, name), []).append(res)
        log(f"run.py: repetition {rep + 1}/{reps} done, {time.monotonic() - t0:.0f} s")
    check_checksums(results, failed, workloads)

    med = summarize(results, allocators, workloads)
    ctx = {
        "med": med, "allocators": allocators, "failed": failed, "missing": missing,
        "workloads": workloads, "reps": reps, "scale": scale,
        "mode": "quick mode" if args.quick else f"{reps} repetitions",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "facts": machine_facts(), "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "elapsed": time.monotonic() - t0, "chart": False, "threads": args.threads, "stem": stem,
        "results": results, "pin_cpu": pin_cpu,
    }
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        save_raw(os.path.join(args.out, stem + ".json"), ctx)
    publish(args, ctx, gnuplot, chart_why)


def save_raw(path, ctx):
    """Every run's numbers, so the page and chart can be made again (--replot) without rerunning."""
    raw = {k: ctx[k] for k in ("allocators", "missing", "workloads", "reps", "scale", "mode", "date",
                               "facts", "load_before", "load_after", "elapsed", "threads", "stem")}
    raw["pin_cpu"] = ctx.get("pin_cpu")
    raw["failed"] = [[wl, n, why] for (wl, n), why in ctx["failed"].items()]
    raw["runs"] = [[wl, n, r.rep, r.wall, r.rss_kib] for (wl, n), runs in ctx["results"].items() for r in runs]
    with open(path, "w") as f:
        json.dump(raw, f, indent=0)


def load_raw(path):
    with open(path) as f:
        raw = json.load(f)
    ctx = dict(raw)
    ctx["allocators"] = [tuple(a) for a in raw["allocators"]]
    ctx["missing"] = [tuple(m) for m in raw["missing"]]
    ctx["failed"] = {(wl, n): why for wl, n, why in raw["failed"]}
    results = {}
    for wl, n, rep, wall, rss in raw["runs"]:
        r = Result(wall, rss, "")
        r.rep = rep
        results.setdefault((wl, n), []).append(r)
    ctx["results"] = results
    ctx["med"] = summarize(results, ctx["allocators"], ctx["workloads"])
    ctx["chart"] = False
    return ctx


def publish(args, ctx, gnuplot, chart_why):
    med, allocators, workloads, stem, failed = (ctx["med"], ctx["allocators"], ctx["workloads"],
                                                ctx["stem"], ctx["failed"])
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        if gnuplot and not chart_why:
            png = os.path.join(os.path.abspath(args.out), stem + ".png")
            chart_why = write_chart(gnuplot, png, med, allocators, workloads)
            if chart_why:
                log(f"run.py: no chart: {chart_why}")
            else:
                ctx["chart"] = True
        md = write_markdown(os.path.join(args.out, stem + ".md"), ctx)
        log(f"run.py: wrote {os.path.join(args.out, stem + '.md')}" + (f" and {stem}.png" if ctx["chart"] else ""))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            md = write_markdown(os.path.join(tmp, "heap.md"), ctx)
    # The summary and per-workload tables on stdout, for a terminal or a CI log.
    print(md[md.index("## Summary"):], flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
