"""Evaluation jobs: score a registered model version on a dataset version's split.

Detectors: accuracy, type I/II error, precision, recall, F1, ROC-AUC, the
confusion matrix and robustness to JPEG re-encoding and resizing, at the
version's calibrated threshold. Generators: sliced Wasserstein distance of
generated against real tiles, next to the real-vs-real floor and two simple
baselines. Colorizers: PSNR and SSIM against the original colour. Results go
into the registry beside the model version.
"""

from __future__ import annotations

import logging

from shared.datasets.loader import AUTHENTICITY, load_split, require
from shared.datasets.store import DatasetStore
from shared.errors import FailedPrecondition, NotFound
from shared.registry.store import RegistryStore
from shared.storage import open_blob_store
from shared.storage.artifacts import model_path
from workers.runtime import JobContext, job_task
from workers.tasks.training import _device, family_of, image_set, labelled_rows

log = logging.getLogger("terrafake.worker")


def _load_model(ctx, version: dict, device):
    from shared.models import load_model

    return load_model(model_path(ctx.settings, version), device=device)


def _flatten(prefix: str, d: dict, out: dict) -> dict:
    for k, v in d.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            out[f"{prefix}{k}"] = float(v)
        elif isinstance(v, dict) and k in ("metrics", "confusion"):
            _flatten(prefix if k == "metrics" else f"{prefix}{k}.", v, out)
    return out


def evaluate_detector_version(ctx, version, params, store, blobs, device) -> tuple[dict, dict]:
    from shared.models.detector.crops import CropPolicy
    from shared.training.evaluate import evaluate_detector

    model = _load_model(ctx, version, device)
    policy = CropPolicy.from_config(version["config"])
    # At their own size, as Detect judges them; an image smaller than one crop cannot be judged.
    images, rows = load_split(store, blobs, params["dataset_version_id"], params["split"], limit=params["max_images"])
    fits = [min(im.shape[:2]) >= policy.size for im in images]
    real = [im for im, r, ok in zip(images, rows, fits) if ok and r["labels"].get(AUTHENTICITY) == "real"]
    generated = [(im, r) for im, r, ok in zip(images, rows, fits) if ok and r["labels"].get(AUTHENTICITY) == "generated"]
    require(real, f"detector evaluation (authenticity=real, at least {policy.size}x{policy.size} pixels)")
    require(generated, f"detector evaluation (authenticity=generated, at least {policy.size}x{policy.size} pixels)")
    opts = params["options"]
    calibration = version.get("calibration") or {}
    override = opts.get("threshold_override")
    asked = {k: tuple(v) for k, v in opts.get("robustness", {}).items() if v}
    # Perturbations asked for: only those (an empty kind is none of it); none asked: evaluate_detector's defaults.
    perturbations = {k: asked.get(k, ()) for k in ("jpeg_qualities", "resize_factors", "blur_sigmas")} if asked else {}
    report = evaluate_detector(
        model, real, [im for im, _ in generated], calibration=calibration, threshold=override or None,
        families=[family_of(r) for _, r in generated],
        roc_points=int(opts.get("roc_points") or 50), device=device, **perturbations,
    )  # fmt: skip
    for entry in report.get("robustness", []):
        entry["perturbation"] = "PERTURBATION_" + str(entry["perturbation"]).removeprefix("PERTURBATION_")
    metrics = _flatten("", report, {})
    metrics["num_too_small"] = float(len(images) - sum(fits))
    if not override:  # a reference for drift checks describes the version as it serves, at its own calibration
        report["_drift_reference"] = drift_reference(model, policy, [*real, *(im for im, _ in generated)], calibration,
                                                     device)  # fmt: skip
    for entry in report["per_family"]:
        metrics[f"family.{entry['family']}.roc_auc"] = float(entry["metrics"]["roc_auc"])
    if (params["options"].get("leave_one_family_out") or {}).get("enabled"):
        rows = leave_one_family_out(ctx, version, params, store, blobs, real, generated, device)
        report["leave_one_family_out"] = rows
        aucs = [row["metrics"]["roc_auc"] for row in rows]
        metrics.update(leave_one_out_min_roc_auc=float(min(aucs)), leave_one_out_mean_roc_auc=float(sum(aucs) / len(aucs)))
        for row in rows:
            metrics[f"leave_one_out.{row['family']}.roc_auc"] = float(row["metrics"]["roc_auc"])
    return report, metrics


DRIFT_REFERENCE_MAX_IMAGES = 2000


