"""Detector quality along training: held-out error of the demo's detector at checkpoints, per seed and schedule.

    TERRAFAKE_HOME=~/.terrafake .venv/bin/terrafake stack up      # the home of a finished `terrafake demo`
    .venv/bin/python -m bench.detector_quality                     # seeds 0 1 2, lr_schedule constant and cosine
                                                                   # (about 90 min on 2 Zen 3 cores)
    .venv/bin/python -m bench.detector_quality --seeds 0 --schedules constant --every 500

Issue #4's detector targets (accuracy >= 0.97, type I error <= 0.04, type II
<= 0.02 on held-out years) are met by the demo's runs, some close to the
lines. This measures how much of that is the step training stopped at and
how much the run's seed. It reads the demo's dataset (real tiles and the
generated ones, split by scene: the newest `demo-aerial-*` version with
generated images, or --dataset-version) from the stack in TERRAFAKE_HOME,
then trains the demo's detector in this process with
`shared.training.train_detector` exactly as the demo's job does (detector-small
at 32 px, batch 64, colour jitter 0.15, type II budget 2%, --steps), once per
seed and learning-rate schedule. Every --every steps it scores val and test
with the weights as they are then (and with an exponential moving average of
them, --ema, which is tracked beside the run without changing it), calibrates
a threshold on val as the job does, and reports test accuracy and type I/II
error at that threshold.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import machine_info, machine_line, table, write_results

JITTER = 0.15
MAX_TYPE_II = 0.02
TARGETS = {"accuracy": 0.97, "type_i": 0.04, "type_ii": 0.02}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Held-out error of the demo's detector at checkpoints.")
    p.add_argument("--home", default=os.environ.get("TERRAFAKE_HOME", str(Path.home() / ".terrafake")),
                   help="TERRAFAKE_HOME of a finished demo, its stack up (default: TERRAFAKE_HOME or ~/.terrafake)")
    p.add_argument("--dataset-version", help="a version with real and generated tiles (default: the demo's newest)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--schedules", nargs="+", default=["constant", "cosine"], choices=["constant", "cosine"])
    p.add_argument("--steps", type=int, default=3000, help="training steps, as the demo (default 3000)")
    p.add_argument("--every", type=int, default=250, help="score a snapshot every this many steps (default 250)")
    p.add_argument("--ema", type=float, default=0.99, help="decay of the tracked weight average; 0 turns it off")
    p.add_argument("--device", default="auto")
    return p.parse_args(argv)


def load_demo_splits(home: Path, version_id: str | None) -> tuple[str, dict[str, tuple[list, list]]]:
    """{split: (uint8 tiles, labels 0 real / 1 generated)} of the demo's mixed version, as the job loads them."""
    from shared.config import Settings
    from shared.datasets.loader import authenticity_labelled, load_split
    from shared.datasets.store import DatasetStore
    from shared.db import Database
    from shared.stack.manager import Stack
    from shared.storage import open_blob_store

    settings = Settings.from_env({**os.environ, "TERRAFAKE_HOME": str(home)})
    url = Stack(settings).database_url
    if not url:
        raise SystemExit(f"no database recorded in {settings.state_file}: run `terrafake stack up` with that home first")
    db = Database(url, max_size=2)
    try:
        if not version_id:
            with db.connection() as conn:
                row = conn.execute(
                    """SELECT v.id FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id
                       WHERE d.name LIKE %s AND v.label_counts::text LIKE %s ORDER BY v.created_at DESC LIMIT 1""",
                    ("demo-aerial-%", '%"generated"%'),
                ).fetchone()
            if row is None:
                raise SystemExit("no demo dataset version with generated tiles in that home; run `terrafake demo` first")
            version_id = str(row["id"])
        store, blobs = DatasetStore(db), open_blob_store(settings)
        splits = {name: authenticity_labelled(*load_split(store, blobs, version_id, name.upper(), size=32))
                  for name in ("train", "val", "test")}  # fmt: skip
    finally:
        db.close()
    return version_id, splits


def score(scores_val, y_val, scores_test, y_test) -> dict:
    """Calibrate on val as the training job does; test accuracy, type I and II error at that threshold."""
    from shared.models.metrics import detector_metrics
    from shared.training.calibration import calibrate_scores

    cal = calibrate_scores(scores_val[y_val == 0], scores_val[y_val == 1], uncertain_margin=0.1, max_type_ii=MAX_TYPE_II)
    t = cal["threshold"]
    m = detector_metrics(y_test, scores_test, t)
    p = np.clip(scores_val, 1e-6, 1 - 1e-6)
    loss = -(y_val * np.log(p) + (1 - y_val) * np.log(1 - p))
    return {
        "threshold": t,
        "accuracy": m.accuracy,
        "type_i": float(((scores_test >= t) & (y_test == 0)).sum() / max(1, (y_test == 0).sum())),
        "type_ii": float(((scores_test < t) & (y_test == 1)).sum() / max(1, (y_test == 1).sum())),
        "roc_auc": m.roc_auc,
        "val_log_loss": float(0.5 * loss[y_val == 0].mean() + 0.5 * loss[y_val == 1].mean()),
    }


