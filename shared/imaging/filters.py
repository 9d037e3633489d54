"""Content filters applied to each tile before it is stored: blank and nodata.

Aerial sources are full of tiles that carry no scene: open water or cloud of
one flat colour, and the black or white padding outside a scene's footprint
(which many providers use instead of an alpha channel). Storing them teaches a
generator to paint flat squares, so IngestOptions.min_std and
max_nodata_fraction reject them.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageStat

from shared.imaging.rejected import Rejected


def nodata_mask(image: Image.Image, mask: np.ndarray | None = None) -> np.ndarray:
    """Bool (height, width) array of nodata pixels.

    Nodata is the given mask (transparent or GeoTIFF nodata pixels) plus every
    pure black (0, 0, 0) and pure white (255, 255, 255) pixel, the usual
    padding colours. In real imagery exact black or white pixels are rare
    enough (deep shadow, saturated roofs) that counting them costs little.
    """
    return _nodata(image.convert("RGB"), mask)


def _nodata(rgb: Image.Image, mask: np.ndarray | None) -> np.ndarray:
    # Each pixel as one little-endian 32-bit word (R | G << 8 | B << 16 | pad << 24): two compares
    # over one array instead of per-channel reductions over a short last axis (14x faster at 256 px).
    words = np.asarray(rgb.convert("RGBX")).view("<u4")[..., 0] & np.uint32(0xFFFFFF)
    padding = (words == 0) | (words == 0xFFFFFF)
    if mask is None:
        return padding
    if mask.shape != padding.shape:
        raise ValueError(f"mask shape {mask.shape} does not match image {rgb.width}x{rgb.height}")
    return padding | mask


def blank_check(
    image: Image.Image,
    mask: np.ndarray | None = None,
    *,
    min_std: float,
    max_nodata_fraction: float,
) -> None:
    """Raise Rejected if the image is mostly nodata or has no visible content.

    TOO_MUCH_NODATA: the fraction of nodata pixels (see nodata_mask) is above
    max_nodata_fraction; a value >= 1 disables this test. It runs first, being
    the more specific reason.

    BLANK: the standard deviation of pixel values (0..255) over the pixels
    that are not nodata, taken per channel, is below min_std in *every*
    channel (the maximum over channels is compared). Using the maximum keeps
    tiles whose only texture is in one channel, e.g. a blue-only gradient
    of shallow water. A tile with no valid pixel at all counts as std 0. A
    negative min_std disables this test.
    """
    if not max_nodata_fraction >= 0:
        raise ValueError(f"max_nodata_fraction must be >= 0, got {max_nodata_fraction}")
    rgb = image.convert("RGB")  # converted once for both tests (ingest's hot path)
    nodata = _nodata(rgb, mask)
    any_nodata = bool(nodata.any())
    if max_nodata_fraction < 1 and any_nodata:
        fraction = float(nodata.mean())
        if fraction > max_nodata_fraction:
            raise Rejected("TOO_MUCH_NODATA", f"nodata {fraction:.2f} > {max_nodata_fraction:.2f}")

    if min_std < 0:
        return
    # Std over valid pixels only, so black padding next to a flat scene does not pass as
    # "contrast". PIL computes it from per-band histograms in C (population std, as numpy's).
    if not any_nodata:
        std = max(ImageStat.Stat(rgb).stddev)
    elif nodata.all():
        std = 0.0
    else:
        valid = Image.fromarray(np.where(nodata, 0, 255).astype(np.uint8), "L")
        std = max(ImageStat.Stat(rgb, valid).stddev)
    if std < min_std:
        raise Rejected("BLANK", f"std {std:.2f} < {min_std:.2f}")
