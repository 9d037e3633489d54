"""Training jobs: load a dataset version, train, checkpoint, register the version.

Training runs through shared.training, which checkpoints periodically and
resumes from the newest checkpoint in the job's work folder, so a job whose
worker died continues where it stopped, and a cancelled job saves its state
first. `resume_from_job_id` copies another job's checkpoints in before the
first attempt. The finished model is copied into the registry's folder and
recorded as a new version of the model, once per job. With an object store
(TERRAFAKE_STORAGE_URL), checkpoints are mirrored to it as they are written and
the model goes to `models/<version id>/` there, so an attempt, a resumed job or
a reader on another node finds them (workers.checkpoints, shared.storage.artifacts).
"""

from __future__ import annotations

import logging
import shutil

from shared.datasets.loader import AUTHENTICITY, authenticity_labelled, load_split, require
from shared.datasets.store import DatasetStore
from shared.registry.store import RegistryStore
from shared.storage import BlobStore, is_remote, open_blob_store, open_object_store
from shared.storage.artifacts import publish_model
from workers.checkpoints import CheckpointSync
from workers.runtime import JobContext, job_task

log = logging.getLogger("terrafake.worker")


def _device(preference: str):
    from shared.models import pick_device

    return pick_device(preference or "auto")


def _image_size(architecture: str, overrides: dict, key: str) -> int:
    from shared.models.registry import get_spec

    config = {**get_spec(architecture).config, **overrides}
    return int(config[key])


def _checkpoint_sync(ctx: JobContext) -> CheckpointSync | None:
    if not is_remote(ctx.settings):
        return None
    return CheckpointSync(open_object_store(ctx.settings), ctx.job_id, ctx.work_dir)


def _copy_checkpoints(ctx: JobContext, source_job_id: str, sync: CheckpointSync | None) -> None:
    src = ctx.settings.home / "jobs" / source_job_id / "checkpoints"
    dst = ctx.work_dir / "checkpoints"
    if src.is_dir() and not dst.exists():
        shutil.copytree(src, dst)
    elif sync is not None and not dst.exists():  # the other job ran on another node
        sync.pull(source_job_id)


def _on_step(ctx: JobContext, noun: str):
    def on_step(step: int, total: int, metrics: dict) -> None:
        loss = metrics.get("loss")
        text = f"step {step}/{total}" + (f", loss {loss:.4f}" if loss is not None else "")
        ctx.progress(step, total, text, {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))})

    return on_step


def _register(ctx: JobContext, result, params: dict) -> dict:
    registry = RegistryStore(ctx.store.db)
    import uuid

    version_id = uuid.uuid5(uuid.NAMESPACE_URL, f"terrafake-training-job:{ctx.job_id}")
    artifacts = publish_model(ctx.settings, version_id, result.model_dir)
    calibration = None
    if result.extra and "threshold" in result.extra:
        calibration = {**result.extra, "dataset_version_id": params["dataset_version_id"]}
    row = registry.register(
        model_name=params["model_name"],
        kind=params["kind"],
        architecture=result.architecture,
        training_job_id=ctx.job_id,
        dataset_version_id=params["dataset_version_id"],
        config=result.config,
        hyperparameters=result.hyperparameters,
        metrics=result.metrics,
        history=result.history,
        artifacts=artifacts,
        calibration=calibration,
        description=params.get("description", ""),
        version_id=version_id,
    )
    return {
        "model_version_id": str(row["id"]),
        "model_name": row["model_name"],
        "version": row["version"],
        "metrics": result.metrics,
    }


def _common(ctx: JobContext) -> tuple[dict, DatasetStore, BlobStore]:
    params = ctx.params
    sync = _checkpoint_sync(ctx)
    if sync is not None:
        sync.pull()  # an earlier attempt of this job ran on another node
    if params.get("resume_from_job_id"):
        _copy_checkpoints(ctx, params["resume_from_job_id"], sync)
    return params, DatasetStore(ctx.store.db), open_blob_store(ctx.settings)


def _train(ctx: JobContext, params: dict, train, *data):
    """`train(*data, ...)` with the job's settings; with an object store, every checkpoint it writes is
    uploaded, the last one (written when it finishes or is cancelled) too."""
    kwargs = _train_kwargs(ctx, params)
    sync = _checkpoint_sync(ctx)
    if sync is None:
        return train(*data, **kwargs)
    kwargs["on_step"] = sync.wrap(kwargs["on_step"])
    try:
        result = train(*data, **kwargs)
    except BaseException:
        try:
            sync.push()
        except Exception as exc:  # the job's own error is the one to report
            log.warning("checkpoints of job %s not uploaded: %s", ctx.job_id, exc)
        raise
    sync.push()
    return result


