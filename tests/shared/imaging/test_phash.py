"""Perceptual hash: stable under re-encoding, far apart for different scenes."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image

from shared.imaging import hamming, phash, phash_from_signed, phash_to_signed
from tests.shared.imaging.assets import CHELSEA_PNG, CHINA_JPG, COFFEE_PNG, NAIP_2009_PNG, NEON_PNG

SCENES = [NAIP_2009_PNG, NEON_PNG, CHELSEA_PNG, COFFEE_PNG, CHINA_JPG]


def load(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def reencode_jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


@pytest.mark.parametrize("path", SCENES)
def test_jpeg_reencoding_keeps_hash_close(path):
    image = load(path)
    assert hamming(phash(image), phash(reencode_jpeg(image, 90))) <= 6


@pytest.mark.parametrize("path", SCENES)
def test_mild_resize_keeps_hash_close(path):
    image = load(path)
    smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
    assert hamming(phash(image), phash(smaller)) <= 6


def test_different_scenes_are_far_apart():
    hashes = {path.name: phash(load(path)) for path in SCENES}
    for (name_a, a), (name_b, b) in itertools.combinations(hashes.items(), 2):
        assert hamming(a, b) > 15, (name_a, name_b)


def test_hash_is_64_bit_and_deterministic():
    image = load(NEON_PNG)
    value = phash(image)
    assert 0 <= value < 2**64
    assert phash(image.copy()) == value
    assert bin(value).count("1") in range(24, 41)  # median threshold: about half the bits set


def test_signed_round_trip_fits_a_bigint():
    for value in [0, 1, 2**63 - 1, 2**63, 2**64 - 1, phash(load(CHELSEA_PNG))]:
        signed = phash_to_signed(value)
        assert -(2**63) <= signed < 2**63
        assert phash_from_signed(signed) == value
    assert phash_to_signed(2**64 - 1) == -1
    with pytest.raises(ValueError):
        phash_to_signed(2**64)
    with pytest.raises(ValueError):
        phash_from_signed(2**63)


def test_hamming_works_on_either_form():
    a, b = 0xFFFF_0000_0000_0001, 0x0000_0000_0000_0003
    assert hamming(a, b) == 17
    assert hamming(phash_to_signed(a), b) == 17
    assert hamming(a, a) == 0
