"""decode_image / decode_with_mask / sniff_format on real and hostile bytes."""

from __future__ import annotations

import io
import pickle
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from shared.imaging import Rejected, decode_image, decode_with_mask, sniff_format
from tests.shared.imaging.assets import CHELSEA_PNG, CHINA_JPG, COFFEE_PNG, NAIP_2009_PNG, NEON_PNG

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000}


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring an RGB image, with no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def reject_reason(data: bytes, **limits) -> Rejected:
    with pytest.raises(Rejected) as caught:
        decode_image(data, **(LIMITS | limits))
    return caught.value


@pytest.mark.parametrize(
    ("path", "size"),
    [(NAIP_2009_PNG, (934, 724)), (NEON_PNG, (400, 400)), (CHELSEA_PNG, (451, 300)),
     (COFFEE_PNG, (600, 400)), (CHINA_JPG, (640, 427))],
)  # fmt: skip
def test_real_images_decode_to_rgb(path, size):
    image, mask = decode_with_mask(path.read_bytes(), **LIMITS)
    assert image.mode == "RGB"
    assert image.size == size
    assert mask is None


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("PNG", "png"), ("JPEG", "jpeg"), ("TIFF", "tiff"), ("GIF", "gif"), ("BMP", "bmp"), ("WEBP", "webp")],
)
def test_sniff_and_decode_each_supported_format(fmt, name):
    source = Image.open(NEON_PNG).convert("RGB")
    data = encode(source, fmt)
    assert sniff_format(data) == name
    image = decode_image(data, **LIMITS)
    assert image.mode == "RGB" and image.size == source.size


