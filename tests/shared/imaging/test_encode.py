"""encode_png: the same pixels always give the same bytes."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from shared.imaging import encode_png
from tests.shared.imaging.assets import CHELSEA_PNG


def test_same_pixels_same_bytes_regardless_of_metadata():
    with Image.open(CHELSEA_PNG) as original:  # carries an ICC profile, dpi and XMP
        original.load()
        assert "icc_profile" in original.info
        stripped = Image.fromarray(np.asarray(original))
        first = encode_png(original)
        assert encode_png(original) == first
        assert encode_png(stripped) == first


def test_no_metadata_chunks_are_written():
    image = Image.new("RGB", (8, 8), (1, 2, 3))
    # Info Pillow's PNG writer would otherwise turn into tRNS/iCCP chunks.
    image.info["transparency"] = (1, 2, 3)
    image.info["icc_profile"] = b"not really a profile"
    data = encode_png(image)
    chunks = []
    position = 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunks.append(data[position + 4 : position + 8])
        position += 12 + length
    assert chunks == [b"IHDR", b"IDAT", b"IEND"]


def test_pixels_round_trip(naip_image):
    data = encode_png(naip_image)
    with Image.open(io.BytesIO(data)) as decoded:
        assert decoded.mode == "RGB"
        assert np.array_equal(np.asarray(decoded), np.asarray(naip_image))
    assert hashlib.sha256(encode_png(naip_image.copy())).digest() == hashlib.sha256(data).digest()


def test_other_modes_become_rgb():
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 9, 8, 7] + [0] * 762)
    with Image.open(io.BytesIO(encode_png(palette))) as decoded:
        assert decoded.mode == "RGB" and decoded.getpixel((0, 0)) == (9, 8, 7)


def test_every_kept_mode_round_trips_exactly():
    # Random pixels are the worst case for the Average filter's wrap-around arithmetic; 300 rows
    # cross the encoder's 256-row block boundary, where the row above comes from the block before.
    rng = np.random.default_rng(7)
    for mode, channels in (("L", 1), ("LA", 2), ("RGB", 3), ("RGBA", 4)):
        for height, width in ((1, 1), (300, 7), (3, 513)):
            shape = (height, width) if channels == 1 else (height, width, channels)
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            pixels[:2] = 255  # saturated neighbours: their sum overflows a byte
            with Image.open(io.BytesIO(encode_png(Image.fromarray(pixels, mode)))) as decoded:
                assert decoded.mode == mode and decoded.size == (width, height)
                assert np.array_equal(np.asarray(decoded), pixels), (mode, height, width)


def test_smaller_than_pillows_fastest_setting(naip_image):
    buffer = io.BytesIO()
    naip_image.save(buffer, format="PNG", compress_level=1)
    assert len(encode_png(naip_image)) < len(buffer.getvalue())


def test_an_empty_image_is_refused():
    with pytest.raises(ValueError, match="empty 0x5"):
        encode_png(Image.new("RGB", (0, 5)))
