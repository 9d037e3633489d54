"""Transverse Mercator / UTM and Web Mercator conversions against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.imaging import crs


def meridian_arc(lat_degrees: float, ellipsoid: crs.Ellipsoid = crs.WGS84) -> float:
    """Distance from the equator along a meridian, by Simpson integration of
    the meridional radius of curvature a(1-e^2)/(1-e^2 sin^2 phi)^1.5: an
    independent check of the series on the central meridian."""
    e2 = ellipsoid.e**2
    phi = math.radians(lat_degrees)
    steps = 20_000
    x = np.linspace(0.0, phi, steps + 1)
    radius = ellipsoid.a * (1 - e2) / (1 - e2 * np.sin(x) ** 2) ** 1.5
    h = phi / steps
    return h / 3 * (radius[0] + radius[-1] + 4 * radius[1:-1:2].sum() + 2 * radius[2:-1:2].sum())


def test_snyder_worked_example():
    # Snyder (1987), Map Projections: A Working Manual, USGS PP 1395, p. 269:
    # Clarke 1866, lat 40.5 N, lon 73.5 W, central meridian 75 W, k0 0.9996
    # -> x = 127,106.5 m, y = 4,484,124.4 m.
    clarke_1866 = crs.Ellipsoid(a=6378206.4, f=1 - math.sqrt(1 - 0.00676866))
    x, y = crs.tm_forward(-73.5, 40.5, lon0=-75.0, false_easting=0.0, ellipsoid=clarke_1866)
    assert float(x) == pytest.approx(127_106.5, abs=0.1)
    assert float(y) == pytest.approx(4_484_124.4, abs=0.1)


def test_zone_14_central_meridian_matches_meridian_arc():
    lon, lat = crs.utm_to_lonlat(500_000.0, 5_207_000.0, 14)
    assert float(lon) == pytest.approx(-99.0, abs=1e-12)
    assert float(lat) == pytest.approx(47.0165207, abs=1e-7)
    # Northing on the central meridian is k0 times the meridian arc.
    assert crs.UTM_SCALE * meridian_arc(float(lat)) == pytest.approx(5_207_000.0, abs=1e-3)


@pytest.mark.parametrize(("zone", "south"), [(14, False), (33, False), (60, False), (23, True), (1, True)])
def test_round_trip_within_a_zone(zone, south):
    lon0 = crs.utm_central_meridian(zone)
    lats = np.linspace(0.5, 80.0, 25) * (-1 if south else 1)
    lons = lon0 + np.linspace(-3.5, 3.5, 25)
    grid_lon, grid_lat = np.meshgrid(lons, lats)
    easting, northing = crs.lonlat_to_utm(grid_lon, grid_lat, zone, south=south)
    back_lon, back_lat = crs.utm_to_lonlat(easting, northing, zone, south=south)
    assert np.abs(back_lon - grid_lon).max() < 1e-8
    assert np.abs(back_lat - grid_lat).max() < 1e-8
    if south:
        assert (northing < crs.UTM_FALSE_NORTHING_SOUTH).all()


def test_utm_zone_bounds():
    assert crs.utm_central_meridian(1) == -177.0
    assert crs.utm_central_meridian(60) == 177.0
    with pytest.raises(ValueError):
        crs.utm_central_meridian(61)


def test_web_mercator_inverse():
    lon, lat = crs.web_mercator_to_lonlat(20037508.342789244, 20037508.342789244)
    assert float(lon) == pytest.approx(180.0)
    assert float(lat) == pytest.approx(85.05112877980659)
    lon, lat = crs.web_mercator_to_lonlat(0.0, 0.0)
    assert (float(lon), float(lat)) == (0.0, 0.0)


def test_known_epsg_codes():
    for code in (4326, 4269, 3857, 32601, 32660, 32701, 32760, 26901, 26923):
        assert crs.to_lonlat_function(code) is not None, code
    # 26929 is NAD83 / Alabama East (a state plane), not a UTM zone.
    for code in (26924, 26929, 32600, 32661, 2154, 27700):
        assert crs.to_lonlat_function(code) is None, code
    lon, lat = crs.to_lonlat_function(32733)(500_000.0, 10_000_000.0)
    assert (float(lon), float(lat)) == pytest.approx((15.0, 0.0))