def drift_reference(model, policy, images: list, calibration: dict, device) -> tuple[int, dict]:
    """(images used, sorted sample per statistic): what drift checks compare the inference log with.

    The statistics are the ones Detect logs (shared.monitoring.drift.STATISTICS), measured the same way:
    the calibrated score of the clean image, its mean luma, its size. Scoring repeats the clean pass of
    `evaluate_detector` (which keeps no per-image scores), on at most DRIFT_REFERENCE_MAX_IMAGES images
    (a seeded sample) so large evaluations pay little for it.
    """
    import numpy as np

    from shared.monitoring.drift import luma, reference_sample
    from shared.training.probability import calibrated_probability
    from shared.training.scoring import image_logits

    if len(images) > DRIFT_REFERENCE_MAX_IMAGES:
        keep = np.random.default_rng(0).choice(len(images), DRIFT_REFERENCE_MAX_IMAGES, replace=False)
        images = [images[i] for i in sorted(keep)]
    logits = image_logits(model, images, policy=policy, device=device)
    stats = {
        "p_generated": [calibrated_probability(float(x), calibration) for x in logits],
        "brightness": [luma(np.asarray(im, dtype=np.float64).reshape(-1, 3).mean(axis=0)) for im in images],
        "width": [im.shape[1] for im in images],
        "height": [im.shape[0] for im in images],
    }
    return len(images), {name: reference_sample(values) for name, values in stats.items()}


