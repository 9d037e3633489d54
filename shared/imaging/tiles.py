"""Cut images into square tiles and resize them to the stored square size.

Tiling and resizing follow IngestOptions: tiles are tile_size squares whose
origins are tile_stride apart, only whole tiles are kept (no padding, so no
invented pixels), and each stored image is resized to a resize_to square with
area (box) resampling. Nodata masks are carried alongside so the blank filter
sees which pixels were transparent or GeoTIFF nodata.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image

from shared.imaging.rejected import Rejected


@dataclass(frozen=True, eq=False)
class Tile:
    """One tile: its pixel offset in the source image, pixels and nodata mask."""

    x: int
    y: int
    image: Image.Image
    # (size, size) bool array, True = nodata; None when the source had no mask.
    mask: np.ndarray | None


def count_tiles(width: int, height: int, size: int, stride: int) -> int:
    """How many tiles iter_tiles yields for an image of this size (0 if too small)."""
    _check_tiling(size, stride)
    if width < size or height < size:
        return 0
    return ((width - size) // stride + 1) * ((height - size) // stride + 1)


def iter_tiles(
    image: Image.Image, size: int, stride: int, *, mask: np.ndarray | None = None
) -> Iterator[Tile]:
    """Yield the whole size x size tiles of `image`, row by row, left to right.

    Tiles start at multiples of `stride` from the top-left corner; pixels past
    the last whole tile on the right and bottom are dropped. Raises Rejected
    TOO_SMALL before yielding anything if not even one tile fits.
    """
    _check_tiling(size, stride)
    width, height = image.size
    if mask is not None and mask.shape != (height, width):
        raise ValueError(f"mask shape {mask.shape} does not match image {width}x{height}")
    if width < size or height < size:
        raise Rejected("TOO_SMALL", f"{width}x{height} < {size}x{size} tile")
    return _generate_tiles(image, size, stride, mask)


def _generate_tiles(
    image: Image.Image, size: int, stride: int, mask: np.ndarray | None
) -> Iterator[Tile]:
    # A separate generator so that iter_tiles' checks run when it is called,
    # not when the caller first asks for a tile.
    width, height = image.size
    for y in range(0, height - size + 1, stride):
        for x in range(0, width - size + 1, stride):
            crop = image.crop((x, y, x + size, y + size))
            tile_mask = None if mask is None else mask[y : y + size, x : x + size].copy()
            yield Tile(x=x, y=y, image=crop, mask=tile_mask)


def _check_tiling(size: int, stride: int) -> None:
    if size < 1:
        raise ValueError(f"tile size must be >= 1, got {size}")
    if not 1 <= stride <= size:
        raise ValueError(f"tile stride must be 1..{size} (the tile size), got {stride}")


def center_square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square inside width x height, as a crop box."""
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def resize_square(image: Image.Image, size: int) -> Image.Image:
    """Resize to size x size with area (box) resampling.

    A non-square image is first centre-cropped to its largest square, so the
    content keeps its aspect ratio; the cropped-off margins are dropped rather
    than squashed, because stretched ground features would teach a generator
    shapes that do not exist.
    """
    if size < 1:
        raise ValueError(f"resize size must be >= 1, got {size}")
    box = center_square_box(*image.size)
    if box != (0, 0, *image.size):
        image = image.crop(box)
    if image.size == (size, size):
        return image
    return image.resize((size, size), Image.Resampling.BOX)


def resize_square_mask(mask: np.ndarray, size: int) -> np.ndarray:
    """Resize a nodata mask the same way resize_square resizes its image.

    An output pixel is nodata when at least half of the source area it covers
    is nodata, so the mask stays aligned with the resized pixels.
    """
    if size < 1:
        raise ValueError(f"resize size must be >= 1, got {size}")
    height, width = mask.shape
    as_image = Image.fromarray(mask.astype(np.uint8) * 255, "L")
    as_image = as_image.crop(center_square_box(width, height))
    resized = as_image.resize((size, size), Image.Resampling.BOX)
    return np.asarray(resized) >= 128
