"""How much of each zoo family's trace survives the ways images travel: JPEG and down-scaling.

    .venv/bin/python -m bench.zoo_traces                 # seed 0, 300 fitting steps per family

Every zoo family keeps its source's content and changes only the detail, so
the only evidence a detector has is the difference between a fake and the real
image it was made from. This measures that difference, per family, on the
held-out (TEST) tiles of `bench.detector_generalisation`'s split:

- clean: mean |fake - real| in grey levels (0-255), over all pixels;
- after the same JPEG (q75) or the same resize (x0.5, x0.75: bicubic, as
  `evaluate_detector`'s perturbation) applied to both;
- kept: that difference as a share of the clean one.

A family whose trace falls to the level JPEG or resizing leaves between two
encodings of one real image cannot be told apart after that perturbation by
any detector: the floor row (the real image against its own JPEG q95
re-encoding) gives that level.

Prints the table and writes bench/results/zoo_traces.{json,txt}.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from bench._common import machine_info, machine_line, table, write_results


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Zoo traces after JPEG and resizing.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--zoo-steps", type=int, default=300)
    p.add_argument("--tile", type=int, default=128)
    p.add_argument("--max-tiles-per-scene", type=int, default=24)
    return p.parse_args(argv)


def difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(x.astype(np.float64) - y.astype(np.float64)).mean() for x, y in zip(a, b)]))


def main(argv=None) -> int:
    from bench.detector_generalisation import real_splits
    from shared.training.perturb import perturb_whole
    from shared.training.zoo import FAMILIES, make_fakes

    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    splits = real_splits(args.seed, args.tile, args.max_tiles_per_scene)
    train = [t for t, _ in splits["TRAIN"]]
    test = [t for t, _ in splits["TEST"]]
    perturbations = [("JPEG q75", "JPEG", 75), ("resize x0.75", "RESIZE", 0.75), ("resize x0.5", "RESIZE", 0.5)]

    def degrade(images, kind, value):
        return [perturb_whole(x, kind, value) for x in images]

    rows, results = [], {}
    floor = difference(test, degrade(test, "JPEG", 95))
    rows.append(["(real vs its JPEG q95)", floor, *([float("nan")] * (2 * len(perturbations)))])
    for family in sorted(FAMILIES):
        t0 = time.monotonic()
        fakes = make_fakes(family, FAMILIES[family].fit(train, args.zoo_steps, args.seed), test, args.seed)
        clean = difference(test, fakes)
        after = {name: difference(degrade(test, kind, value), degrade(fakes, kind, value))
                 for name, kind, value in perturbations}  # fmt: skip
        results[family] = {"clean": clean, **after, "seconds": time.monotonic() - t0}
        rows.append([family, clean, *(x for name, *_ in perturbations for x in (after[name], after[name] / clean))])
        print(f"  {family}: {time.monotonic() - t0:.0f}s", flush=True)
    header = ["family", "clean |fake - real|"] + [h for name, *_ in perturbations for h in (name, "kept")]
    text = (f"Mean |fake - real| in grey levels on {len(test)} TEST tiles of {args.tile} px (seed {args.seed}, "
            f"{args.zoo_steps} fitting steps)\n" + table(header, rows, digits=3))  # fmt: skip
    print(text)
    path = write_results("zoo_traces", {"machine": info, "arguments": vars(args), "floor_jpeg95": floor,
                                        "families": results, "text": text})  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
