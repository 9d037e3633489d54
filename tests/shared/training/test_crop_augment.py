"""Detector training crops: native-scale windows of any image size, seeded and resumable, degradations applied."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.training.crop_augment import CropAugment
from tests.shared.training.conftest import crops


def test_crops_of_mixed_sizes_are_seeded_and_of_the_crop_size():
    images = crops(96, per_tile=1, seed=1)[:4] + crops(40, per_tile=1, seed=2)[:4]
    augment = CropAugment(32, resize_prob=0.5, blur_prob=0.5, jpeg_prob=0.5)
    a = augment(images, torch.Generator().manual_seed(7))
    b = augment(images, torch.Generator().manual_seed(7))
    c = augment(images, torch.Generator().manual_seed(8))
    assert all(x.shape == (32, 32, 3) and x.dtype == np.uint8 for x in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))


def test_without_degradations_a_crop_is_a_window_of_the_image_itself():
    image = crops(80, per_tile=1, seed=3)[0]
    plain = CropAugment(32)
    (crop,) = plain([image], torch.Generator().manual_seed(0))
    windows = [image[y : y + 32, x : x + 32] for y in range(49) for x in range(49)]
    rotations = [np.rot90(np.flip(w, axis) if axis is not None else w, k) for w in windows for axis in (None, 0, 1)
                 for k in range(4)]  # fmt: skip
    assert any(np.array_equal(crop, r) for r in rotations)


def test_resizing_never_leaves_an_image_smaller_than_a_crop():
    small = crops(33, per_tile=1, seed=4)[:6]
    out = CropAugment(32, resize_prob=1.0, resize_min=0.5, resize_max=0.5)(small, torch.Generator().manual_seed(0))
    assert all(x.shape == (32, 32, 3) for x in out)
    with pytest.raises(ValueError, match="cannot give a 32-px crop"):
        CropAugment(32)([np.zeros((20, 50, 3), np.uint8)], torch.Generator())
