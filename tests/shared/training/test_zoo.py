"""The generator zoo: every family fits on real tiles and fakes an image at its own size, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from shared.training.zoo import FAMILIES, check_families, make_fakes
from tests.shared.training.conftest import crops


@pytest.fixture(scope="module")
def tiles():
    return crops(64, per_tile=4, seed=3)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_family_fakes_at_the_source_size_close_to_but_not_the_source(family, tiles):
    fitted = FAMILIES[family].fit(tiles, 30, 0)
    sources = [tiles[0], crops(96, per_tile=1, seed=4)[0][:93, :81]]  # another size, not square, odd sides
    fakes = make_fakes(family, fitted, sources, seed=0)
    for source, fake in zip(sources, fakes):
        assert fake.dtype == np.uint8 and fake.shape == source.shape
        difference = np.abs(fake.astype(int) - source.astype(int)).mean()
        assert 0.5 < difference < 60, (family, difference)  # a fake of this image, not a copy and not noise
    again = make_fakes(family, FAMILIES[family].fit(tiles, 30, 0), sources, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(fakes, again))  # seeded end to end


def test_family_names_are_checked():
    assert check_families([]) == sorted(FAMILIES)
    assert check_families(["upsampler", "autoencoder", "upsampler"]) == ["autoencoder", "upsampler"]
    with pytest.raises(ValueError, match=r"unknown zoo family \['gan'\]; known: \["):
        check_families(["gan", "autoencoder"])
