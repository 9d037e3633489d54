"""Loads a dataset version's images into memory for training and evaluation."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from shared.datasets.store import DatasetStore
from shared.errors import FailedPrecondition
from shared.imaging import resize_square
from shared.storage import BlobStore


def load_split(
    store: DatasetStore,
    blobs: BlobStore,
    version_id: str,
    split: str,
    *,
    size: int | None = None,
    label_filter: dict | None = None,
    limit: int = 0,
) -> tuple[list[np.ndarray], list[dict]]:
    """(uint8 HxWx3 arrays, image rows) of one split ("" or UNSPECIFIED for all), resized square to `size`."""
    split = "" if split in ("", "UNSPECIFIED") else split
    images, rows, token = [], [], ""
    while True:
        page, token, _ = store.list_images(
            version_id=version_id, split=split, label_filter=label_filter or {}, page_size=500, page_token=token
        )
        for row in page:
            with Image.open(io.BytesIO(blobs.get(row["id"]))) as im:
                im = im.convert("RGB")
                if size and im.size != (size, size):
                    im = resize_square(im, size)
                images.append(np.asarray(im, dtype=np.uint8).copy())
            rows.append(row)
            if limit and len(images) >= limit:
                return images, rows
        if not token:
            return images, rows


AUTHENTICITY = "authenticity"  # the label detectors learn from: "real" or "generated"


def authenticity_labelled(images: list, rows: list[dict]) -> tuple[list, list[int]]:
    """The images labelled authenticity=real (0) or =generated (1), with those labels; others are left out."""
    out_images, labels = [], []
    for im, row in zip(images, rows):
        value = row["labels"].get(AUTHENTICITY)
        if value in ("real", "generated"):
            out_images.append(im)
            labels.append(1 if value == "generated" else 0)
    return out_images, labels


def require(images: list, what: str) -> None:
    if not images:
        raise FailedPrecondition(f"no images for {what}; check the dataset version's splits and labels")
