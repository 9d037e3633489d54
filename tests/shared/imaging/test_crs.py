"""Coordinates of any EPSG CRS to WGS84 lon/lat (pyproj), checked against published values."""

from __future__ import annotations

import numpy as np
import pytest

from shared.imaging import crs


def test_utm_zone_14_centre_and_a_southern_zone():
    # On a zone's central meridian easting is 500 km; the equator is northing 0 (north) or 10,000 km (south).
    lon, lat = crs.to_lonlat_function(32614)(500_000.0, 0.0)
    assert (float(lon), float(lat)) == pytest.approx((-99.0, 0.0), abs=1e-9)
    lon, lat = crs.to_lonlat_function(32733)(500_000.0, 10_000_000.0)
    assert (float(lon), float(lat)) == pytest.approx((15.0, 0.0), abs=1e-9)
    # MGA zone 56 (GDA2020, EPSG:7856): a southern UTM zone on another datum, central meridian 153 E;
    # northing 6,252 km is near Sydney, about 33.9 S.
    lon, lat = crs.to_lonlat_function(7856)(500_000.0, 6_252_260.0)
    assert float(lon) == pytest.approx(153.0, abs=1e-9) and -34.0 < float(lat) < -33.5


def test_conus_albers_epsg_5070():
    # EPSG:5070's natural origin (23 N, 96 W) has no false easting or northing: it maps to (0, 0).
    lon, lat = crs.to_lonlat_function(5070)(0.0, 0.0)
    assert (float(lon), float(lat)) == pytest.approx((-96.0, 23.0), abs=1e-6)
    x = np.array([-100_000.0, 0.0, 100_000.0])
    lon, lat = crs.to_lonlat_function(5070)(x, np.full(3, 1_500_000.0))
    assert lon.shape == (3,) and np.all(np.diff(lon) > 0) and np.all(lat > 36.0)


def test_web_mercator_inverse():
    lon, lat = crs.to_lonlat_function(3857)(20037508.342789244, 20037508.342789244)
    assert float(lon) == pytest.approx(180.0) and float(lat) == pytest.approx(85.05112877980659)
    lon, lat = crs.to_lonlat_function(3857)(0.0, 0.0)
    assert (float(lon), float(lat)) == pytest.approx((0.0, 0.0))


def test_codes_proj_knows_and_codes_it_does_not():
    for code in (4326, 4269, 4258, 3857, 32601, 32760, 26914, 2154, 27700, 5070, 3035):
        assert crs.to_lonlat_function(code) is not None, code
    assert crs.is_geographic(4326) and not crs.is_geographic(32614)
    # Not EPSG codes at all, and a vertical CRS (heights) that has no place on the globe.
    for code in (0, 32600, 99999999, 5703):
        assert crs.to_lonlat_function(code) is None, code
