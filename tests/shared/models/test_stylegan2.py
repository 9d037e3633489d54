"""The unconditional StyleGAN2-style generator and discriminator: shapes, style modulation, fixed noise, R1."""

from __future__ import annotations

import pytest
import torch

from shared.models import create_model, load_model, save_model
from shared.models.gan import ModulatedConv, latents, minibatch_stddev
from shared.training.gan import discriminator_loss, generator_loss, r1_penalty

TINY = dict(image_size=16, latent_dim=16, base_channels=16, min_channels=8)
TINY_D = dict(image_size=16, base_channels=16, min_channels=8)


def tiny_pair(seed: int = 0):
    torch.manual_seed(seed)
    return create_model("gan-stylegan2-small", **TINY), create_model("gan-stylegan2-small-discriminator", **TINY_D)


def test_shapes_at_every_supported_size():
    for size in (8, 16, 32):
        g = create_model("gan-stylegan2-small", **{**TINY, "image_size": size})
        d = create_model("gan-stylegan2-small-discriminator", **{**TINY_D, "image_size": size})
        z = torch.randn(3, 16)
        image = g(z, g.noises(3))
        assert image.shape == (3, 3, size, size)
        assert d(image).shape == (3, 1)
    with pytest.raises(ValueError, match="image_size"):
        create_model("gan-stylegan2-small", image_size=24)


def test_the_image_depends_on_the_style_through_modulation():
    g, _ = tiny_pair()
    z = torch.randn(2, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = g(z)
        same = g(z)
    assert not torch.allclose(a, b)  # another w, another image, with the same fixed noise
    assert torch.equal(same, g(z))  # fixed noise maps: a function of z alone
    # Inside one modulated conv: the same input under two styles gives two outputs.
    conv = ModulatedConv(4, 4, 3, style_dim=8)
    x = torch.randn(1, 4, 5, 5).expand(2, -1, -1, -1)
    out = conv(x, torch.randn(2, 8))
    assert not torch.allclose(out[0], out[1])
    # Gradients reach the mapping network, so w is learnt.
    g(z).square().mean().backward()
    assert g.mapping[0].weight.grad.abs().sum() > 0


def test_demodulation_keeps_unit_output_scale_whatever_the_style_magnitude():
    conv = ModulatedConv(16, 16, 3, style_dim=8)
    torch.nn.init.zeros_(conv.bias)
    x = torch.randn(1, 16, 8, 8)
    w = torch.randn(1, 8)
    small = conv(x, w)
    conv.affine.weight.data *= 10
    conv.affine.bias.data *= 10
    assert torch.allclose(small, conv(x, w), atol=1e-4)


def test_fixed_noise_survives_a_save_and_load(tmp_path):
    g, _ = tiny_pair()
    save_model(g.eval(), tmp_path)
    loaded = load_model(tmp_path)
    z = latents([5, 6], 16)
    with torch.no_grad():
        assert torch.equal(g(z), loaded(z))


def test_latents_depend_on_each_seed_alone():
    batch = latents([3, 4, 5], 16)
    assert torch.equal(batch[1:2], latents([4], 16))
    assert not torch.equal(batch[0], batch[1])
    assert latents([], 16).shape == (0, 16)


def test_minibatch_stddev_adds_one_channel_for_any_batch_size():
    for n in (1, 3, 4, 6):
        x = torch.randn(n, 5, 4, 4)
        y = minibatch_stddev(x, 4)
        assert y.shape == (n, 6, 4, 4) and torch.isfinite(y).all()
    # Identical samples: no spread (only the epsilon under the square root).
    assert torch.allclose(minibatch_stddev(torch.ones(4, 2, 4, 4), 4)[:, 2], torch.full((4, 4, 4), 1e-4))


def test_r1_penalty_is_positive_and_trains_the_discriminator():
    g, d = tiny_pair()
    real = torch.rand(4, 3, 16, 16) * 2 - 1
    penalty = r1_penalty(d, real)
    assert penalty.item() > 0 and penalty.requires_grad
    penalty.backward()
    grads = [p.grad for p in d.parameters() if p.grad is not None]
    assert grads and sum(float(gr.abs().sum()) for gr in grads) > 0
    assert real.grad is None  # the penalty differentiates a detached copy of the reals


def test_non_saturating_losses():
    zero = torch.zeros(4, 1)
    assert discriminator_loss(zero, zero).item() == pytest.approx(2 * torch.log(torch.tensor(2.0)).item())
    # A discriminator sure of reals and fakes has a small loss; a generator it sees through a large one.
    assert discriminator_loss(torch.full((4, 1), 10.0), torch.full((4, 1), -10.0)).item() < 1e-3
    assert generator_loss(torch.full((4, 1), -10.0)).item() > 9


@pytest.mark.parametrize("demodulate", [True, False])
def test_the_exportable_modulation_equals_the_fused_one_in_value_and_gradient(demodulate):
    torch.manual_seed(0)
    fused = ModulatedConv(8, 5, 3, style_dim=6, demodulate=demodulate)
    split = ModulatedConv(8, 5, 3, style_dim=6, demodulate=demodulate, fused=False)
    split.load_state_dict(fused.state_dict())
    x, w = torch.randn(3, 8, 7, 7, requires_grad=True), torch.randn(3, 6)
    a, b = fused(x, w), split(x, w)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    grads = [torch.autograd.grad(out.square().sum(), [x, m.weight, m.affine.weight])
             for out, m in ((a, fused), (b, split))]  # fmt: skip
    for ga, gb in zip(*grads):
        torch.testing.assert_close(ga, gb, atol=1e-4, rtol=1e-4)
