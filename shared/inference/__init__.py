"""Inference backends for detection and generation: "local" (PyTorch in process) or "triton".

Both take the same inputs (uint8 images, seeds) and give the same outputs
within float tolerance, so the services do not care which one runs.
"""

from shared.inference.base import InferenceBackend, heatmap_png, label_for
from shared.inference.judge import Judgement, check_image, judge_images
from shared.inference.local import LocalBackend
from shared.inference.triton import TritonBackend


def local_backend(settings, device: str = "auto") -> LocalBackend:
    """A LocalBackend that reads weights wherever `settings` keeps them (local disk or the object store)."""
    from shared.storage.artifacts import model_path

    return LocalBackend(device, weights=lambda version: model_path(settings, version))


def create_backend(settings) -> InferenceBackend:
    if settings.inference_backend == "local":
        return local_backend(settings)
    return TritonBackend(settings.triton_url)


__all__ = [
    "InferenceBackend",
    "Judgement",
    "LocalBackend",
    "TritonBackend",
    "check_image",
    "create_backend",
    "heatmap_png",
    "judge_images",
    "label_for",
    "local_backend",
]