def meets(r: dict) -> bool:
    return r["accuracy"] >= TARGETS["accuracy"] and r["type_i"] <= TARGETS["type_i"] and r["type_ii"] <= TARGETS["type_ii"]


def run_one(splits, seed: int, schedule: str, args) -> dict[str, list[dict]]:
    """Train once; {weights: [snapshot scores by step]} for the trained weights and the tracked average."""
    from shared.models import EMA
    from shared.training import ImageSet, train_detector
    from shared.training import detector as detector_module
    from shared.training.scoring import detector_scores

    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = splits["train"], splits["val"], splits["test"]
    y_val, y_test = np.array(va_y), np.array(te_y)
    held: dict = {}
    create = detector_module.create_model

    def keep(*a, **k):  # the trainer's own model object, so snapshots score exactly what it trains
        held["model"] = create(*a, **k)
        return held["model"]

    snapshots: dict[str, list[dict]] = {"trained": []}
    if args.ema:
        snapshots[f"EMA {args.ema:g}"] = []

    def on_step(step, total, metrics):
        if args.ema:
            held.setdefault("ema", EMA(held["model"], args.ema, warmup=True)).update()
        if step % args.every and step != total:
            return
        models = {"trained": held["model"]}
        if args.ema:
            models[f"EMA {args.ema:g}"] = held["ema"].model
        for name, model in models.items():
            r = score(detector_scores(model, va_x), y_val, detector_scores(model, te_x), y_test)
            snapshots[name].append({"step": step, **r})

    hparams = {"batch_size": 64, "color_jitter_brightness": JITTER, "color_jitter_contrast": JITTER,
               "color_jitter_saturation": JITTER, "calibration_max_type_ii": MAX_TYPE_II, "lr_schedule": schedule}  # fmt: skip
    detector_module.create_model = keep
    try:
        with tempfile.TemporaryDirectory(prefix="terrafake-detq-") as work_dir:
            train_detector(ImageSet(tr_x, tr_y), ImageSet(va_x, va_y), architecture="detector-small",
                           overrides={"input_size": 32}, hparams=hparams, max_steps=args.steps, work_dir=Path(work_dir),
                           checkpoint_interval=0, device=args.device, seed=seed, on_step=on_step)  # fmt: skip
    finally:
        detector_module.create_model = create
    return snapshots


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    print(f"machine: {machine_line(info)}")
    version_id, splits = load_demo_splits(Path(args.home).expanduser(), args.dataset_version)
    counts = {k: (len(y), int(sum(y))) for k, (_, y) in splits.items()}
    print(f"[data] version {version_id}: " + ", ".join(f"{k} {n} ({g} generated)" for k, (n, g) in counts.items()))
    runs, rows = [], []
    for schedule in args.schedules:
        for seed in args.seeds:
            t0 = time.monotonic()
            snapshots = run_one(splits, seed, schedule, args)
            for weights, snaps in snapshots.items():
                final, late = snaps[-1], snaps[-4:]
                runs.append({"schedule": schedule, "seed": seed, "weights": weights, "snapshots": snaps})
                rows.append([schedule, weights, seed, " / ".join(f"{s['type_i']:.3f}" for s in late),
                             f"{final['accuracy']:.3f} / {final['type_i']:.3f} / {final['type_ii']:.3f} / {final['roc_auc']:.4f}",
                             "met" if meets(final) else "MISSED",
                             f"{min(s['type_i'] for s in snaps):.3f} to {max(s['type_i'] for s in snaps):.3f}",
                             sum(not meets(s) for s in late)])  # fmt: skip
            print(f"  {schedule} seed {seed}: {time.monotonic() - t0:.0f} s; final type I "
                  f"{snapshots['trained'][-1]['type_i']:.3f}", flush=True)  # fmt: skip
    print()
    print(f"Detector quality: detector-small at 32 px, {args.steps} steps, demo settings; threshold calibrated on val "
          f"(type II budget {MAX_TYPE_II:g}); test = the held-out scenes; targets accuracy >= 0.97, type I <= 0.04, "
          f"type II <= 0.02")  # fmt: skip
    late_steps = " / ".join(str(s["step"]) for s in runs[0]["snapshots"][-4:])
    print(table(["lr schedule", "weights", "seed", f"test type I at steps {late_steps}",
                 "final: accuracy / type I / type II / ROC-AUC", "final", "type I over all snapshots",
                 "late snapshots missing a target"], rows))  # fmt: skip
    path = write_results("detector_quality", {"benchmark": "detector_quality", "machine": info, "args": vars(args),
                                              "dataset_version_id": version_id, "counts": counts, "runs": runs})  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
