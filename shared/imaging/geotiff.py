"""Read a (multi-band) GeoTIFF scene as an 8-bit image with its nodata mask
and WGS84 footprint, as GeoTiffOptions describes.

Pixels are read with tifffile, which handles any band count and sample type
(NAIP's 4-band R,G,B,NIR, 16-bit satellite stacks, float rasters). tifffile
alone decodes uncompressed, Deflate, PackBits, LZMA and Zstd data; LZW and
JPEG need the optional imagecodecs package, so for those the pixels are read
with Pillow (libtiff) when Pillow can represent the layout (1, 3 or 4 bands of
8-bit, or one 16/32-bit band).
"""

from __future__ import annotations

import io
import math
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tifffile
from PIL import Image, TiffImagePlugin

from shared.imaging import georef
from shared.imaging.rejected import Rejected

# Percentiles are estimated from at most this many valid pixels per band;
# an evenly strided sample gives the same stretch at a fraction of the cost.
_PERCENTILE_SAMPLE = 1_000_000


@dataclass(frozen=True, eq=False)
class GeoRaster:
    """A GeoTIFF scene ready for tiling."""

    # RGB, or L when a single band was selected.
    image: Image.Image
    # (height, width) bool array, True where every selected band is nodata
    # (or NaN); None when no pixel is. Those pixels are black in `image`.
    mask: np.ndarray | None
    # (west, south, east, north) in WGS84 degrees; None without
    # georeferencing or for a CRS crs.py cannot convert.
    footprint: tuple[float, float, float, float] | None
    # "EPSG:<code>" of the file's CRS, or None when it has none or a
    # user-defined one.
    crs: str | None
    # Number of bands in the file.
    band_count: int
    # The nodata value applied: the nodata argument, else the file's.
    nodata: float | None = None


def is_geotiff(data: bytes) -> bool:
    """Whether `data` is a TIFF carrying georeferencing tags.

    Ingest jobs should send such files to read_geotiff rather than
    decode_image: Pillow reads a 4-band R,G,B,NIR file as RGBA, which would
    turn the infrared band into transparency.
    """
    if data[:4] not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return False
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            codes = {tag.code for tag in tif.pages[0].tags.values()}
    except Exception:  # noqa: BLE001 - a broken TIFF is simply not a GeoTIFF
        return False
    geo_tags = {georef.TAG_GEO_KEY_DIRECTORY, georef.TAG_MODEL_TIEPOINT, georef.TAG_MODEL_TRANSFORMATION}
    return bool(codes & geo_tags)


def read_geotiff(
    source: bytes | pathlib.Path,
    *,
    rgb_bands: Sequence[int] = (1, 2, 3),
    stretch_low: float = 2.0,
    stretch_high: float = 98.0,
    nodata: float | None = None,
    max_pixels: int | None = None,
) -> GeoRaster:
    """Read the first image of a GeoTIFF.

    rgb_bands are 1-based band indices for red, green and blue, or a single
    index for a grayscale image. 8-bit bands are used as they are; bands of
    any other type are stretched per band so that the stretch_low and
    stretch_high percentiles of their valid pixels map to 0 and 255. `nodata`
    overrides the file's GDAL_NODATA value. max_pixels, when given, is checked
    from the header before any pixel is read.

    Raises ValueError for bad arguments (including a band index the file does
    not have) and Rejected (UNREADABLE, UNSUPPORTED_FORMAT, TOO_MANY_PIXELS)
    for files that cannot be used.
    """
    bands = _check_arguments(rgb_bands, stretch_low, stretch_high)
    try:
        tif = tifffile.TiffFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (tifffile.TiffFileError, ValueError, OSError, EOFError) as exc:
        raise Rejected("UNREADABLE", f"not a readable TIFF: {exc}") from exc
    with tif:
        page = tif.pages[0]
        width, height, band_count = page.imagewidth, page.imagelength, page.samplesperpixel
        if page.imagedepth > 1:
            raise Rejected("UNSUPPORTED_FORMAT", "volumetric TIFF")
        if page.photometric == tifffile.PHOTOMETRIC.PALETTE:
            raise Rejected("UNSUPPORTED_FORMAT", "palette (colour-mapped) TIFF")
        if max_pixels is not None and width * height > max_pixels:
            raise Rejected(
                "TOO_MANY_PIXELS", f"{width}x{height} = {width * height} px > {max_pixels} px limit"
            )
        for band in bands:
            if band > band_count:
                raise ValueError(
                    f"band {band} requested but the file has {band_count} band(s) (indices are 1-based)"
                )
        tags = {tag.code: tag.value for tag in page.tags.values()}
        pixels = _read_pixels(page, source, band_count)

    file_nodata = _parse_nodata(tags.get(georef.TAG_GDAL_NODATA))
    nodata_value = file_nodata if nodata is None else float(nodata)
    selected = pixels[[band - 1 for band in bands]]
    mask = _nodata_mask(selected, nodata_value)
    channels = [_to_uint8(band, mask, stretch_low, stretch_high) for band in selected]
    array = np.stack(channels, axis=-1)
    if mask is not None:
        array[mask] = 0
    image = Image.fromarray(array[..., 0], "L") if len(channels) == 1 else Image.fromarray(array, "RGB")

    epsg, bbox = _georeference(tags, width, height)
    return GeoRaster(
        image=image,
        mask=mask,
        footprint=bbox,
        crs=None if epsg is None else f"EPSG:{epsg}",
        band_count=band_count,
        nodata=nodata_value,
    )