def _train_kwargs(ctx: JobContext, params: dict) -> dict:
    return dict(
        architecture=params["architecture"],
        overrides=params["overrides"],
        hparams=params["hyperparameters"],
        max_steps=params["max_steps"],
        work_dir=ctx.work_dir,
        checkpoint_interval=params["checkpoint_interval"],
        device=_device(params["device"]),
        mixed_precision=params["mixed_precision"],
        seed=int(params.get("seed", 0)),
        on_step=_on_step(ctx, "step"),
    )


@job_task("training.generator")
def train_generator(ctx: JobContext) -> dict:
    from shared.training.data import ImageSet
    from shared.training.generators import generator_trainer

    params, store, blobs = _common(ctx)
    size = _image_size(params["architecture"], params["overrides"], "image_size")
    ctx.progress(0, params["max_steps"], "loading training images", force=True)
    # The generator learns real imagery only.
    images, _ = load_split(store, blobs, params["dataset_version_id"], "TRAIN", size=size)
    real = [im for im, row in zip(images, _) if row["labels"].get(AUTHENTICITY, "real") == "real"]
    require(real, "generator training (TRAIN split, authenticity=real)")
    # A GAN architecture trains adversarially (train_gan), a DDPM U-Net with the diffusion loss (train_ddpm).
    result = _train(ctx, params, generator_trainer(params["architecture"]), ImageSet(real))
    return _register(ctx, result, params)


@job_task("training.detector")
def train_detector_job(ctx: JobContext) -> dict:
    from shared.training.detector import train_detector

    params, store, blobs = _common(ctx)
    crop = _image_size(params["architecture"], params["overrides"], "input_size")
    ctx.progress(0, params["max_steps"], "loading training images", force=True)
    # At their own size: the detector crops at native scale and never resizes an image.
    train, small_train = _labelled_set(store, blobs, params["dataset_version_id"], "TRAIN", crop)
    if train is None:
        require([], f"detector training: the TRAIN split needs images labelled authenticity=real and =generated, "
                    f"at least {crop}x{crop} pixels")  # fmt: skip
    val, small_val = _labelled_set(store, blobs, params["dataset_version_id"], "VAL", crop)
    result = _train(ctx, params, train_detector, train, val)
    # Images smaller than one crop cannot be judged by this detector: left out, and counted.
    result.metrics.update(skipped_too_small_train=float(small_train), skipped_too_small_val=float(small_val))
    return _register(ctx, result, params)


def _labelled_set(store, blobs, version_id: str, split: str, crop: int):
    """(the split's real (0) and generated (1) images of at least crop x crop pixels at native size, grouped by
    scene, or None without both classes; how many labelled images were smaller than a crop)."""
    kept, small = labelled_rows(store, blobs, version_id, split, crop)
    return image_set(kept), small


def labelled_rows(store, blobs, version_id: str, split: str, crop: int) -> tuple[list[tuple], int]:
    """([(image, row)] of the split's images labelled real or generated and at least crop x crop pixels at
    native size; how many labelled images were smaller)."""
    images, rows = load_split(store, blobs, version_id, split)
    labelled_rows = [(im, row) for im, row in zip(images, rows) if row["labels"].get(AUTHENTICITY) in ("real", "generated")]
    kept = [(im, row) for im, row in labelled_rows if min(im.shape[:2]) >= crop]
    return kept, len(labelled_rows) - len(kept)


def family_of(row: dict) -> str:
    """A generated image's generator family (its "family" label), "unlabelled" without one."""
    return row["labels"].get("family") or "unlabelled"


def image_set(kept: list[tuple], *, leave_out: str | None = None):
    """An ImageSet (0 real, 1 generated, grouped by scene) of `labelled_rows`, without the generated images of
    family `leave_out`; None without both classes."""
    from shared.training.data import ImageSet

    if leave_out is not None:
        kept = [(im, row) for im, row in kept
                if row["labels"].get(AUTHENTICITY) == "real" or family_of(row) != leave_out]  # fmt: skip
    labelled, labels = authenticity_labelled([im for im, _ in kept], [row for _, row in kept])
    if len(set(labels)) < 2:
        return None
    return ImageSet(labelled, labels, [row["origin"] for _, row in kept], mixed_sizes=True)


@job_task("training.colorizer")
def train_colorizer_job(ctx: JobContext) -> dict:
    from shared.training.colorizer import train_colorizer
    from shared.training.data import ImageSet

    params, store, blobs = _common(ctx)
    size = _image_size(params["architecture"], params["overrides"], "image_size")
    ctx.progress(0, params["max_steps"], "loading training images", force=True)
    images, _ = load_split(store, blobs, params["dataset_version_id"], "TRAIN", size=size)
    require(images, "colorizer training (TRAIN split)")
    result = _train(ctx, params, train_colorizer, ImageSet(images))
    return _register(ctx, result, params)
