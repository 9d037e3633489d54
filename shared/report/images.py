"""Images for the report: grids, nearest-neighbour upscaling and PNG data URIs.

Demo tiles are tiny (32-64 px), so the report enlarges them by a whole factor
with nearest-neighbour resampling: every generated pixel stays a crisp square,
which is what a reader inspecting artefacts wants to see. Images are embedded
as base64 PNG so the HTML file needs nothing beside it.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

from PIL import Image

# Tiles smaller than this are enlarged until their short side reaches it.
MIN_DISPLAY_PX = 96


def as_displayable(image: Image.Image) -> Image.Image:
    """The image in a mode PNG stores faithfully (L, LA, RGB or RGBA)."""
    if image.mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if image.mode in ("1", "I", "I;16", "F"):
        # Pillow clips I/F to 0-255 when converting; fine for display.
        return image.convert("L")
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def display_scale(size: tuple[int, int], min_px: int = MIN_DISPLAY_PX) -> int:
    """The whole factor that brings the short side of `size` up to `min_px`."""
    short = max(1, min(size))
    return max(1, math.ceil(min_px / short))


def upscale_nearest(image: Image.Image, scale: int) -> Image.Image:
    """`image` enlarged `scale` times with nearest-neighbour resampling."""
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    if scale == 1:
        return image
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST)


def image_grid(
    images: Sequence[Image.Image],
    columns: int,
    scale: int = 1,
    pad: int = 2,
    background: tuple[int, int, int] = (255, 255, 255),
) -> Image.Image:
    """One RGB image holding `images` in rows of `columns`, each enlarged `scale` times.

    Cells are as large as the largest image; smaller ones are centred. `pad`
    pixels of `background` separate the cells and frame the grid.
    """
    if not images:
        raise ValueError("image_grid needs at least one image")
    if columns < 1:
        raise ValueError(f"columns must be >= 1, got {columns}")
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    tiles = [upscale_nearest(as_displayable(im).convert("RGB"), scale) for im in images]
    cell_w = max(t.width for t in tiles)
    cell_h = max(t.height for t in tiles)
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    grid = Image.new(
        "RGB",
        (columns * cell_w + (columns + 1) * pad, rows * cell_h + (rows + 1) * pad),
        background,
    )
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        x = pad + col * (cell_w + pad) + (cell_w - tile.width) // 2
        y = pad + row * (cell_h + pad) + (cell_h - tile.height) // 2
        grid.paste(tile, (x, y))
    return grid


def png_data_uri(image: Image.Image) -> str:
    """`image` as a data:image/png;base64 URI for an <img> src."""
    buffer = io.BytesIO()
    as_displayable(image).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
