"""Turn untrusted encoded image bytes into an RGB Pillow image, or refuse them.

This is the first thing an ingest job does with every file, upload or
download, so it is written for hostile input: the byte size is checked before
anything is parsed, the format is taken from the magic bytes rather than a file
name or Content-Type, and the pixel count is checked from the header before a
single pixel is decoded.

Transparency convention: pixels with alpha 0 are *nodata*. They are reported in
a boolean mask (True = nodata) by `decode_with_mask`, and in the RGB image every
pixel is composited over black, so a fully transparent pixel becomes (0, 0, 0),
which `blank_check` also counts as nodata padding when no mask is passed.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    features,
)

from shared.imaging.rejected import Rejected, format_bytes

# Formats decode_image reads; sniff_format knows more so that it can say
# UNSUPPORTED_FORMAT rather than UNREADABLE for real but unsupported images.
SUPPORTED_FORMATS = ("png", "jpeg", "tiff", "webp", "gif", "bmp")

# The plugin classes are used directly rather than through Image.open, because
# Image.open applies Pillow's own decompression-bomb limit (a warning above
# Image.MAX_IMAGE_PIXELS, an error above twice that). That limit is global
# state shared with all other code in the process; the caller's max_pixels is
# the limit that counts here, checked below before any pixel is decoded.
_OPENERS: dict[str, type[ImageFile.ImageFile]] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
    "gif": GifImagePlugin.GifImageFile,
    "bmp": BmpImagePlugin.BmpImageFile,
}

# Modes with an alpha channel; everything else is opaque.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


def sniff_format(data: bytes) -> str | None:
    """Name of the image format the magic bytes announce, or None.

    Returns one of SUPPORTED_FORMATS, or the name of a recognised image format
    decode_image does not read ("bigtiff", "heif", "avif", "jpeg2000", "jxl",
    "psd", "exr", "svg"), or None for anything else.
    """
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] in (b"II+\x00", b"MM\x00+"):
        return "bigtiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    # "BM" alone is two ASCII letters; also require a known DIB header size.
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (
        12, 40, 52, 56, 64, 108, 124
    ):
        return "bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1"):
            return "heif"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "jxl"
    if head.startswith(b"8BPS"):
        return "psd"
    if head.startswith(b"\x76\x2f\x31\x01"):
        return "exr"
    text = data[:1024].lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg"
    return None


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Decode `data` to an upright RGB image; see decode_with_mask."""
    image, _ = decode_with_mask(data, max_bytes=max_bytes, max_pixels=max_pixels)
    return image


def decode_with_mask(
    data: bytes, *, max_bytes: int, max_pixels: int
) -> tuple[Image.Image, np.ndarray | None]:
    """Decode `data` to an upright RGB image and its nodata mask.

    The mask is a (height, width) bool array, True where the source pixel was
    fully transparent, or None when no pixel was. Only the first frame of an
    animated GIF/WebP or multi-page TIFF is used.

    Raises Rejected with reason TOO_MANY_BYTES, UNREADABLE, UNSUPPORTED_FORMAT
    or TOO_MANY_PIXELS.
    """
    if max_bytes <= 0 or max_pixels <= 0:
        raise ValueError("max_bytes and max_pixels must be positive")
    if len(data) > max_bytes:
        raise Rejected(
            "TOO_MANY_BYTES", f"{format_bytes(len(data))} > {format_bytes(max_bytes)} limit"
        )
    if not data:
        raise Rejected("UNREADABLE", "empty file")

    fmt = sniff_format(data)
    if fmt is None:
        raise Rejected("UNREADABLE", "not a recognised image format")
    image = _open_header(data, fmt)

    width, height = image.size
    if width * height > max_pixels:
        raise Rejected(
            "TOO_MANY_PIXELS", f"{width}x{height} = {width * height} px > {max_pixels} px limit"
        )
    _load_pixels(image)
    image = _upright(image)
    return _to_rgb(image)


