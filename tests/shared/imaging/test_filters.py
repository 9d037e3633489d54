"""blank_check: blank tiles, nodata padding, and the disabling values."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.imaging import Rejected, blank_check, iter_tiles, nodata_mask

DEFAULTS = {"min_std": 2.0, "max_nodata_fraction": 0.5}


def rejection(image, mask=None, **options) -> Rejected:
    with pytest.raises(Rejected) as caught:
        blank_check(image, mask, **(DEFAULTS | options))
    return caught.value


def test_real_tiles_pass(naip_image):
    for tile in iter_tiles(naip_image, 128, 128):
        blank_check(tile.image, tile.mask, **DEFAULTS)


def test_uniform_tile_is_blank():
    rejected = rejection(Image.new("RGB", (64, 64), (40, 90, 140)))
    assert rejected.reason == "BLANK"
    assert rejected.detail == "std 0.00 < 2.00"


def test_nearly_uniform_noise_is_blank_but_passes_a_lower_threshold():
    rng = np.random.default_rng(0)
    pixels = np.clip(100 + rng.normal(0, 1.0, (64, 64, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    assert rejection(image).reason == "BLANK"
    blank_check(image, min_std=0.5, max_nodata_fraction=0.5)


def test_texture_in_one_channel_is_enough():
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    pixels[..., 0] = 100
    pixels[..., 1] = 100
    pixels[..., 2] = np.tile(np.arange(64, dtype=np.uint8) * 2 + 20, (64, 1))
    blank_check(Image.fromarray(pixels, "RGB"), **DEFAULTS)


def test_black_and_white_padding_counts_as_nodata(naip_image):
    pixels = np.asarray(naip_image.crop((0, 0, 100, 100))).copy()
    pixels[:, :40] = 0
    pixels[:, 40:60] = 255
    rejected = rejection(Image.fromarray(pixels, "RGB"))
    assert rejected.reason == "TOO_MUCH_NODATA"
    assert rejected.detail == "nodata 0.60 > 0.50"
    blank_check(Image.fromarray(pixels, "RGB"), min_std=2.0, max_nodata_fraction=0.7)


def test_mask_counts_as_nodata(naip_image):
    tile = naip_image.crop((0, 0, 100, 100))
    mask = np.zeros((100, 100), dtype=bool)
    mask[:70] = True
    assert rejection(tile, mask).reason == "TOO_MUCH_NODATA"
    assert nodata_mask(tile, mask).mean() >= 0.7


def test_std_ignores_padding():
    # A flat scene next to black padding is still blank: the edge between
    # them is not content.
    pixels = np.full((64, 64, 3), 120, dtype=np.uint8)
    pixels[:, :20] = 0
    assert rejection(Image.fromarray(pixels, "RGB"), max_nodata_fraction=1.0).reason == "BLANK"


def test_all_nodata_tile_is_blank_when_nodata_test_is_disabled():
    assert rejection(Image.new("RGB", (16, 16)), max_nodata_fraction=1.0).reason == "BLANK"


def test_disabling_values():
    flat_black = Image.new("RGB", (16, 16))
    blank_check(flat_black, min_std=-1.0, max_nodata_fraction=1.0)


def test_negative_nodata_fraction_is_an_error():
    with pytest.raises(ValueError):
        blank_check(Image.new("RGB", (4, 4)), min_std=1.0, max_nodata_fraction=-0.1)


@pytest.mark.parametrize("seed", range(4))
def test_std_and_nodata_match_a_direct_numpy_computation(seed):
    # The check is computed from packed pixel words and PIL histograms; it must decide exactly as
    # the plain definition does: nodata = pure black/white or masked, std over the other pixels.
    rng = np.random.default_rng(seed)
    pixels = rng.integers(100, 104 + 4 * seed, size=(48, 40, 3), dtype=np.uint8)
    pixels[rng.random((48, 40)) < 0.2] = 0
    pixels[rng.random((48, 40)) < 0.1] = 255
    mask = rng.random((48, 40)) < 0.1
    image = Image.fromarray(pixels, "RGB")
    expected_nodata = (pixels.max(axis=2) == 0) | (pixels.min(axis=2) == 255) | mask
    assert np.array_equal(nodata_mask(image, mask), expected_nodata)
    std = pixels[~expected_nodata].std(axis=0).max()
    blank_check(image, mask, min_std=std - 1e-6, max_nodata_fraction=1.0)
    assert rejection(image, mask, min_std=std + 1e-6, max_nodata_fraction=1.0).reason == "BLANK"
