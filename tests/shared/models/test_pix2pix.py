"""pix2pix pieces: generator/discriminator layout and the L1 + adversarial objective."""

from __future__ import annotations

import pytest
import torch

from shared.models import create_model
from shared.models.colorizer.losses import L1_WEIGHT, discriminator_loss, generator_loss
from shared.models.colorizer.patchgan import receptive_field


def test_patchgan_sees_70x70_patches():
    assert receptive_field(3) == 70
    assert receptive_field(1) == 16  # the "16x16 PatchGAN" of the paper
    with torch.device("meta"):
        disc = create_model("colorizer-patchgan")
        out = disc(torch.zeros(1, 1, 256, 256), torch.zeros(1, 2, 256, 256))
    assert out.shape == (1, 1, 30, 30)


def test_patchgan_output_depends_only_on_a_70px_neighbourhood():
    torch.manual_seed(0)
    # BatchNorm in eval mode is per-pixel affine; instance norm would mix in whole-image statistics.
    disc = create_model("colorizer-patchgan", base_channels=4).eval()
    l, ab = torch.randn(1, 1, 128, 128), torch.randn(1, 2, 128, 128)
    changed = ab.clone()
    changed[..., 100:, 100:] += 5.0  # far from the top-left output logit's 70x70 window
    with torch.no_grad():
        a, b = disc(l, ab), disc(l, changed)
    assert torch.equal(a[..., 0, 0], b[..., 0, 0])
    assert not torch.equal(a, b)


def test_generator_layout_follows_pix2pix():
    with torch.device("meta"):
        gen = create_model("colorizer-unet")
    assert len(gen.encoder) == 8 and len(gen.decoder) == 8  # 256 px down to 1x1
    dropouts = [any(isinstance(m, torch.nn.Dropout) for m in block) for block in gen.decoder]
    assert dropouts == [False, True, True, True, False, False, False, False]
    assert isinstance(gen.decoder[-1][-1], torch.nn.Tanh)


def test_generator_and_discriminator_losses():
    fake_ab, real_ab = torch.zeros(2, 2, 4, 4), torch.full((2, 2, 4, 4), 0.5)
    confident_real = torch.full((2, 1, 2, 2), 20.0)
    confident_fake = torch.full((2, 1, 2, 2), -20.0)
    loss = generator_loss(confident_real, fake_ab, real_ab)
    assert L1_WEIGHT == 100.0
    assert loss.l1.item() == pytest.approx(0.5)
    assert loss.adversarial.item() == pytest.approx(0.0, abs=1e-6)
    assert loss.total.item() == pytest.approx(100 * 0.5, abs=1e-5)
    assert generator_loss(confident_fake, fake_ab, real_ab).adversarial.item() == pytest.approx(20.0, abs=1e-6)
    assert discriminator_loss(confident_real, confident_fake).item() == pytest.approx(0.0, abs=1e-6)
    assert discriminator_loss(confident_fake, confident_real).item() == pytest.approx(20.0, abs=1e-6)
