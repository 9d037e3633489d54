"""Projected or geographic coordinates of any EPSG coordinate reference system to WGS84 lon/lat.

A thin layer over pyproj (PROJ and its EPSG database ship inside the wheel, so nothing is fetched):
one cached Transformer per EPSG code, with x/y in the CRS's easting/northing (or lon/lat) order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

# Converts arrays of (x, y) in a CRS to arrays of (lon, lat) in degrees.
ToLonLat = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@lru_cache(maxsize=64)
def _crs(epsg: int) -> CRS | None:
    try:
        return CRS.from_epsg(epsg)
    except (CRSError, ProjError):
        return None


@lru_cache(maxsize=64)
def _transformer(epsg: int) -> Transformer | None:
    source = _crs(epsg)
    if source is None or not (source.is_projected or source.is_geographic):
        return None  # unknown to PROJ, or a vertical or engineering CRS with no footprint on the globe
    try:
        return Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)
    except (CRSError, ProjError):  # a code PROJ knows that is not a CRS (e.g. 32600 names a conversion)
        return None


def to_lonlat_function(epsg: int) -> ToLonLat | None:
    """The converter from `epsg` coordinates to WGS84 lon/lat in degrees, or None if PROJ does not know it."""
    transformer = _transformer(int(epsg))
    if transformer is None:
        return None

    def convert(x, y) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = transformer.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    return convert


def is_geographic(epsg: int) -> bool:
    """True for a lon/lat CRS."""
    source = _crs(int(epsg))
    return source is not None and source.is_geographic
