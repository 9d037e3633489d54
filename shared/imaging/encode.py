"""Encode stored images as PNG bytes that depend only on the pixels.

Exact duplicates are found by the sha256 of the stored bytes, so the same
pixels must always give the same bytes: no timestamps, no text chunks, no ICC
profile or EXIF carried over from the source, one fixed compression level.
(Bytes can still differ between zlib builds; within one deployment they are
stable.)
"""

from __future__ import annotations

import io

from PIL import Image

# zlib level 1: encoding is most of an ingest job's per-tile CPU time, and level 1
# is about 4x faster than 6 for files ~12% larger (bench/RESULTS.md). It must
# never vary: the sha256 of these bytes is the image id used for deduplication.
_COMPRESS_LEVEL = 1
_KEPT_MODES = frozenset({"L", "LA", "RGB", "RGBA"})


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes of `image`'s pixels; modes other than L/LA/RGB/RGBA become RGB."""
    if image.mode not in _KEPT_MODES:
        image = image.convert("RGB")
    # A fresh image from raw pixels carries none of the source's info dict
    # (icc_profile, exif, dpi, transparency), which Pillow would otherwise write.
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    buffer = io.BytesIO()
    bare.save(buffer, format="PNG", compress_level=_COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()
