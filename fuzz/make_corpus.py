#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# fuzz/make_corpus.py — writes the committed seed corpus fuzz/corpus/<target>/ for the three fuzz
# targets, deterministically (a fixed random seed), so a fresh clone can fuzz and the CTest
# replay has inputs. Each target reads an input as operations (fuzz/fuzz.h): an opcode byte, a
# slot byte, then arguments; the seeds are op sequences that reach every opcode with sizes in
# every range, plus a few random byte strings. Run it again after changing an input format:
#   python3 fuzz/make_corpus.py [OUTDIR]       (default: fuzz/corpus next to this script)
import os
import random
import sys

OPS = {"heap": 12, "pool": 8, "map": 16}


def size_arg(rng, sel=None):
    """The five bytes fz_size reads: a range selector and a 32-bit value."""
    sel = rng.randrange(4) if sel is None else sel
    return bytes([sel]) + rng.getrandbits(32).to_bytes(4, "little")


def op_seq(rng, target, count):
    out = bytearray()
    nops = OPS[target]
    slots = 4 if target == "map" else 48
    for i in range(count):
        # Opcode: walk every opcode in turn, then random ones; few slots so ops meet live objects.
        op = i % nops if i < 2 * nops else rng.randrange(256)
        out += bytes([op, rng.randrange(min(slots, 6))])
        # Arguments: enough random bytes for the longest operation (the reader pads with zeros).
        for _ in range(3):
            out += bytes([rng.randrange(256)]) + size_arg(rng)
    return bytes(out)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    rng = random.Random(20261205)
    for target in OPS:
        d = os.path.join(outdir, target)
        os.makedirs(d, exist_ok=True)
        seeds = []
        for n in (4, 8, 16, 24, 32, 48, 64, 96):
            seeds.append(op_seq(rng, target, n))
        for n in (32, 128, 512, 2048):
            seeds.append(bytes(rng.getrandbits(8) for _ in range(n)))
        for i, data in enumerate(seeds):
            with open(os.path.join(d, "seed-%03d" % i), "wb") as f:
                f.write(data)
        print("%s: %d seeds in %s" % (target, len(seeds), d))


if __name__ == "__main__":
    main()
