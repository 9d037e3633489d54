"""Convert projected coordinates of the CRSs GeoTIFFs commonly use to lon/lat.

Only what a scene footprint needs: geographic lon/lat (EPSG:4326 and the
near-identical NAD83/ETRS89), Web Mercator (EPSG:3857) and UTM (WGS84 zones
EPSG:326xx north and 327xx south, NAD83 zones EPSG:26901-26923 north). NAD83
and ETRS89 are treated as WGS84: they differ by about a metre, far below what
a footprint is used for. Results are WGS84 longitude/latitude in degrees.

The transverse Mercator maths is Krüger's series to third order in the third
flattening n, in the form given by Karney (2011), "Transverse Mercator with
an accuracy of a few nanometers", J. Geodesy 85:475-485, eqs. (7)-(11) and
(35)-(36). Within a UTM zone the truncation error is well below a millimetre.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ArrayLike = float | np.ndarray
# Converts arrays of (x, y) in a CRS to arrays of (lon, lat) in degrees.
ToLonLat = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

WEB_MERCATOR_RADIUS = 6378137.0  # EPSG:3857 uses a sphere of the WGS84 semi-major axis
UTM_SCALE = 0.9996
UTM_FALSE_EASTING = 500000.0
UTM_FALSE_NORTHING_SOUTH = 10000000.0


@dataclass(frozen=True)
class Ellipsoid:
    """Semi-major axis `a` in metres and flattening `f`."""

    a: float
    f: float

    @property
    def e(self) -> float:
        """First eccentricity."""
        return math.sqrt(self.f * (2 - self.f))

    @property
    def n(self) -> float:
        """Third flattening, the expansion parameter of Krüger's series."""
        return self.f / (2 - self.f)

    @property
    def rectifying_radius(self) -> float:
        """A: the radius for which meridian arc length = A * rectifying latitude."""
        n = self.n
        return self.a / (1 + n) * (1 + n**2 / 4 + n**4 / 64)

    @property
    def alpha(self) -> tuple[float, float, float]:
        """Series coefficients from conformal to transverse Mercator (forward)."""
        n = self.n
        return (
            n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16,
            13 * n**2 / 48 - 3 * n**3 / 5,
            61 * n**3 / 240,
        )

    @property
    def beta(self) -> tuple[float, float, float]:
        """Series coefficients from transverse Mercator to conformal (inverse)."""
        n = self.n
        return (
            n / 2 - 2 * n**2 / 3 + 37 * n**3 / 96,
            n**2 / 48 + n**3 / 15,
            17 * n**3 / 480,
        )


WGS84 = Ellipsoid(a=6378137.0, f=1 / 298.257223563)


def tm_forward(
    lon: ArrayLike,
    lat: ArrayLike,
    *,
    lon0: float,
    k0: float = UTM_SCALE,
    false_easting: float = UTM_FALSE_EASTING,
    false_northing: float = 0.0,
    ellipsoid: Ellipsoid = WGS84,
) -> tuple[np.ndarray, np.ndarray]:
    """Transverse Mercator easting/northing in metres of lon/lat in degrees."""
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    phi = np.radians(lat)
    dlam = np.radians(lon - lon0)
    e = ellipsoid.e
    sin_phi = np.sin(phi)
    # tan of the conformal latitude (Karney eq. 7).
    tau_conformal = np.sinh(np.arctanh(sin_phi) - e * np.arctanh(e * sin_phi))
    xi_p = np.arctan2(tau_conformal, np.cos(dlam))
    eta_p = np.arctanh(np.sin(dlam) / np.sqrt(1 + tau_conformal**2))
    xi, eta = xi_p.copy(), eta_p.copy()
    for j, a_j in enumerate(ellipsoid.alpha, start=1):  # Karney eq. 11
        xi += a_j * np.sin(2 * j * xi_p) * np.cosh(2 * j * eta_p)
        eta += a_j * np.cos(2 * j * xi_p) * np.sinh(2 * j * eta_p)
    scale = k0 * ellipsoid.rectifying_radius
    return false_easting + scale * eta, false_northing + scale * xi


