"""image_grid, nearest-neighbour upscaling and PNG data URIs."""

from __future__ import annotations

import pytest
from PIL import Image

from shared.report import image_grid, png_data_uri, upscale_nearest
from shared.report.images import display_scale
from tests.shared.report.example import naip_tiles
from tests.shared.report.parse import decode_data_uri


def test_grid_places_tiles_row_by_row():
    tiles = naip_tiles(1, 5, size=16)
    grid = image_grid(tiles, columns=3, scale=2, pad=1)
    assert grid.size == (3 * 32 + 4, 2 * 32 + 3)
    # Fifth tile: second row, second column.
    x, y = 1 + 1 * (32 + 1), 1 + 1 * (32 + 1)
    assert grid.crop((x, y, x + 32, y + 32)).tobytes() == upscale_nearest(tiles[4], 2).tobytes()
    # The unused last cell and the padding stay background.
    assert grid.getpixel((grid.width - 2, grid.height - 2)) == (255, 255, 255)
    assert grid.getpixel((0, 0)) == (255, 255, 255)


def test_grid_centres_smaller_images_and_caps_columns():
    big, small = Image.new("RGB", (10, 10), (255, 0, 0)), Image.new("RGB", (4, 4), (0, 0, 255))
    grid = image_grid([big, small], columns=8, pad=0)
    assert grid.size == (20, 10)
    assert grid.getpixel((10 + 3, 3)) == (0, 0, 255)
    assert grid.getpixel((10, 0)) == (255, 255, 255)


@pytest.mark.parametrize("kwargs", [{"images": [], "columns": 2}, {"columns": 0}, {"columns": 1, "pad": -1}])
def test_grid_rejects_bad_arguments(kwargs):
    kwargs.setdefault("images", [Image.new("RGB", (4, 4))])
    with pytest.raises(ValueError):
        image_grid(**kwargs)


def test_upscale_is_nearest_neighbour():
    image = Image.new("RGB", (2, 1))
    image.putpixel((0, 0), (10, 20, 30))
    image.putpixel((1, 0), (200, 100, 0))
    big = upscale_nearest(image, 4)
    assert big.size == (8, 4)
    assert {big.getpixel((x, y)) for x in range(4) for y in range(4)} == {(10, 20, 30)}
    assert upscale_nearest(image, 1) is image
    with pytest.raises(ValueError):
        upscale_nearest(image, 0)


@pytest.mark.parametrize(("size", "scale"), [((32, 32), 3), ((64, 64), 2), ((96, 96), 1), ((400, 20), 5), ((512, 512), 1)])
def test_display_scale_reaches_96_px(size, scale):
    assert display_scale(size) == scale


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "F", "I", "P", "1", "CMYK"])
def test_data_uri_round_trips_any_mode(mode):
    image = Image.new(mode, (7, 5))
    decoded = decode_data_uri(png_data_uri(image))
    assert decoded.size == (7, 5)
    assert decoded.mode in ("RGB", "RGBA", "L", "LA")