def leave_one_family_out(ctx, version, params, store, blobs, real, generated, device) -> list[dict]:
    """Per family of the generated images the version trained on: a detector trained by the version's recipe
    (architecture, config, hyperparameters, calibration) on its dataset version's TRAIN and VAL splits without
    that family, scored on the evaluated split's real images against that family's generated images (clean, and
    both classes as JPEG q75). Checkpointed per family under the job's folder, so a requeued job resumes."""
    from shared.models import load_model
    from shared.models.detector.crops import CropPolicy
    from shared.training.detector import train_detector
    from shared.training.evaluate import evaluate_detector

    crop = CropPolicy.from_config(version["config"]).size
    source = str(version["dataset_version_id"])
    ctx.progress(0, 1, "leave one family out: loading the training images", force=True)
    train_rows, _ = labelled_rows(store, blobs, source, "TRAIN", crop)
    val_rows, _ = labelled_rows(store, blobs, source, "VAL", crop)
    trained = sorted({family_of(row) for _, row in train_rows if row["labels"].get(AUTHENTICITY) == "generated"})
    scored = {family_of(row) for _, row in generated}
    families = [f for f in trained if f in scored]
    if len(trained) < 2:
        raise FailedPrecondition(
            f"leave one family out needs generated images of at least two families (the \"family\" label) in the TRAIN "
            f"split of dataset version {source}, which version {version['id']} trained on; it has {trained or 'none'}. "
            "GenerateZoo adds families"
        )
    if not families:
        raise FailedPrecondition(f"the evaluated split has no generated images of the families trained on ({trained})")
    steps = int(params["options"]["leave_one_family_out"].get("max_steps") or 0)
    steps = steps or int((version.get("metrics") or {}).get("steps") or 0)
    if steps <= 0:
        raise FailedPrecondition(f"version {version['id']} records no training steps; give leave_one_family_out.max_steps")
    hparams = dict(version.get("hyperparameters") or {})
    results = []
    for index, family in enumerate(families):
        train = image_set(train_rows, leave_out=family)
        if train is None:
            raise FailedPrecondition(f"without family {family!r} the TRAIN split of {source} has no generated images left")
        val = image_set(val_rows, leave_out=family)

        def on_step(step, total, _metrics, index=index, family=family):
            done = index * total + step
            ctx.progress(done, total * len(families), f"leave one family out: without {family}, step {step}/{total}")

        result = train_detector(
            train, val, architecture=version["architecture"], overrides=dict(version["config"]), hparams=hparams,
            max_steps=steps, work_dir=ctx.work_dir / "leave-one-out" / family, checkpoint_interval=max(100, steps // 4),
            device=device, seed=index, on_step=on_step,
        )  # fmt: skip
        model = load_model(result.model_dir, device=device)
        fakes = [im for im, row in generated if family_of(row) == family]
        scores = evaluate_detector(model, real, fakes, calibration=result.extra, jpeg_qualities=(75,),
                                   resize_factors=(), blur_sigmas=(), device=device)  # fmt: skip
        jpeg = scores["robustness"][0]["metrics"]["roc_auc"] if scores["robustness"] else float("nan")
        results.append({"family": family, "num_generated": len(fakes), "metrics": scores["metrics"],
                        "jpeg_q75_roc_auc": float(jpeg), "train_steps": steps})  # fmt: skip
        log.info("leave one out: %s held out, ROC-AUC %.3f", family, scores["metrics"]["roc_auc"])
    return results


def evaluate_generator_version(ctx, version, params, store, blobs, device) -> tuple[dict, dict]:
    import numpy as np

    from shared.training.evaluate import evaluate_generator
    from shared.training.generate import generate_images

    size = int(version["config"]["image_size"])
    real, rows = load_split(store, blobs, params["dataset_version_id"], params["split"], size=size,
                            label_filter={AUTHENTICITY: "real"}, limit=params["max_images"])  # fmt: skip
    require(real, "generator evaluation (authenticity=real)")
    opts = params["options"]
    n = int(opts.get("num_samples") or min(len(real), 128))
    sampling = opts.get("sampling") or {}

    def callback(done, total):
        ctx.progress(done, total, f"generated {done}/{total} images")

    images = generate_images(
        model_path(ctx.settings, version), n, sampler=sampling.get("sampler", "ddim"),
        steps=int(sampling.get("steps", 50)), eta=float(sampling.get("eta", 0.0)), seed=int(opts.get("seed", 0)),
        device=device, callback=callback,
    )  # fmt: skip
    generated = [np.asarray(im.convert("RGB"), dtype=np.uint8) for im in images]
    training = _training_tiles(version, params, store, blobs, size, n)
    report = evaluate_generator(generated, real, training=training, seed=int(opts.get("seed", 0)),
                                projections=int(opts.get("swd_projections") or 512))  # fmt: skip
    metrics = {k: float(v) for k, v in report.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for prefix in ("", "reference_"):
        for name, value in (report.get(f"{prefix}baselines") or {}).items():
            metrics[f"{prefix}baseline_{name}_swd"] = float(value)
    return report, metrics


def _training_tiles(version, params, store, blobs, size: int, n: int) -> list | None:
    """Real tiles from the TRAIN split the generator learnt from (as its trainer reads them; up to 4n,
    from which `evaluate_generator` draws n), or None.

    None too when the evaluated split is that TRAIN split itself (the distribution the generator
    learnt, as FID is usually measured). A generator whose dataset version is gone (or was registered
    without one) is still evaluated: without its training tiles the baselines come from the evaluated
    split, and the report says so.
    """
    dataset_version_id = version.get("dataset_version_id")
    if not dataset_version_id:
        return None
    if str(dataset_version_id) == str(params["dataset_version_id"]) and params["split"] == "TRAIN":
        return None  # evaluated on its own training tiles: they are the reference, not a second line
    try:
        images, rows = load_split(store, blobs, str(dataset_version_id), "TRAIN", size=size, limit=4 * n)
    except NotFound as exc:  # a deleted training set only drops one reference line
        log.warning("training tiles of %s unreadable (%s); baselines from the evaluated split", dataset_version_id, exc)
        return None
    return [im for im, row in zip(images, rows) if row["labels"].get(AUTHENTICITY, "real") == "real"] or None


def evaluate_colorizer_version(ctx, version, params, store, blobs, device) -> tuple[dict, dict]:
    from shared.training.evaluate import evaluate_colorizer

    model = _load_model(ctx, version, device)
    size = int(version["config"]["image_size"])
    images, _ = load_split(store, blobs, params["dataset_version_id"], params["split"], size=size,
                           limit=params["max_images"])  # fmt: skip
    require(images, "colorizer evaluation")
    report = evaluate_colorizer(model, images, device=device)
    metrics = {k: float(v) for k, v in report.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return report, metrics


EVALUATORS = {
    "DETECTOR": evaluate_detector_version,
    "GENERATOR": evaluate_generator_version,
    "COLORIZER": evaluate_colorizer_version,
}


@job_task("evaluation.run")
def run_evaluation(ctx: JobContext) -> dict:
    params = ctx.params
    registry = RegistryStore(ctx.store.db)
    store = DatasetStore(ctx.store.db)
    blobs = open_blob_store(ctx.settings)
    version = registry.get_version(params["model_version_id"])
    ctx.progress(0, 1, f"evaluating {version['model_name']} v{version['version']}", force=True)
    report, metrics = EVALUATORS[version["kind"]](ctx, version, params, store, blobs, _device(params["device"]))
    reference = report.pop("_drift_reference", None)
    # Proto JSON field names only: extra keys (e.g. generator baselines) stay in metrics.
    report_for_proto = {k: v for k, v in report.items() if k not in ("baselines", "reference_baselines")}
    row = registry.save_evaluation(
        job_id=ctx.job_id, model_version_id=version["id"], dataset_version_id=params["dataset_version_id"],
        split=params["split"], metrics=metrics, report=report_for_proto,
    )  # fmt: skip
    if reference is not None:
        from shared.monitoring.store import DriftStore

        DriftStore(ctx.store.db).save_reference(row["id"], version["id"], *reference)
    split = params["split"].lower()
    registry.update_metrics(version["id"], {f"{split}_{k}": v for k, v in metrics.items()})
    ctx.progress(1, 1, "evaluation stored")
    return {"evaluation_id": str(row["id"]), "metrics": metrics}
