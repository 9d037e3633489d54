"""sRGB <-> CIE L*a*b* (D65): reference values, exact round trips, normalisation ranges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.models.colorizer.lab import (
    AB_SCALE,
    denormalize_lab,
    lab_to_srgb,
    lab_to_srgb_np,
    normalize_lab,
    srgb_to_lab,
    srgb_to_lab_np,
)


def pixel(*rgb: float) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float64).reshape(3, 1, 1)


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.2408, 80.0925, 67.2032)),
        ((0.0, 1.0, 0.0), (87.7347, -86.1827, 83.1793)),
        ((0.0, 0.0, 1.0), (32.2970, 79.1875, -107.8602)),
        ((0.5, 0.5, 0.5), (53.3890, 0.0, 0.0)),
    ],
)
def test_reference_values(rgb, lab):
    # Published sRGB/D65 values (e.g. Lindbloom's calculator) to ~0.01.
    got = srgb_to_lab(pixel(*rgb)).flatten().tolist()
    assert got == pytest.approx(list(lab), abs=0.02)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_round_trip_on_random_srgb(dtype):
    rgb = torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(0), dtype=dtype)
    rgb[0, :, 0, :4] = torch.tensor([0.0, 1.0, 0.04045, 0.0031308], dtype=dtype)  # edges of the pieces
    back = lab_to_srgb(srgb_to_lab(rgb))
    assert (back - rgb).abs().max().item() < 1e-3
    if dtype == torch.float64:
        # The standard's two gamma pieces meet with a ~3e-8 gap at the knee; elsewhere it is ~1e-15.
        assert (back - rgb).abs().max().item() < 1e-7


def test_round_trip_on_a_real_photo(photo):
    rgb = torch.from_numpy(np.asarray(photo, dtype=np.float32) / 255.0).permute(2, 0, 1)
    back = lab_to_srgb(srgb_to_lab(rgb))
    assert (back - rgb).abs().max().item() < 1e-3
    # And through 8 bits: every pixel comes back to the same value.
    assert torch.equal((back * 255).round(), (rgb * 255).round())


def test_numpy_wrappers_agree(photo):
    array = np.asarray(photo)[:40, :50]
    lab = srgb_to_lab_np(array)
    assert lab.shape == (40, 50, 3)
    assert np.abs(lab_to_srgb_np(lab) * 255 - array).max() < 1e-6


def test_normalisation_covers_the_gamut_within_minus_one_to_one():
    g = torch.linspace(0, 1, 33, dtype=torch.float64)
    cube = torch.stack(torch.meshgrid(g, g, g, indexing="ij")).reshape(3, -1, 1)
    l_norm, ab_norm = normalize_lab(srgb_to_lab(cube))
    assert l_norm.min() >= -1 and l_norm.max() <= 1 + 1e-9
    assert ab_norm.abs().max() < 1.0 and ab_norm.abs().max() > 0.9  # ab/110 uses the range without clipping
    torch.testing.assert_close(denormalize_lab(l_norm, ab_norm), srgb_to_lab(cube))
    assert AB_SCALE == 110.0
