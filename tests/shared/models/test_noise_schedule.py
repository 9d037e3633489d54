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


def test_v_prediction_target_and_its_inversion_by_the_samplers():
    # v = sqrt(ab) eps - sqrt(1 - ab) x0; a sampler given the true v recovers x0 and eps exactly.
    from shared.models.samplers import DDIMSampler, DDPMSampler

    sched = NoiseSchedule("cosine", 1000, prediction="v")
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(2, 3, 4, 4, generator=g) * 1.8 - 0.9
    noise = torch.randn(x0.shape, generator=g)
    for t in (0, 300, 999):
        tt = torch.tensor([t, t])
        a = float(sched.alphas_cumprod[t])
        v = sched.target(x0, noise, tt)
        torch.testing.assert_close(v, math.sqrt(a) * noise - math.sqrt(1 - a) * x0)
        x_t = sched.add_noise(x0, noise, tt)
        for sampler in (DDPMSampler(sched), DDIMSampler(sched)):
            got_x0, got_eps = sampler._predict_x0(v, t, x_t)
            torch.testing.assert_close(got_x0, x0, atol=1e-4, rtol=0)
            if t > 0:  # at t = 0 eps is barely in x_t: recovering it divides by sqrt(1 - ab) ~ 0.01
                torch.testing.assert_close(got_eps, noise, atol=1e-3, rtol=0)
    # The loss of a perfect v-predictor is 0, and an epsilon target is not what it learns.
    perfect = lambda x, t: sched.target(x0, noise, t)
    assert sched.training_loss(perfect, x0, t=torch.tensor([10, 900]), noise=noise).item() < 1e-10
    eps_sched = NoiseSchedule("cosine", 1000)
    assert eps_sched.training_loss(perfect, x0, t=torch.tensor([10, 900]), noise=noise).item() > 0.1


def test_prediction_is_recorded_in_the_model_config():
    from shared.models import create_model

    model = create_model("ddpm-unet-tiny", prediction="v")
    assert NoiseSchedule.for_model(model).prediction == "v"
    assert NoiseSchedule.from_config({}).prediction == "epsilon"  # checkpoints from before the option
    with pytest.raises(ValueError, match="prediction"):
        create_model("ddpm-unet-tiny", prediction="x0")
