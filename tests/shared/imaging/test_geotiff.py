"""read_geotiff on the real NAIP GeoTIFF and on small synthetic GeoTIFFs."""

from __future__ import annotations

import io

import numpy as np
import pytest
import tifffile
from PIL import Image

from shared.imaging import Rejected, decode_image, is_geotiff, read_geotiff
from shared.imaging import georef
from tests.shared.imaging.assets import NAIP_2009_PNG, NAIP_2009_TIF


def geotiff_bytes(data: np.ndarray, *, epsg: int, geographic: bool, tiepoint, scale, nodata=None, **kw) -> bytes:
    """A GeoTIFF with a tiepoint + pixel scale and a one-CRS GeoKey directory."""
    crs_key = georef.KEY_GEOGRAPHIC_TYPE if geographic else georef.KEY_PROJECTED_CS_TYPE
    model_type = georef.MODEL_TYPE_GEOGRAPHIC if geographic else georef.MODEL_TYPE_PROJECTED
    geokeys = (1, 1, 0, 3, 1024, 0, 1, model_type, 1025, 0, 1, 1, crs_key, 0, 1, epsg)
    extratags = [
        (georef.TAG_MODEL_PIXEL_SCALE, "d", 3, (*scale, 0.0), False),
        (georef.TAG_MODEL_TIEPOINT, "d", 6, (0.0, 0.0, 0.0, *tiepoint, 0.0), False),
        (georef.TAG_GEO_KEY_DIRECTORY, "H", len(geokeys), geokeys, False),
    ]
    if nodata is not None:
        extratags.append((georef.TAG_GDAL_NODATA, "s", 0, str(nodata), False))
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, data, extratags=extratags, **kw)
    return buffer.getvalue()


def test_naip_georeferencing():
    raster = read_geotiff(NAIP_2009_TIF)
    assert raster.band_count == 4
    assert raster.crs == "EPSG:26914"  # NAD83 / UTM zone 14N
    assert raster.nodata == 0.0
    assert raster.image.mode == "RGB" and raster.image.size == (934, 724)
    west, south, east, north = raster.footprint
    # Tiepoint (485900 E, 5209247 N), 5 m pixels: 4670 m x 3620 m. Quarter
    # quad 4709963 SE is lat 47.0-47.0625, lon -99.1875 - -99.125; NAIP
    # quarter quads carry a buffer of up to 300 m (~0.004 deg) around it.
    assert (west, south, east, north) == pytest.approx((-99.18559, 47.00402, -99.12405, 47.03667), abs=1e-5)
    buffer = 0.004
    assert -99.1875 - buffer <= west < east <= -99.125 + buffer
    assert 47.0 - buffer <= south < north <= 47.0625 + buffer
    assert (east - west) * 60 == pytest.approx(3.69, abs=0.01)  # arc minutes


def test_naip_rgb_bands_match_the_shipped_png():
    raster = read_geotiff(NAIP_2009_TIF.read_bytes())
    with Image.open(NAIP_2009_PNG) as png:
        assert png.size == raster.image.size
        assert np.array_equal(np.asarray(png.convert("RGB")), np.asarray(raster.image))
    assert raster.mask is None  # no pixel has R = G = B = 0


def test_false_colour_and_single_band():
    bands = tifffile.imread(NAIP_2009_TIF)  # (724, 934, 4): R, G, B, NIR
    false_colour = np.asarray(read_geotiff(NAIP_2009_TIF, rgb_bands=(4, 1, 2)).image)
    assert np.array_equal(false_colour, bands[..., [3, 0, 1]])
    nir = read_geotiff(NAIP_2009_TIF, rgb_bands=[4]).image
    assert nir.mode == "L"
    assert np.array_equal(np.asarray(nir), bands[..., 3])


@pytest.mark.parametrize(
    ("rgb_bands", "message"),
    [((1, 2), "1 or 3"), ((0, 1, 2), "1-based"), ((1, 2, 5), "has 4 band"), ((1.0, 2, 3), "1-based")],
)
def test_invalid_band_indices(rgb_bands, message):
    with pytest.raises(ValueError, match=message):
        read_geotiff(NAIP_2009_TIF, rgb_bands=rgb_bands)


def test_invalid_percentiles():
    with pytest.raises(ValueError, match="percentiles"):
        read_geotiff(NAIP_2009_TIF, stretch_low=98, stretch_high=2)


def test_uint16_is_stretched_and_nodata_masked():
    rng = np.random.default_rng(1)
    data = rng.integers(1000, 5000, size=(3, 60, 80), dtype=np.uint16)  # planar, 3 bands
    data[:, :10, :] = 65535  # nodata strip
    data[0, 20, :] = 0  # zeros in one band only are data
    raw = geotiff_bytes(
        data, epsg=4326, geographic=True, tiepoint=(10.0, 50.0), scale=(0.001, 0.001),
        nodata=65535, photometric="rgb", planarconfig="separate",
    )  # fmt: skip
    raster = read_geotiff(raw)
    pixels = np.asarray(raster.image)
    assert raster.crs == "EPSG:4326" and raster.band_count == 3
    assert raster.footprint == pytest.approx((10.0, 49.94, 10.08, 50.0))
    assert raster.mask is not None and raster.mask.sum() == 10 * 80
    assert (pixels[:10] == 0).all()
    valid = pixels[10:]
    # 2nd..98th percentile mapped to 0..255: about 2% of valid pixels clip at each end.
    assert 0.01 < (valid[..., 1] == 0).mean() < 0.04
    assert 0.01 < (valid[..., 1] == 255).mean() < 0.04


