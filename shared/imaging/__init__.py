"""Pure image processing for ingestion: decode, tile, filter, hash, encode, GeoTIFF.

No network, database, gRPC or Celery here: ingest jobs fetch bytes, call these
functions, and record a `Rejected` exception's reason and detail in their
IngestReport. Each module holds one step:

- decode: untrusted bytes -> upright RGB image (+ nodata mask), or Rejected
- tiles: square tiles and square resizing
- filters: blank and nodata rejection
- phash: 64-bit perceptual hash for near-duplicate detection
- encode: deterministic PNG bytes for exact-duplicate detection
- geotiff, georef, crs: multi-band GeoTIFF scenes with their WGS84 footprint
"""

from shared.imaging.decode import SUPPORTED_FORMATS, decode_image, decode_with_mask, sniff_format
from shared.imaging.encode import encode_png
from shared.imaging.filters import blank_check, nodata_mask
from shared.imaging.geotiff import GeoRaster, is_geotiff, read_geotiff
from shared.imaging.phash import hamming, phash, phash_from_signed, phash_to_signed
from shared.imaging.rejected import Rejected
from shared.imaging.tiles import Tile, count_tiles, iter_tiles, resize_square, resize_square_mask

__all__ = [
    "SUPPORTED_FORMATS",
    "GeoRaster",
    "Rejected",
    "Tile",
    "blank_check",
    "count_tiles",
    "decode_image",
    "decode_with_mask",
    "encode_png",
    "hamming",
    "is_geotiff",
    "iter_tiles",
    "nodata_mask",
    "phash",
    "phash_from_signed",
    "phash_to_signed",
    "read_geotiff",
    "resize_square",
    "resize_square_mask",
    "sniff_format",
]
