"""Near-duplicate lookup: the ingest pipeline's perceptual-hash index against a linear scan.

    .venv/bin/python -m bench.phash_index                       # 100,000 and 1,000,000 hashes
    .venv/bin/python -m bench.phash_index --sizes 10000 --max-distance 8

Each tile an ingest job stores is first looked up among the dataset's hashes, on the
job's serial commit path. For each size, half the hashes are random and half sit in
tight clusters (members within one bit of 1,000 centres, as tiles of one field give),
and the same 400 probes (200 random, 200 members) are looked up in the banded index
(shared.ingest.pipeline._PhashIndex at --max-distance) and in a linear scan (the same
class at max distance -1). It also times building the index (once per job) and adding.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench._common import machine_info, machine_line, table, write_results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000], help="hashes in the dataset")
    p.add_argument("--max-distance", type=int, default=4, help="near-duplicate distance (the ingest default, 4)")
    args = p.parse_args(argv)
    from shared.ingest.pipeline import _PhashIndex

    info = machine_info()
    print(f"machine: {machine_line(info)}")
    rng = np.random.default_rng(0)
    rows, results = [], {"benchmark": "phash_index", "machine": info, "args": vars(args), "runs": []}
    for n in args.sizes:
        centres = rng.integers(0, 2**64, size=1000, dtype=np.uint64)
        flips = np.uint64(1) << rng.integers(0, 64, size=n - n // 2).astype(np.uint64)
        members = centres[rng.integers(0, 1000, size=n - n // 2)] ^ flips
        hashes = [int(v) for v in np.concatenate([rng.integers(0, 2**64, size=n // 2, dtype=np.uint64), members])]
        probes = [int(v) for v in rng.integers(0, 2**64, size=200, dtype=np.uint64)] + hashes[-200:]
        for label, distance in ((f"banded, max distance {args.max_distance}", args.max_distance), ("linear scan", -1)):
            start = time.perf_counter()
            index = _PhashIndex(hashes, distance)
            build = time.perf_counter() - start
            start = time.perf_counter()
            answers = [index.nearest(h) for h in probes]
            lookup = (time.perf_counter() - start) / len(probes)
            start = time.perf_counter()
            for h in probes * 25:
                index.add(h)
            add = (time.perf_counter() - start) / (len(probes) * 25)
            run = {"hashes": n, "index": label, "build_ms": build * 1000, "lookup_ms": lookup * 1000,
                   "add_ms": add * 1000, "within_distance": sum(a <= args.max_distance for a in answers)}  # fmt: skip
            results["runs"].append(run)
            rows.append([f"{n:,}", label, run["build_ms"], run["lookup_ms"], run["add_ms"], run["within_distance"]])
    print(table(["hashes", "index", "build ms", "lookup ms", "add ms (amortized)", "probes within distance"],
                rows, digits=3))  # fmt: skip
    path = write_results("phash_index", results)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
