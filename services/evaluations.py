"""Queueing evaluation jobs, shared by TrainingService.StartEvaluation and DetectionService.EvaluateDetector."""

from __future__ import annotations

from services.context import ServiceContext
from shared.errors import FailedPrecondition, InvalidArgument
from terrafake.ingestion.v1 import dataset_pb2


def submit_evaluation(ctx: ServiceContext, version: dict, request, options: dict, device: str) -> dict:
    """An `evaluation.run` job for a registered model version on `request`'s dataset version and split.

    `request` carries dataset_version_id, split, max_images and idempotency_key. An unspecified split
    means TEST when the version has one, else every image. Returns the job row.
    """
    dataset_version = ctx.datasets.get_version(request.dataset_version_id)
    split = dataset_pb2.Split.Name(request.split).removeprefix("SPLIT_")
    if split == "UNSPECIFIED":
        split = "TEST" if dataset_version["test_count"] else "UNSPECIFIED"
    if request.max_images < 0:
        raise InvalidArgument("max_images must not be negative")
    params = {
        "model_version_id": str(version["id"]),
        "kind": version["kind"],
        "dataset_version_id": str(dataset_version["id"]),
        "split": split,
        "max_images": request.max_images,
        "options": options,
        "device": device,
    }
    return ctx.submit("evaluation.run", params, idempotency_key=request.idempotency_key)


def leave_one_out(version: dict, message) -> dict:
    """The checked leave-one-family-out options of a LeaveOneOutOptions message, as job params."""
    if not message.enabled:
        return {"enabled": False, "max_steps": 0}
    if message.max_steps < 0:
        raise InvalidArgument("leave_one_family_out.max_steps must not be negative (0 uses the version's own steps)")
    if version["kind"] != "DETECTOR":
        raise InvalidArgument(f"leave_one_family_out is for detectors; version {version['id']} is a {version['kind'].lower()}")
    if not version.get("dataset_version_id"):
        raise FailedPrecondition(
            f"version {version['id']} records no dataset version it was trained on, so no family can be left out "
            "of its training; train it with StartTraining first"
        )
    return {"enabled": True, "max_steps": int(message.max_steps)}
