"""Will the detector catch a generator it never saw? Leave-one-family-out on the shipped real imagery.

    .venv/bin/python -m bench.detector_generalisation                      # detector-npr, seeds 0 1 2
    .venv/bin/python -m bench.detector_generalisation --architectures detector-npr detector-safe \\
        --seeds 0 --steps 600

Real images: every shipped real scene (NAIP, ten years of one place; NEON;
Landsat; USGS orthophoto), cut into native-scale tiles of --tile pixels (never
resized). NAIP years are split train/val/test by year, the other scenes by
scene (seeded); a tile never leaves its scene's split.

Fakes: the generator zoo (`shared.training.zoo`). Each family is fitted on the
TRAIN split's real tiles only, then turns every real tile into a fake of the
same size and content, so val and test fakes show scenes the zoo and the
detector never trained on.

Per seed and architecture:
- leave one family out: train the detector (`shared.training.train_detector`,
  exactly as the training job does, with its crops, augmentation and Platt
  calibration on val) on real against every family but one, then score test
  real against test fakes of the held-out family: ROC-AUC, and accuracy and
  type I / II error at the calibrated threshold, clean and with both classes
  JPEG-compressed at q75;
- all families seen: accuracy, type I / II error, ECE, the uncertain
  fraction and the share of p >= 0.99 labelled GENERATED on the test split,
  and the robustness table (JPEG 90/75/50, resize 0.5/0.75/1.5, blur) on
  the test images, degraded whole before cropping.

Prints the tables and writes bench/results/detector_generalisation.{json,txt}.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._common import machine_info, machine_line, table, write_results

TARGETS = {"lofo_auc_min": 0.90, "lofo_auc_mean": 0.95, "accuracy": 0.97, "type_i": 0.04, "type_ii": 0.02,
           "robust_accuracy": 0.90, "robust_auc": 0.95, "ece": 0.05, "uncertain": 0.10}  # fmt: skip
PERTURBATIONS = [("jpeg", 90), ("jpeg", 75), ("jpeg", 50), ("resize", 0.5), ("resize", 0.75), ("resize", 1.5),
                 ("blur", 1.0)]  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Leave-one-family-out detector generalisation.")
    p.add_argument("--architectures", nargs="+", default=["detector-npr"],
                   help="registered detector names, each optionally with config overrides: "
                        "detector-effnet-probe:upsample=2 (comma-separated key=value, whole numbers or text)")
    p.add_argument("--families", nargs="+", default=None, help="zoo families (default: all registered)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=800, help="detector training steps (default 800)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--zoo-steps", type=int, default=400, help="training steps of each learnt zoo family")
    p.add_argument("--tile", type=int, default=128, help="native tile side cut from the scenes (default 128)")
    p.add_argument("--max-tiles-per-scene", type=int, default=24)
    p.add_argument("--augment", choices=["full", "none"], default="full",
                   help="full: resize, blur, JPEG and colour jitter in training; none: flips only")
    p.add_argument("--no-lofo", action="store_true", help="only the all-families model")
    p.add_argument("--hold-out", nargs="+", default=None,
                   help="the families to leave out, one model each (default: every family)")
    p.add_argument("--calibrations", nargs="+", default=["none"],
                   help="how each trained detector is calibrated, one row per choice (trained once): 'none' "
                        "(clean val, balanced accuracy), 'jpeg' or 'jpeg+resize' (also perturbed val copies, "
                        "DETECTOR_DEFAULTS['calibration_perturbations']), 'type_i=X' (the lowest threshold with "
                        "type I <= X on the real val images, calibration_max_type_i)")
    p.add_argument("--out", default="detector_generalisation", help="results name under bench/results/")
    p.add_argument("--crop", type=int, default=0,
                   help="crop side of the detector (its input_size, stride half of it); 0: the architecture's own")
    return p.parse_args(argv)


def augment_hparams(kind: str) -> dict:
    if kind == "none":
        return {}
    return {"resize_augment_prob": 0.5, "resize_factor_min": 0.5, "resize_factor_max": 1.5,
            "blur_augment_prob": 0.2, "blur_sigma_max": 1.0, "jpeg_augment_prob": 0.5,
            "jpeg_quality_min": 50, "jpeg_quality_max": 95, "color_jitter_brightness": 0.1,
            "color_jitter_contrast": 0.1, "color_jitter_saturation": 0.1}  # fmt: skip


def scene_tiles(path: Path, tile: int, limit: int, rng: np.random.Generator) -> list[np.ndarray]:
    from PIL import Image

    with Image.open(path) as im:
        array = np.asarray(im.convert("RGB"))
    h, w = array.shape[:2]
    if min(h, w) < tile:
        return []
    tiles = [array[y : y + tile, x : x + tile] for y in range(0, h - tile + 1, tile) for x in range(0, w - tile + 1, tile)]
    order = rng.permutation(len(tiles))[:limit]
    return [np.ascontiguousarray(tiles[i]) for i in sorted(order)]


def real_splits(seed: int, tile: int, limit: int) -> dict[str, list[tuple[np.ndarray, str]]]:
    """{split: [(tile, scene name)]}: NAIP by year 6/2/2, other scenes by scene (seeded)."""
    from shared.assets import real_scenes

    rng = np.random.default_rng(seed)
    splits: dict[str, list] = {"TRAIN": [], "VAL": [], "TEST": []}
    for source, scenes in real_scenes().items():
        order = [scenes[i] for i in rng.permutation(len(scenes))]
        n = len(order)
        n_test, n_val = max(1, round(0.2 * n)), (max(1, round(0.2 * n)) if n >= 3 else 0)
        assignment = ["TEST"] * n_test + ["VAL"] * n_val + ["TRAIN"] * (n - n_test - n_val)
        for path, split in zip(order, assignment):
            splits[split] += [(t, f"{source}/{path.stem}") for t in scene_tiles(path, tile, limit, rng)]
    return splits


def summary(metrics: dict) -> dict:
    """The columns this benchmark prints, from a DetectorReport's metrics."""
    return {"auc": metrics["roc_auc"], "accuracy": metrics["accuracy"], "type_i": metrics["type_i_error_rate"],
            "type_ii": metrics["type_ii_error_rate"], "uncertain": metrics["uncertain_fraction"]}  # fmt: skip