def _check_arguments(rgb_bands: Sequence[int], low: float, high: float) -> list[int]:
    bands = list(rgb_bands)
    if len(bands) not in (1, 3):
        raise ValueError(f"rgb_bands must hold 1 or 3 band indices, got {len(bands)}: {bands}")
    for band in bands:
        if isinstance(band, bool) or not isinstance(band, (int, np.integer)) or band < 1:
            raise ValueError(f"band indices are 1-based integers, got {band!r}")
    if not 0.0 <= low < high <= 100.0:
        raise ValueError(
            f"stretch percentiles must satisfy 0 <= low < high <= 100, got low={low}, high={high}"
        )
    return [int(b) for b in bands]


def _read_pixels(page: tifffile.TiffPage, source: bytes | pathlib.Path, band_count: int) -> np.ndarray:
    """All bands as a (bands, height, width) array."""
    try:
        array = page.asarray()
        axes = page.axes
    except ValueError as exc:
        if "imagecodecs" not in str(exc):
            raise Rejected("UNREADABLE", f"corrupt TIFF data: {exc}") from exc
        array, axes = _read_with_pillow(source, page.compression.name), "YXS"
    except Exception as exc:  # noqa: BLE001 - tifffile raises many types on corrupt data
        raise Rejected("UNREADABLE", f"corrupt TIFF data: {exc}") from exc
    if array.ndim == 2:
        array, axes = array[..., None], axes + "S"
    if "S" not in axes or array.ndim != 3:
        raise Rejected("UNSUPPORTED_FORMAT", f"TIFF with axes {axes!r}")
    array = np.moveaxis(array, axes.index("S"), 0)
    if array.shape != (band_count, page.imagelength, page.imagewidth):
        raise Rejected("UNSUPPORTED_FORMAT", f"unexpected TIFF pixel layout {array.shape}")
    return array


def _read_with_pillow(source: bytes | pathlib.Path, compression: str) -> np.ndarray:
    """Pixels via Pillow/libtiff for codecs tifffile cannot decode by itself."""
    unsupported = Rejected(
        "UNSUPPORTED_FORMAT", f"{compression} compression of this layout needs the imagecodecs package"
    )
    try:
        # The plugin class directly: Image.open would apply Pillow's global
        # bomb limit, and read_geotiff has already applied the caller's.
        with TiffImagePlugin.TiffImageFile(
            io.BytesIO(source) if isinstance(source, bytes) else source
        ) as image:
            image.load()
            if image.mode in ("P", "PA"):
                raise unsupported
            return np.asarray(image)
    except Rejected:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow cannot represent many TIFF layouts
        raise unsupported from exc


def _parse_nodata(value: object) -> float | None:
    """GDAL_NODATA is ASCII ("0", "-9999", "nan"); None if absent or garbled."""
    if value is None:
        return None
    try:
        return float(str(value).strip().rstrip("\x00"))
    except ValueError:
        return None


def _nodata_mask(selected: np.ndarray, nodata: float | None) -> np.ndarray | None:
    """Pixels where every selected band is nodata or NaN.

    "Every" rather than "any": a pixel with one band at the nodata value (an
    exactly zero red sample, say) is still a real pixel.
    """
    invalid = np.zeros(selected.shape[1:], dtype=bool)
    if selected.dtype.kind == "f":
        # NaN is nodata whatever the declared value (NaN never equals itself).
        invalid |= np.all(np.isnan(selected), axis=0)
    if nodata is not None and not math.isnan(nodata):
        invalid |= np.all(selected == nodata, axis=0)
    return invalid if invalid.any() else None


def _to_uint8(band: np.ndarray, mask: np.ndarray | None, low: float, high: float) -> np.ndarray:
    """8-bit bands as they are; anything else percentile-stretched to 0..255.

    Each band is stretched on its own (like QGIS's default cumulative cut),
    which balances colours of sensors whose bands differ in gain.
    """
    if band.dtype == np.uint8:
        return band.copy()
    values = band.astype(np.float64)
    valid = np.isfinite(values)
    if mask is not None:
        valid &= ~mask
    sample = values[valid]
    if sample.size == 0:
        return np.zeros(band.shape, dtype=np.uint8)
    if sample.size > _PERCENTILE_SAMPLE:
        sample = sample[:: sample.size // _PERCENTILE_SAMPLE]
    lo, hi = np.percentile(sample, [low, high])
    if hi <= lo:
        # A flat band: nothing to stretch; keep values above it distinguishable.
        return np.where(values > lo, 255, 0).astype(np.uint8)
    scaled = (np.nan_to_num(values, nan=lo) - lo) * (255.0 / (hi - lo))
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)


def _georeference(
    tags: dict[int, object], width: int, height: int
) -> tuple[int | None, tuple[float, float, float, float] | None]:
    """EPSG code and WGS84 footprint, each None when the file does not say."""
    directory = tags.get(georef.TAG_GEO_KEY_DIRECTORY)
    if directory is None:
        return None, None
    try:
        keys = georef.parse_geokeys(
            directory,
            tags.get(georef.TAG_GEO_DOUBLE_PARAMS, ()),
            str(tags.get(georef.TAG_GEO_ASCII_PARAMS, "")),
        )
    except ValueError:
        # Broken georeferencing does not make the pixels unusable.
        return None, None
    epsg = georef.epsg_of(keys)
    affine = georef.raster_transform(tags, keys)
    if affine is None:
        return epsg, None
    return epsg, georef.footprint(affine, width, height, epsg)
