"""Beta schedules, derived constants and the forward (noising) process."""

from __future__ import annotations

import math

import pytest
import torch

from shared.models.diffusion.noise_schedule import NoiseSchedule, cosine_betas, epsilon_mse_loss, linear_betas, make_betas


def test_linear_betas_are_ho_et_al():
    betas = linear_betas(1000)
    assert betas.dtype == torch.float64 and betas.shape == (1000,)
    assert betas[0].item() == pytest.approx(1e-4) and betas[-1].item() == pytest.approx(0.02)
    assert (betas[1:] > betas[:-1]).all()


def test_cosine_betas_follow_the_cosine_alpha_bar():
    T, s = 1000, 0.008
    alpha_bar = torch.cumprod(1 - cosine_betas(T), dim=0)
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    for t in (0, 100, 500, 900):
        assert alpha_bar[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert cosine_betas(T).max().item() <= 0.999


def test_make_betas_rejects_unknown_schedules():
    with pytest.raises(ValueError):
        make_betas("sigmoid", 10)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_derived_constants(name):
    sched = NoiseSchedule(name, 1000)
    torch.testing.assert_close(sched.alphas_cumprod, torch.cumprod(1 - sched.betas, 0))
    assert sched.alphas_cumprod_prev[0].item() == 1.0
    torch.testing.assert_close(sched.alphas_cumprod_prev[1:], sched.alphas_cumprod[:-1])
    expected = sched.betas * (1 - sched.alphas_cumprod_prev) / (1 - sched.alphas_cumprod)
    torch.testing.assert_close(sched.posterior_variance, expected)
    assert (sched.alphas_cumprod[1:] < sched.alphas_cumprod[:-1]).all()
    # Derived constants are buffers (they follow .to()) but are not saved with weights.
    assert "alphas_cumprod" in dict(sched.named_buffers()) and sched.state_dict() == {}


def test_add_noise_is_q_sample():
    sched = NoiseSchedule("linear", 1000)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(3, 3, 4, 4, generator=g), torch.randn(3, 3, 4, 4, generator=g)
    t = torch.tensor([0, 500, 999])
    x_t = sched.add_noise(x0, noise, t)
    for i, ti in enumerate(t.tolist()):
        a = sched.alphas_cumprod[ti].item()
        torch.testing.assert_close(x_t[i], math.sqrt(a) * x0[i] + math.sqrt(1 - a) * noise[i])
    assert x_t.dtype == torch.float32


def test_training_loss_is_epsilon_mse():
    sched = NoiseSchedule("linear", 100)
    model = lambda x, t: torch.zeros_like(x)  # predicts no noise: loss = E[noise^2]
    x0 = torch.zeros(2, 3, 4, 4)
    noise = torch.ones_like(x0) * 2
    loss = sched.training_loss(model, x0, t=torch.tensor([5, 50]), noise=noise)
    assert loss.item() == pytest.approx(4.0)
    assert epsilon_mse_loss(noise, noise).item() == 0.0


def test_schedule_for_model_reads_its_config():
    from shared.models import create_model

    sched = NoiseSchedule.for_model(create_model("ddpm-unet-base", image_size=32, base_channels=8, channel_mult=[1]))
    assert sched.name == "cosine" and sched.num_train_timesteps == 1000