def test_nodata_override_and_float_nan():
    data = np.linspace(0.0, 1.0, 40 * 30, dtype=np.float32).reshape(30, 40)
    data[0, :] = np.nan
    data[1, :] = -1.0
    raw = geotiff_bytes(data, epsg=3857, geographic=False, tiepoint=(0.0, 0.0), scale=(10.0, 10.0))
    raster = read_geotiff(raw, rgb_bands=[1], nodata=-1.0, stretch_low=0.0, stretch_high=100.0)
    assert raster.image.mode == "L"
    assert raster.mask.sum() == 80
    assert raster.crs == "EPSG:3857"
    west, south, east, north = raster.footprint
    assert (west, north) == pytest.approx((0.0, 0.0))
    assert east == pytest.approx(400 / 6378137 * 180 / np.pi)
    pixels = np.asarray(raster.image)
    assert pixels[2:].min() == 0 and pixels[-1, -1] == 255


def test_lzw_tiff_without_georeferencing_falls_back_to_pillow():
    with Image.open(NAIP_2009_PNG) as png:
        rgb = png.convert("RGB")
    buffer = io.BytesIO()
    rgb.save(buffer, "TIFF", compression="tiff_lzw")
    raster = read_geotiff(buffer.getvalue())
    assert np.array_equal(np.asarray(raster.image), np.asarray(rgb))
    assert (raster.crs, raster.footprint, raster.band_count) == (None, None, 3)


def test_unreadable_and_oversized_inputs():
    with pytest.raises(Rejected) as caught:
        read_geotiff(b"not a tiff at all")
    assert caught.value.reason == "UNREADABLE"
    with pytest.raises(Rejected) as caught:
        read_geotiff(NAIP_2009_TIF, max_pixels=500_000)
    assert caught.value.reason == "TOO_MANY_PIXELS"


def test_truncated_geotiff_is_unreadable():
    data = NAIP_2009_TIF.read_bytes()
    with pytest.raises(Rejected) as caught:
        read_geotiff(data[: len(data) // 3])
    assert caught.value.reason == "UNREADABLE"


def test_pixel_is_point_shifts_half_a_pixel():
    tags = {georef.TAG_MODEL_TIEPOINT: (0, 0, 0, 100.0, 200.0, 0), georef.TAG_MODEL_PIXEL_SCALE: (2.0, 2.0, 0)}
    area = georef.raster_transform(tags, {})
    point = georef.raster_transform(tags, {georef.KEY_RASTER_TYPE: georef.RASTER_PIXEL_IS_POINT})
    assert area.apply(0.0, 0.0) == (100.0, 200.0)
    assert point.apply(0.0, 0.0) == (99.0, 201.0)


def test_model_transformation_tag():
    matrix = (0.5, 0.0, 0.0, 10.0, 0.0, -0.25, 0.0, 20.0, 0, 0, 0, 0, 0, 0, 0, 1)
    affine = georef.raster_transform({georef.TAG_MODEL_TRANSFORMATION: matrix}, {})
    assert affine.apply(4.0, 8.0) == (12.0, 18.0)


def test_footprint_across_the_antimeridian():
    # A 20 km square in UTM zone 60 straddling 180 degrees near the equator.
    affine = georef.Affine(100.0, 0.0, 820_000.0, 0.0, -100.0, 20_000.0)
    west, south, east, north = georef.footprint(affine, 200, 200, 32660)
    assert west > east
    assert 179.5 < west < 180 and -180 < east < -179.5
    assert south == pytest.approx(0.0, abs=1e-9) and 0.1 < north < 0.2


def test_geokeys_with_ascii_and_double_params():
    directory = (1, 1, 0, 3, 1024, 0, 1, 1, 1026, 34737, 21, 0, 2057, 34736, 1, 0)
    keys = georef.parse_geokeys(directory, (6378137.0,), "NAD83 / UTM zone 14N|")
    assert keys == {1024: 1, 1026: "NAD83 / UTM zone 14N", 2057: 6378137.0}
    assert georef.epsg_of(keys) is None  # no CRS code, only a citation
    assert georef.epsg_of({1024: 1, 3072: georef.USER_DEFINED}) is None
    assert georef.epsg_of({1024: 2, 2048: 4326, 3072: 32614}) == 4326


def test_is_geotiff_routes_naip_away_from_decode_image():
    data = NAIP_2009_TIF.read_bytes()
    assert is_geotiff(data)
    assert not is_geotiff(NAIP_2009_PNG.read_bytes())
    plain = io.BytesIO()
    Image.new("RGB", (4, 4)).save(plain, "TIFF")
    assert not is_geotiff(plain.getvalue())
    # Why it matters: Pillow takes the 4th (NIR) band for alpha.
    with Image.open(NAIP_2009_PNG) as png:
        true_colour = np.asarray(png.convert("RGB"))
    assert not np.array_equal(np.asarray(decode_image(data, max_bytes=10**8, max_pixels=10**8)), true_colour)
