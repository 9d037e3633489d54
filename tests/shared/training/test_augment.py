"""ColorJitter: off by default without drawing, seeded, within its factor range, both directions."""

import numpy as np
import pytest
import torch

from shared.training.augment import ColorJitter


def tiles(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(40, 200, size=(16, 16, 3), dtype=np.uint8) for _ in range(n)]


def test_no_jitter_returns_the_tiles_and_draws_nothing():
    g = torch.Generator().manual_seed(0)
    images = tiles()
    assert ColorJitter()(images, g) is images
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())


def test_brightness_scales_each_tile_by_one_factor_in_range():
    images = tiles()
    out = ColorJitter(brightness=0.2)(images, torch.Generator().manual_seed(1))
    ratios = [o.astype(float).sum() / i.astype(float).sum() for i, o in zip(images, out)]
    assert all(0.8 - 0.01 <= r <= 1.2 + 0.01 for r in ratios)
    assert min(ratios) < 0.97 and max(ratios) > 1.03  # both brighter and darker occur
    again = ColorJitter(brightness=0.2)(images, torch.Generator().manual_seed(1))
    assert all(np.array_equal(a, b) for a, b in zip(out, again))


def test_contrast_and_saturation_keep_the_tile_mean_up_to_rounding():
    image = tiles(1)[0]
    out = ColorJitter(contrast=0.5, saturation=0.5)(tiles(64, 0)[:1] * 64, torch.Generator().manual_seed(2))
    for o in out:
        assert abs(o.astype(float).mean() - image.astype(float).mean()) < 3.0  # rounding and clipping only
        assert o.dtype == np.uint8 and o.shape == image.shape
    with pytest.raises(ValueError, match="saturation"):
        ColorJitter(saturation=1.0)
