"""The crop policy: windows at native scale that cover the image, a seeded cap, refusal below one crop."""

from __future__ import annotations

import numpy as np
import pytest

from shared.models import create_model
from shared.models.detector.crops import CropPolicy, ImageTooSmall, crop_heatmap, logit, sigmoid


def covered(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    for t, l, b, r in boxes:
        mask[t:b, l:r] = True
    return mask


@pytest.mark.parametrize("shape", [(64, 64), (65, 64), (100, 237), (723, 934)])
def test_windows_cover_the_image_at_native_scale(shape):
    policy = CropPolicy(size=64, stride=32, max_crops=10_000)
    boxes = policy.boxes(*shape)
    assert (boxes[:, 2] - boxes[:, 0] == 64).all() and (boxes[:, 3] - boxes[:, 1] == 64).all()
    assert boxes[:, :2].min() == 0 and boxes[:, 2].max() == shape[0] and boxes[:, 3].max() == shape[1]
    assert covered(boxes, *shape).all()
    # Neighbouring windows overlap by at least size - stride.
    starts = np.unique(boxes[:, 1])
    assert (np.diff(starts) <= 32).all()


def test_a_large_image_gets_a_seeded_sample_of_its_windows():
    policy = CropPolicy(size=64, stride=32, max_crops=96)
    a, b = policy.boxes(1024, 1024), policy.boxes(1024, 1024)
    assert len(a) == 96 and np.array_equal(a, b)  # the same windows for every image of that size
    assert not np.array_equal(a, policy.boxes(1024, 1000)[: len(a)])
    image = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    crops, boxes = policy.crops(image)
    assert crops.shape == (96, 64, 64, 3)
    t, l, _, _ = boxes[5]
    assert np.array_equal(crops[5], image[t : t + 64, l : l + 64])


@pytest.mark.parametrize("shape", [(1, 1), (63, 500), (500, 63)])
def test_an_image_smaller_than_one_crop_is_refused_naming_the_minimum(shape):
    with pytest.raises(ImageTooSmall, match="at least 64x64"):
        CropPolicy(size=64, stride=32).boxes(*shape)


def test_aggregation_and_the_policy_of_a_model_version():
    logits = np.array([-2.0, 0.0, 5.0, 1e9])
    assert CropPolicy(64, 32).aggregate(logits) == pytest.approx((-2 + 0 + 5 + 16) / 4)  # clipped at +/-16
    assert CropPolicy(64, 32, aggregation="max_logit").aggregate(logits) == 16.0
    model = create_model("detector-npr", crop_stride=16, max_crops=10)
    assert CropPolicy.from_config(model.config) == CropPolicy(64, 16, 10, "mean_logit")
    # A version registered before crops existed gets the defaults.
    assert CropPolicy.from_config({"input_size": 32}) == CropPolicy(32, 16)
    with pytest.raises(ValueError, match="aggregation"):
        create_model("detector-npr", aggregation="median")
    assert np.allclose(sigmoid(logit([0.01, 0.5, 0.99])), [0.01, 0.5, 0.99])


def test_the_heatmap_keeps_the_image_aspect_and_shows_where_the_high_crops_are():
    policy = CropPolicy(size=64, stride=64, max_crops=10_000)
    boxes = policy.boxes(256, 512)
    p = np.where(boxes[:, 1] >= 256, 0.9, 0.1)  # the right half scored "generated"
    heat = crop_heatmap(boxes, p, 256, 512, heatmap_side=128)
    assert heat.shape == (64, 128)
    assert np.allclose(heat[:, :64], 0.1) and np.allclose(heat[:, 64:], 0.9)
    assert crop_heatmap(boxes, p, 256, 512).shape == (128, 256)
