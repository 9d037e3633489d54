"""The fake remote serves real image bytes and injects the faults tests ask for."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.fakes.remote import NAIP_SCENES, FakeRemote, lonlat_to_tile, tile_bounds


@pytest.fixture
def remote():
    with FakeRemote() as r:
        yield r


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_tiles_are_real_image_crops(remote):
    layer = remote.tile_layers[0]
    tiles = []
    for y in range(layer.y0, layer.y1 + 1):
        for x in range(layer.x0, layer.x1 + 1):
            response = httpx.get(remote.tile_url_template.format(z=layer.z, x=x, y=y))
            assert response.status_code == 200 and response.headers["content-type"] == "image/png"
            image = decode(response.content)
            assert (image.format, image.size, image.mode) == ("PNG", (256, 256), "RGB")
            pixels = np.asarray(image, dtype=np.float32)
            assert pixels.std() > 5, "a real scene, not a flat colour"
            tiles.append(response.content)
    assert len(set(tiles)) == len(tiles) == 6
    # The first tile is exactly the scene's top-left corner.
    scene = Image.open(NAIP_SCENES[0]).convert("RGB")
    assert np.array_equal(np.asarray(decode(tiles[0])), np.asarray(scene.crop((0, 0, 256, 256))))


def test_tiles_outside_the_range_are_404(remote):
    layer = remote.tile_layers[0]
    assert httpx.get(remote.tile_url_template.format(z=layer.z, x=layer.x1 + 1, y=layer.y0)).status_code == 404
    assert httpx.get(remote.tile_url_template.format(z=layer.z + 1, x=layer.x0, y=layer.y0)).status_code == 404


def test_several_scenes_cover_a_bigger_range():
    with FakeRemote(tile_size=128) as remote:
        remote.add_tile_layer(16, 0, 0, 13, 4, scenes=NAIP_SCENES[:2])  # 7x5 tiles per scene, two side by side
        left = decode(httpx.get(remote.tile_url_template.format(z=16, x=0, y=0)).content)
        right = decode(httpx.get(remote.tile_url_template.format(z=16, x=7, y=0)).content)
        assert left.size == right.size == (128, 128)
        second = Image.open(NAIP_SCENES[1]).convert("RGB").crop((0, 0, 128, 128))
        assert np.array_equal(np.asarray(right), np.asarray(second))


def test_tile_math_round_trips():
    x, y = lonlat_to_tile(-99.155, 47.01, 14)
    west, south, east, north = tile_bounds(x, y, 14)
    assert west <= -99.155 <= east and south <= 47.01 <= north


def test_photos_broken_bytes_aliases_and_counts(remote):
    photo = remote.add_photo(7, 59.93, 30.35, 1910)
    other = remote.add_photo(13, 59.93, 30.36, 1911)
    url = remote.url_for(f"/_p/d/{photo.file}")
    good = httpx.get(url).content
    assert decode(good).format == "JPEG"
    assert good != httpx.get(remote.url_for(f"/_p/d/{other.file}")).content

    remote.alias("/files/copy.jpg", f"/_p/d/{photo.file}")
    assert httpx.get(remote.url_for("/files/copy.jpg")).content == good

    remote.broken(r"^/_p/d/")
    truncated = httpx.get(url).content
    assert 0 < len(truncated) < len(good)
    with pytest.raises(OSError):
        decode(truncated)
    assert remote.count(r"^/_p/d/") == 3


def test_failures_run_out_after_their_count(remote):
    remote.add_file("x", b"payload")
    remote.fail(r"^/files/x$", status=429, times=2, retry_after=1)
    first = httpx.get(remote.url_for("/files/x"))
    assert (first.status_code, first.headers["retry-after"]) == (429, "1")
    assert httpx.get(remote.url_for("/files/x")).status_code == 429
    assert httpx.get(remote.url_for("/files/x")).content == b"payload"
    assert remote.count(r"^/files/x$") == 3
