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
    with pytest.raises(ValueError, match=r"unknown zoo family \['stylegan3'\]; known: \["):
        check_families(["stylegan3", "autoencoder"])


def test_the_gan_paints_detail_finer_than_the_layout_it_is_given(tiles):
    """The GAN sees only 4x4-block means; after a few adversarial steps its fakes carry fine detail of the
    real tiles' order, where the layout brought back by interpolation has almost none."""
    import torch.nn.functional as F

    from shared.models import from_uint8

    def fine_detail(batch):  # mean |x - its 3x3 box blur|
        return (batch - F.avg_pool2d(F.pad(batch, (1, 1, 1, 1), mode="replicate"), 3, 1)).abs().mean().item()

    sources = crops(96, per_tile=2, seed=4)
    real = from_uint8(np.stack(sources))
    fitted = FAMILIES["gan"].fit(tiles, 40, 0)
    fake = from_uint8(np.stack(make_fakes("gan", fitted, sources, seed=0)))
    blurred = F.interpolate(F.avg_pool2d(real, 4), scale_factor=4, mode="bilinear", align_corners=False)
    assert fine_detail(fake) > 3 * fine_detail(blurred)
    assert fine_detail(fake) < 3 * fine_detail(real)


def test_diffusion_reconstruction_keeps_the_layout_and_redraws_the_detail(tiles):
    """SDEdit at strength 0.2: the coarse layout (8x8-block means) stays close to the source, nearer than to
    another real image's; the fine detail is the denoiser's, not the source's."""
    import torch.nn.functional as F

    from shared.models import from_uint8

    sources = crops(96, per_tile=2, seed=4)
    fitted = FAMILIES["diffusion"].fit(tiles, 30, 0)
    real = from_uint8(np.stack(sources))
    fake = from_uint8(np.stack(make_fakes("diffusion", fitted, sources, seed=0)))
    coarse = lambda batch: F.avg_pool2d(batch, 8)  # noqa: E731
    to_source = (coarse(fake) - coarse(real)).abs().mean().item()
    to_other = (coarse(fake) - coarse(real.roll(1, dims=0))).abs().mean().item()
    assert to_source < 0.5 * to_other
    fine = lambda batch: batch - F.interpolate(coarse(batch), scale_factor=8, mode="nearest")  # noqa: E731
    assert (fine(fake) - fine(real)).abs().mean().item() > 0.02  # about 2.5 grey levels of 255
