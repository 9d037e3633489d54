"""Grad-CAM heatmaps of the detectors, and their overlay for reports."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from shared.models import create_model
from shared.models.detector import grad_cam, overlay_heatmap
from shared.models.images import from_uint8, to_pil

DETECTORS = {
    "detector-resnet18": dict(input_size=64, base_width=8),
    "detector-small": dict(input_size=48, widths=[8, 16, 32]),
}


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_heatmap_shape_range_and_side_effects(name, naip_patches_64):
    torch.manual_seed(0)
    model = create_model(name, **DETECTORS[name]).eval()
    x = from_uint8(naip_patches_64[:3])[..., :60, :52]  # a non-square, odd-factor size on purpose
    heat = grad_cam(model, x)
    assert heat.shape == (3, 60, 52)
    assert heat.min() >= 0 and heat.max() <= 1
    assert torch.allclose(heat.flatten(1).max(dim=1).values, torch.ones(3))
    assert not heat.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert not model.training
    # Opposite evidence: its own non-negative map, also in range.
    real = grad_cam(model, x, target="real")
    assert real.shape == heat.shape and real.min() >= 0 and real.max() <= 1


def test_explicit_target_layer_and_frozen_model():
    torch.manual_seed(0)
    model = create_model("detector-resnet18", input_size=32, base_width=8).eval().requires_grad_(False)
    heat = grad_cam(model, torch.randn(2, 3, 32, 32), target_layer=model.layers[2])
    assert heat.shape == (2, 32, 32) and heat.max() <= 1


def test_overlay_heatmap_keeps_the_image_size(naip_patches_64):
    image = to_pil(from_uint8(naip_patches_64[:1]))[0]
    heat = torch.linspace(0, 1, 16 * 16).reshape(16, 16)
    blended = overlay_heatmap(image, heat, alpha=0.5)
    assert isinstance(blended, Image.Image) and blended.size == image.size and blended.mode == "RGB"
    assert np.asarray(overlay_heatmap(image, heat, alpha=0.0)).tolist() == np.asarray(image).tolist()