def _open_header(data: bytes, fmt: str) -> ImageFile.ImageFile:
    """Parse only the header; no pixel data is decoded yet."""
    if fmt == "webp":
        # WebP needs Pillow built with libwebp; imported lazily because the
        # plugin module itself fails to import without it on some builds.
        if not features.check("webp"):
            raise Rejected("UNSUPPORTED_FORMAT", "webp (this Pillow has no WebP support)")
        from PIL import WebPImagePlugin

        opener: type[ImageFile.ImageFile] = WebPImagePlugin.WebPImageFile
    elif fmt in _OPENERS:
        opener = _OPENERS[fmt]
    else:
        raise Rejected("UNSUPPORTED_FORMAT", fmt)
    try:
        return opener(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise Rejected("TOO_MANY_PIXELS", str(exc)) from exc
    except Exception as exc:
        # Plugins signal malformed headers with a zoo of exception types
        # (SyntaxError, OSError, ValueError, struct.error, EOFError...).
        if _is_truncation(exc):
            raise Rejected("UNREADABLE", "truncated") from exc
        raise Rejected("UNREADABLE", f"bad {fmt} header: {exc}") from exc


def _load_pixels(image: ImageFile.ImageFile) -> None:
    """Decode every pixel now, so truncated or corrupt files fail here."""
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        # GIF frames are size-checked by Pillow while they are decoded.
        raise Rejected("TOO_MANY_PIXELS", str(exc)) from exc
    except (OSError, EOFError, SyntaxError, ValueError, zlib.error) as exc:
        message = str(exc)
        if _is_truncation(exc):
            raise Rejected("UNREADABLE", "truncated") from exc
        if "decoder" in message and "not available" in message:
            raise Rejected("UNSUPPORTED_FORMAT", message) from exc
        raise Rejected("UNREADABLE", f"corrupt image data: {message}") from exc


def _is_truncation(exc: BaseException | None) -> bool:
    """Whether Pillow's exception means the data ended early."""
    # Pillow has no single "ran out of data" exception; these are the forms
    # it takes in the header parsers and in load().
    # Plugins' header errors are re-raised as SyntaxError by ImageFile, so the
    # original exception is looked for along the chain too.
    while exc is not None:
        message = str(exc).lower()
        if isinstance(exc, (EOFError, struct.error)) or any(
            phrase in message for phrase in ("truncated", "unexpected end", "incomplete")
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, so photos from phones come out upright."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001
        # Malformed EXIF is common in the wild; the pixels are still good, so
        # keep the image as stored rather than reject it over metadata.
        return image


def _to_rgb(image: Image.Image) -> tuple[Image.Image, np.ndarray | None]:
    """Convert any decoded mode to RGB, splitting off transparency as a mask."""
    mode = image.mode
    if mode in _ALPHA_MODES or "transparency" in image.info:
        # Pillow applies palette and tRNS transparency on conversion to RGBA.
        rgba = np.asarray(image.convert("RGBA"))
        alpha = rgba[..., 3:4].astype(np.uint16)
        # Composite over black: rgb * alpha / 255, rounded.
        rgb = ((rgba[..., :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
        mask = rgba[..., 3] == 0
        return Image.fromarray(rgb, "RGB"), (mask if mask.any() else None)
    if mode.startswith("I;16") or mode == "I":
        # 16-bit samples: Pillow's own conversion clips at 255 instead of
        # scaling, which would turn most 16-bit images white.
        values = np.clip(np.asarray(image, dtype=np.int64), 0, 65535)
        gray = ((values * 255 + 32767) // 65535).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB"), None
    if mode == "F":
        # Float images have no standard range; values are taken on the 0..255
        # scale. (GeoTIFFs with float bands go through read_geotiff instead,
        # which stretches them.)
        gray = np.clip(np.nan_to_num(np.asarray(image)), 0, 255).round().astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB"), None
    if mode == "RGB":
        return image, None
    try:
        return image.convert("RGB"), None
    except (ValueError, OSError) as exc:
        raise Rejected("UNSUPPORTED_FORMAT", f"pixel mode {mode}") from exc
