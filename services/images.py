"""Receiving streamed images in servicers: size limits and decoding (images are never resized here)."""

from __future__ import annotations

from PIL import Image

from shared.errors import InvalidArgument, ResourceExhausted


class ImageBuffer:
    """Collects one image's chunks under a byte limit."""

    def __init__(self, declared: int, limit: int, what: str = "image"):
        if declared > limit:
            raise ResourceExhausted(f"the {what} is {declared} bytes; the limit is {limit}")
        self.limit, self.what = limit, what
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise ResourceExhausted(f"the {self.what} passed the limit of {self.limit} bytes")
        self.parts.append(data)

    def bytes(self) -> bytes:
        if not self.size:
            raise InvalidArgument(f"the {self.what} has no bytes; send chunks after the header")
        return b"".join(self.parts)


def decode_rgb(data: bytes, settings) -> Image.Image:
    """Decode under the ingest limits; not an image -> INVALID_ARGUMENT with the reason."""
    from shared.imaging import Rejected, decode_image

    try:
        return decode_image(data, max_bytes=settings.ingest.max_image_bytes, max_pixels=settings.ingest.max_pixels)
    except Rejected as r:
        if r.reason in ("TOO_MANY_BYTES", "TOO_MANY_PIXELS"):
            raise ResourceExhausted(f"image refused: {r.detail}") from None
        raise InvalidArgument(f"not a usable image ({r.reason.lower()}): {r.detail}") from None
