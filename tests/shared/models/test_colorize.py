"""colorize(): output at the input's resolution with exactly the input's lightness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from shared.models import colorize, create_model
from shared.models.colorizer.colorize import fit_chroma_to_gamut, gray_to_lightness, recombine
from shared.models.colorizer.lab import lab_to_srgb, srgb_to_lab


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return create_model("colorizer-unet", image_size=32, base_channels=8)


def lightness_of(image: Image.Image) -> np.ndarray:
    rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0).permute(2, 0, 1)
    return srgb_to_lab(rgb)[0].numpy()


def test_colorize_keeps_resolution_and_lightness(generator, photo):
    gray = photo.convert("L")
    assert gray.size == (451, 300)
    out = colorize(generator, gray)
    assert out.mode == "RGB" and out.size == gray.size
    assert generator.training  # restored after inference
    # Identical L* up to 8-bit rounding of the output channels.
    difference = np.abs(lightness_of(out) - lightness_of(gray))
    assert difference.max() < 0.75 and difference.mean() < 0.15
    # A random network still predicts some colour: the output is not just the gray image.
    assert np.abs(np.asarray(out, dtype=int) - np.asarray(gray.convert("RGB"), dtype=int)).max() > 0


def test_colour_input_is_treated_as_its_grayscale(generator, photo):
    assert np.array_equal(np.asarray(colorize(generator, photo)), np.asarray(colorize(generator, photo.convert("L"))))


def test_recombine_is_exact_in_lightness_even_out_of_gamut():
    g = torch.Generator().manual_seed(0)
    lightness = torch.rand(1, 1, 40, 30, generator=g, dtype=torch.float64) * 100
    ab = (torch.rand(1, 2, 10, 15, generator=g, dtype=torch.float64) - 0.5) * 300  # mostly out of gamut
    rgb = recombine(lightness, ab)
    assert rgb.shape == (1, 3, 40, 30) and rgb.min() >= 0 and rgb.max() <= 1
    assert (srgb_to_lab(rgb)[:, :1] - lightness).abs().max() < 1e-3


def test_gamut_fitting_only_reduces_chroma():
    lightness = torch.tensor([50.0, 50.0, 95.0], dtype=torch.float64).reshape(1, 1, 1, 3)
    ab = torch.tensor([[10.0, 200.0, 80.0], [-5.0, 0.0, -80.0]], dtype=torch.float64).reshape(1, 2, 1, 3)
    fitted = fit_chroma_to_gamut(lightness, ab)
    assert torch.equal(fitted[..., 0], ab[..., 0])  # already in gamut: untouched
    scale = fitted / ab.where(ab != 0, torch.ones_like(ab))
    assert (scale[..., 1:] < 1).all() and (scale >= 0).all()
    rgb = lab_to_srgb(torch.cat([lightness, fitted], dim=1))
    assert rgb.min() > -1e-4 and rgb.max() < 1 + 1e-4


def test_gray_to_lightness_matches_the_lab_conversion():
    gray = torch.linspace(0, 1, 11, dtype=torch.float64).reshape(1, 1, 1, 11)
    expected = srgb_to_lab(gray.expand(1, 3, 1, 11))[:, :1]
    assert torch.equal(gray_to_lightness(gray), expected)