def tm_inverse(
    easting: ArrayLike,
    northing: ArrayLike,
    *,
    lon0: float,
    k0: float = UTM_SCALE,
    false_easting: float = UTM_FALSE_EASTING,
    false_northing: float = 0.0,
    ellipsoid: Ellipsoid = WGS84,
) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat in degrees of transverse Mercator easting/northing in metres."""
    easting, northing = np.broadcast_arrays(
        np.asarray(easting, dtype=np.float64), np.asarray(northing, dtype=np.float64)
    )
    scale = k0 * ellipsoid.rectifying_radius
    xi = (northing - false_northing) / scale
    eta = (easting - false_easting) / scale
    xi_p, eta_p = xi.copy(), eta.copy()
    for j, b_j in enumerate(ellipsoid.beta, start=1):  # Karney eq. 36
        xi_p -= b_j * np.sin(2 * j * xi) * np.cosh(2 * j * eta)
        eta_p -= b_j * np.cos(2 * j * xi) * np.sinh(2 * j * eta)
    conformal_lat = np.arcsin(np.sin(xi_p) / np.cosh(eta_p))
    lon = lon0 + np.degrees(np.arctan2(np.sinh(eta_p), np.cos(xi_p)))
    lat = np.degrees(_geodetic_from_conformal(conformal_lat, ellipsoid.e))
    return lon, lat


def _geodetic_from_conformal(chi: np.ndarray, e: float) -> np.ndarray:
    """Invert the conformal latitude by fixed-point iteration (Snyder 1987, eq. 7-9).

    Each step gains about two decimal digits (the factor is ~e^2), so a few
    steps reach float precision; solving exactly (rather than with another
    truncated series) keeps forward and inverse consistent.
    """
    phi = chi.copy()
    half_e = e / 2
    base = np.tan(np.pi / 4 + chi / 2)
    for _ in range(20):
        sin_phi = np.sin(phi)
        next_phi = 2 * np.arctan(base * ((1 + e * sin_phi) / (1 - e * sin_phi)) ** half_e) - np.pi / 2
        converged = np.max(np.abs(next_phi - phi), initial=0.0) < 1e-15
        phi = next_phi
        if converged:
            break
    return phi


def utm_central_meridian(zone: int) -> float:
    """Longitude in degrees of the central meridian of UTM zone 1..60."""
    if not 1 <= zone <= 60:
        raise ValueError(f"UTM zone must be 1..60, got {zone}")
    return -183.0 + 6.0 * zone


def utm_to_lonlat(
    easting: ArrayLike, northing: ArrayLike, zone: int, *, south: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat in degrees of a UTM position in metres."""
    return tm_inverse(
        easting,
        northing,
        lon0=utm_central_meridian(zone),
        false_northing=UTM_FALSE_NORTHING_SOUTH if south else 0.0,
    )


def lonlat_to_utm(
    lon: ArrayLike, lat: ArrayLike, zone: int, *, south: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """UTM easting/northing in metres of a WGS84 lon/lat in degrees."""
    return tm_forward(
        lon,
        lat,
        lon0=utm_central_meridian(zone),
        false_northing=UTM_FALSE_NORTHING_SOUTH if south else 0.0,
    )


def web_mercator_to_lonlat(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat in degrees of EPSG:3857 metres."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lon = np.degrees(x / WEB_MERCATOR_RADIUS)
    lat = np.degrees(np.arctan(np.sinh(y / WEB_MERCATOR_RADIUS)))
    return lon, lat


# Geographic CRSs whose coordinates are taken as WGS84 lon/lat as they are.
_GEOGRAPHIC = {4326: "WGS 84", 4269: "NAD83", 4258: "ETRS89"}
# 3785 is the deprecated code of the same Web Mercator projection.
_WEB_MERCATOR = {3857, 3785}


def is_geographic(epsg: int) -> bool:
    """True for the lon/lat CRSs this module knows."""
    return epsg in _GEOGRAPHIC


def to_lonlat_function(epsg: int) -> ToLonLat | None:
    """The converter from `epsg` coordinates to WGS84 lon/lat, or None if unknown."""
    if epsg in _GEOGRAPHIC:
        return lambda x, y: (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    if epsg in _WEB_MERCATOR:
        return web_mercator_to_lonlat
    if 32601 <= epsg <= 32660:
        return lambda x, y: utm_to_lonlat(x, y, epsg - 32600)
    if 32701 <= epsg <= 32760:
        return lambda x, y: utm_to_lonlat(x, y, epsg - 32700, south=True)
    # 26924 and up in the 269xx block are US state planes, not UTM.
    if 26901 <= epsg <= 26923:
        return lambda x, y: utm_to_lonlat(x, y, epsg - 26900)
    return None