def test_sniff_recognises_unsupported_images_and_nothing_else():
    assert sniff_format(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic") == "heif"
    assert sniff_format(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1") == "avif"
    assert sniff_format(b"II+\x00\x08\x00\x00\x00") == "bigtiff"
    assert sniff_format(b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>') == "svg"
    assert sniff_format(b"hello, world") is None
    assert sniff_format(b"%PDF-1.7\n") is None
    assert sniff_format(b"") is None


def test_unsupported_image_format_is_rejected_as_such():
    rejected = reject_reason(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100))
    assert rejected.reason == "UNSUPPORTED_FORMAT"
    assert "heif" in rejected.detail


@pytest.mark.parametrize("data", [b"just some text, not an image\n" * 10, b"", b"%PDF-1.4\n%..."])
def test_non_images_are_unreadable(data):
    assert reject_reason(data).reason == "UNREADABLE"


@pytest.mark.parametrize("path", [CHELSEA_PNG, CHINA_JPG])
@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_files_are_unreadable(path, keep):
    data = path.read_bytes()
    rejected = reject_reason(data[: int(len(data) * keep)])
    assert (rejected.reason, rejected.detail) == ("UNREADABLE", "truncated")


@pytest.mark.parametrize("length", [20, 30, 33, 60])
def test_truncated_header_is_unreadable(length):
    rejected = reject_reason(CHELSEA_PNG.read_bytes()[:length])
    assert (rejected.reason, rejected.detail) == ("UNREADABLE", "truncated")


def test_corrupt_pixel_data_is_unreadable():
    data = bytearray(CHELSEA_PNG.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 100 : idat + 200] = bytes(100)
    assert reject_reason(bytes(data)).reason == "UNREADABLE"


def test_too_many_bytes_is_checked_first():
    data = b"x" * 3_200_000  # not even an image: size is checked before parsing
    rejected = reject_reason(data, max_bytes=2_000_000)
    assert rejected.reason == "TOO_MANY_BYTES"
    assert rejected.detail == "3.2 MB > 2.0 MB limit"


def test_header_declaring_a_huge_image_is_rejected_without_decoding():
    # 100000 x 100000 RGB would need 30 GB; this only passes if nothing is allocated.
    rejected = reject_reason(png_header_only(100_000, 100_000), max_pixels=100_000_000)
    assert rejected.reason == "TOO_MANY_PIXELS"
    assert "100000x100000" in rejected.detail


def test_real_single_colour_bomb_is_rejected():
    data = encode(Image.new("L", (6000, 5000), 7), "PNG", optimize=True)
    assert len(data) < 100_000  # a small file...
    rejected = reject_reason(data, max_pixels=10_000_000)  # ...declaring 30 Mpx
    assert rejected.reason == "TOO_MANY_PIXELS"
    assert rejected.detail == "6000x5000 = 30000000 px > 10000000 px limit"


def test_callers_limit_replaces_pillows_global_one():
    # 10000 x 10000 is above Pillow's default MAX_IMAGE_PIXELS (~89 Mpx), where
    # Image.open would warn; with a caller limit above it there is no warning
    # and the (missing) pixel data is what gets rejected.
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        rejected = reject_reason(png_header_only(10_000, 10_000), max_pixels=200_000_000)
    assert rejected.reason == "UNREADABLE"
    assert Image.MAX_IMAGE_PIXELS == before


def test_exif_orientation_is_applied():
    # Stored landscape: red left half, blue right half. Orientation 6 means
    # "rotate 90 degrees clockwise to display", so red ends up on top.
    stored = Image.new("RGB", (64, 32), (255, 0, 0))
    stored.paste((0, 0, 255), (32, 0, 64, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = decode_image(encode(stored, "JPEG", quality=95, exif=exif.tobytes()), **LIMITS)
    assert image.size == (32, 64)
    top, bottom = np.asarray(image)[8, 16], np.asarray(image)[56, 16]
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_transparent_border_becomes_mask_and_black():
    source = np.zeros((40, 50, 4), dtype=np.uint8)
    source[10:30, 10:40] = (120, 200, 40, 255)
    image, mask = decode_with_mask(encode(Image.fromarray(source, "RGBA"), "PNG"), **LIMITS)
    pixels = np.asarray(image)
    assert mask is not None and mask.shape == (40, 50)
    assert mask.sum() == 40 * 50 - 20 * 30
    assert not mask[10:30, 10:40].any()
    assert (pixels[mask] == 0).all()
    assert (pixels[15, 15] == (120, 200, 40)).all()


def test_half_transparent_pixels_are_composited_over_black():
    source = np.full((8, 8, 2), (200, 128), dtype=np.uint8)  # LA: gray 200 at ~50% alpha
    image, mask = decode_with_mask(encode(Image.fromarray(source, "LA"), "PNG"), **LIMITS)
    assert mask is None
    assert (np.asarray(image) == 100).all()


def test_palette_transparency_gives_mask():
    source = Image.new("P", (16, 16), 0)
    source.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    source.paste(1, (4, 4, 12, 12))
    image, mask = decode_with_mask(encode(source, "PNG", transparency=0), **LIMITS)
    assert mask is not None and mask.sum() == 256 - 64
    assert tuple(image.getpixel((8, 8))) == (10, 200, 30)


def test_16_bit_grayscale_is_scaled_not_clipped():
    values = np.array([[0, 32768, 65535, 1000]], dtype=np.uint16)
    image = decode_image(encode(Image.fromarray(values), "PNG"), **LIMITS)
    assert [image.getpixel((x, 0))[0] for x in range(4)] == [0, 128, 255, 4]


def test_cmyk_jpeg_becomes_rgb():
    image = decode_image(encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG"), **LIMITS)
    red, green, blue = image.getpixel((16, 16))
    assert image.mode == "RGB" and red > 230 and green < 30 and blue < 30


def test_only_first_frame_of_animation_is_used():
    frames = [Image.new("RGB", (20, 10), colour) for colour in [(255, 0, 0), (0, 0, 255)]]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    image = decode_image(buffer.getvalue(), **LIMITS)
    assert image.getpixel((5, 5)) == (255, 0, 0)


def test_rejected_carries_reason_and_detail_and_pickles():
    error = Rejected("BLANK", "std 0.80 < 2.00")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.detail, str(copy)) == ("BLANK", "std 0.80 < 2.00", "BLANK: std 0.80 < 2.00")
    with pytest.raises(ValueError, match="unknown reject reason"):
        Rejected("REJECT_REASON_BLANK", "prefixed names are not reasons")
