"""Queueing evaluation jobs, shared by TrainingService.StartEvaluation and DetectionService.EvaluateDetector."""

from __future__ import annotations

from services.context import ServiceContext
from shared.errors import InvalidArgument
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
