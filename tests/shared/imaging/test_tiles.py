"""iter_tiles, count_tiles and the square resizers."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared.imaging import Rejected, count_tiles, iter_tiles, resize_square, resize_square_mask


def test_non_overlapping_tiles_of_a_naip_scene(naip_image):
    assert naip_image.size == (934, 723)
    tiles = list(iter_tiles(naip_image, 64, 64))
    assert len(tiles) == 14 * 11 == count_tiles(934, 723, 64, 64)
    assert [(t.x, t.y) for t in tiles[:3]] == [(0, 0), (64, 0), (128, 0)]
    assert (tiles[14].x, tiles[14].y) == (0, 64)  # row-major
    assert (tiles[-1].x, tiles[-1].y) == (13 * 64, 10 * 64)
    assert all(t.image.size == (64, 64) and t.image.mode == "RGB" and t.mask is None for t in tiles)
    expected = np.asarray(naip_image)[64:128, 192:256]
    assert np.array_equal(np.asarray(tiles[14 + 3].image), expected)


def test_overlapping_tiles(naip_image):
    tiles = list(iter_tiles(naip_image, 256, 128))
    # x origins 0..640 step 128 (6), y origins 0..384 (4): the last whole tile wins.
    assert len(tiles) == 6 * 4 == count_tiles(934, 723, 256, 128)
    assert {t.x for t in tiles} == {0, 128, 256, 384, 512, 640}


def test_mask_is_cropped_with_each_tile():
    image = Image.new("RGB", (8, 4))
    mask = np.zeros((4, 8), dtype=bool)
    mask[:, 6:] = True
    tiles = list(iter_tiles(image, 4, 2, mask=mask))
    assert [t.x for t in tiles] == [0, 2, 4]
    assert [int(t.mask.sum()) for t in tiles] == [0, 0, 8]


def test_image_smaller_than_a_tile_is_too_small():
    with pytest.raises(Rejected) as caught:
        iter_tiles(Image.new("RGB", (300, 100)), 128, 128)  # raised on call, not on iteration
    assert caught.value.reason == "TOO_SMALL"
    assert caught.value.detail == "300x100 < 128x128 tile"
    assert count_tiles(300, 100, 128, 128) == 0


@pytest.mark.parametrize(("size", "stride"), [(0, 1), (64, 0), (64, 65)])
def test_bad_tiling_arguments(size, stride):
    with pytest.raises(ValueError):
        iter_tiles(Image.new("RGB", (100, 100)), size, stride)


def test_mismatched_mask_is_refused():
    with pytest.raises(ValueError, match="mask shape"):
        iter_tiles(Image.new("RGB", (10, 10)), 5, 5, mask=np.zeros((5, 5), dtype=bool))


def test_resize_square_centre_crops_then_box_resamples():
    image = Image.new("RGB", (300, 100), (255, 0, 0))
    image.paste((0, 0, 255), (100, 0, 200, 100))  # only the centre square is blue
    resized = resize_square(image, 50)
    assert resized.size == (50, 50)
    assert (np.asarray(resized) == (0, 0, 255)).all()


def test_resize_square_box_filter_averages(naip_image):
    square = naip_image.crop((0, 0, 512, 512))
    resized = resize_square(square, 128)
    # Area resampling by an integer factor is an exact block mean.
    blocks = np.asarray(square, dtype=np.float64).reshape(128, 4, 128, 4, 3).mean(axis=(1, 3))
    assert np.abs(np.asarray(resized, dtype=np.float64) - blocks).max() <= 1
    assert resize_square(square, 512) is square


def test_resize_square_mask_follows_the_image():
    mask = np.zeros((100, 300), dtype=bool)
    mask[:, :175] = True  # in the centre square (x 100..200), the left 3/4 is nodata
    resized = resize_square_mask(mask, 4)
    assert resized.shape == (4, 4)
    assert resized[:, :3].all() and not resized[:, 3].any()