def perturbations(kind: str) -> tuple:
    return tuple(value for k, value in PERTURBATIONS if k == kind)


def split_architecture(spec: str) -> tuple[str, dict]:
    """'detector-effnet-probe:upsample=2,taps=head' -> ('detector-effnet-probe', {'upsample': 2, 'taps': 'head'})."""
    name, _, rest = spec.partition(":")
    overrides = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--architectures {spec!r}: expected key=value after ':', got {item!r}")
        overrides[key] = int(value) if value.lstrip("-").isdigit() else value
    return name, overrides


def train(arch, train_set, val_set, args, seed, work):
    from shared.training import train_detector

    hp = {"batch_size": args.batch, "lr": 1e-3, "warmup_steps": 50, "lr_schedule": "cosine", "log_every": 50,
          **augment_hparams(args.augment)}  # fmt: skip
    arch, overrides = split_architecture(arch)
    if args.crop:
        overrides = {"input_size": args.crop, "crop_stride": args.crop // 2, **overrides}
    result = train_detector(train_set, val_set, architecture=arch, overrides=overrides or None, hparams=hp,
                            max_steps=args.steps, work_dir=work, checkpoint_interval=10**9, seed=seed)  # fmt: skip
    from shared.models import load_model

    return load_model(result.model_dir), result.extra


def run(args) -> dict:
    import torch

    from shared.training.data import ImageSet
    from shared.training.evaluate import evaluate_detector
    from shared.training.detector import calibrate_detector
    from shared.training.zoo import FAMILIES, make_fakes

    families = args.families or sorted(FAMILIES)
    rows = []
    for seed in args.seeds:
        t0 = time.monotonic()
        splits = real_splits(seed, args.tile, args.max_tiles_per_scene)
        train_real = [t for t, _ in splits["TRAIN"]]
        fitted = {f: FAMILIES[f].fit(train_real, args.zoo_steps, seed) for f in families}
        fakes = {split: {f: make_fakes(f, fitted[f], [t for t, _ in items], seed) for f in families}
                 for split, items in splits.items()}  # fmt: skip
        print(f"seed {seed}: {', '.join(f'{k} {len(v)}' for k, v in splits.items())} real tiles; "
              f"zoo fitted and applied in {time.monotonic() - t0:.0f}s", flush=True)  # fmt: skip

        def image_set(split: str, keep: list[str]) -> ImageSet:
            real = splits[split]
            images = [t for t, _ in real] + [x for f in keep for x in fakes[split][f]]
            groups = [g for _, g in real] + [g for f in keep for _, g in real]
            labels = [0] * len(real) + [1] * (len(images) - len(real))
            return ImageSet(images, labels, groups, mixed_sizes=True)

        test_real = [t for t, _ in splits["TEST"]]

        def judge(model, calibration, held, cal, seconds) -> dict:
            row = {"seed": seed, "architecture": arch, "held_out": held or "(none)", "train_seconds": seconds, "cal": cal,
                   "calibration": {k: v for k, v in calibration.items() if k != "reliability"}}  # fmt: skip
            # Judged as the evaluation job judges: native-scale crops, the version's calibration.
            if held is not None:
                # The held-out family also JPEG-compressed at q75, as fakes met outside usually are.
                report = evaluate_detector(model, test_real, fakes["TEST"][held], calibration=calibration,
                                           families=[held] * len(fakes["TEST"][held]), jpeg_qualities=(75,),
                                           resize_factors=(), blur_sigmas=())  # fmt: skip
                row["held_out_jpeg75"] = summary(report["robustness"][0]["metrics"])
            else:
                names = [f for f in families for _ in fakes["TEST"][f]]
                report = evaluate_detector(model, test_real, [x for f in families for x in fakes["TEST"][f]],
                                           calibration=calibration, families=names,
                                           jpeg_qualities=perturbations("jpeg"),
                                           resize_factors=perturbations("resize"),
                                           blur_sigmas=perturbations("blur"))  # fmt: skip
                row["all"] = {**summary(report["metrics"]), "ece": report["expected_calibration_error"],
                              "confident_not_generated": report["confident_not_generated_fraction"]}  # fmt: skip
                row["robustness"] = {f"{e['perturbation'].lower()}{e['parameter']:g}": summary(e["metrics"])
                                     for e in report["robustness"]}  # fmt: skip
            row["per_family"] = {e["family"]: summary(e["metrics"]) for e in report["per_family"]}
            return row

        for arch in args.architectures:
            torch.manual_seed(seed)
            held_outs = [] if args.no_lofo else [f for f in families if args.hold_out is None or f in args.hold_out]
            for held in [None, *held_outs]:
                keep = [f for f in families if f != held]
                t1 = time.monotonic()
                with tempfile.TemporaryDirectory() as work:
                    model, trained_calibration = train(arch, image_set("TRAIN", keep), image_set("VAL", keep), args, seed,
                                               Path(work))  # fmt: skip
                seconds = time.monotonic() - t1
                for cal in args.calibrations:
                    calibration = trained_calibration
                    if cal != "none":
                        val = image_set("VAL", keep)
                        how = ({"max_type_i": float(cal.partition("=")[2])} if cal.startswith("type_i=")
                               else {"perturbations": cal})  # fmt: skip
                        calibration = calibrate_detector(
                            model, [x for x, y in zip(val.images, val.labels) if y == 0],
                            [x for x, y in zip(val.images, val.labels) if y == 1], seed=seed, **how)  # fmt: skip
                    row = judge(model, calibration, held, cal, seconds)
                    rows.append(row)
                    aucs = ", ".join(f"{f} AUC {m['auc']:.3f}" for f, m in row["per_family"].items())
                    print(f"  {arch} held out {held or '(none)'}, calibrated on val + {cal}: trained {seconds:.0f}s; "
                          f"{aucs}", flush=True)  # fmt: skip
    return {"families": families, "rows": rows}


def robust_cell(metrics: dict | None) -> str:
    # None: every perturbed image was smaller than one crop, so nothing could be judged.
    return "-" if metrics is None else f"{metrics['accuracy']:.3f} / {metrics['auc']:.3f}"


def name(row: dict) -> str:
    """The architecture, and the perturbed validation copies it was calibrated on when not only clean ones."""
    cal = row.get("cal", "none")
    if cal == "none":
        return row["architecture"]
    if cal.startswith("type_i="):
        return f"{row['architecture']} [type I<={cal.partition('=')[2]}]"
    return f"{row['architecture']} [val+{cal}]"


def report(results: dict, args) -> str:
    lines = []
    rows = results["rows"]
    lofo = [r for r in rows if r["held_out"] != "(none)"]
    if lofo:
        lines.append("Leave one family out: test real vs the held-out family's test fakes")
        lines.append(table(["seed", "architecture", "held out", "ROC-AUC", "accuracy", "type I", "type II",
                            "JPEG q75: ROC-AUC", "accuracy"],
                           [[r["seed"], name(r), r["held_out"], *(r["per_family"][r["held_out"]][k]
                             for k in ("auc", "accuracy", "type_i", "type_ii")),
                             *(r["held_out_jpeg75"][k] if "held_out_jpeg75" in r else float("nan")
                               for k in ("auc", "accuracy"))] for r in lofo], digits=3))  # fmt: skip
        for arch in dict.fromkeys(name(r) for r in lofo):
            for seed in args.seeds:
                aucs = [r["per_family"][r["held_out"]]["auc"] for r in lofo if name(r) == arch and r["seed"] == seed]
                if aucs:
                    lines.append(f"  {arch} seed {seed}: min AUC {min(aucs):.3f} (target >= 0.90), "
                                 f"mean {np.mean(aucs):.3f} (target >= 0.95)")  # fmt: skip
    full = [r for r in rows if r["held_out"] == "(none)"]
    lines.append("\nEvery family seen in training, test split")
    lines.append(table(["seed", "architecture", "accuracy", "type I", "type II", "ROC-AUC", "ECE", "uncertain",
                        "p>=0.99 not GENERATED (fraction)", "val group-fold ECE"],
                       [[r["seed"], name(r), r["all"]["accuracy"], r["all"]["type_i"], r["all"]["type_ii"],
                         r["all"]["auc"], r["all"]["ece"], r["all"]["uncertain"], r["all"]["confident_not_generated"],
                         r["calibration"].get("group_fold_ece", float("nan"))] for r in full], digits=3))  # fmt: skip
    lines.append("\nRobustness (test split, every family seen): accuracy / ROC-AUC")
    names = [f"{k}{v:g}" for k, v in PERTURBATIONS]
    lines.append(table(["seed", "architecture", *names],
                       [[r["seed"], name(r), *(robust_cell(r["robustness"].get(n)) for n in names)]
                        for r in full]))  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    print(machine_line(info), flush=True)
    t0 = time.monotonic()
    results = run(args)
    text = report(results, args)
    print(text)
    print(f"\ntotal {time.monotonic() - t0:.0f}s")
    path = write_results(args.out, {"machine": info, "arguments": vars(args), **results, "text": text})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
