"""encode_png: the same pixels always give the same bytes."""

from __future__ import annotations

import hashlib
import io

import numpy as np
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
