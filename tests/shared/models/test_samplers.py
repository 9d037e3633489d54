"""Contract of every sampler, and the maths that ties DDIM to DDPM."""

from __future__ import annotations

import pytest
import torch

from shared.models.diffusion.noise_schedule import NoiseSchedule
from shared.models.samplers import SAMPLERS, DDIMSampler, DDPMSampler, StepOutput, create_sampler

SHAPE = (2, 3, 8, 8)


@pytest.fixture(scope="module")
def schedule() -> NoiseSchedule:
    return NoiseSchedule("linear", 1000)


def make_sampler(name: str, schedule: NoiseSchedule):
    # eta = 1 so that the DDIM contract checks its stochastic path too.
    return create_sampler(name, schedule, num_steps=None if name == "ddpm" else 25, eta=1.0)


def tensors(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(SHAPE, generator=g), torch.randn(SHAPE, generator=g)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_set_timesteps_gives_a_decreasing_sequence_in_range(name, schedule):
    sampler = make_sampler(name, schedule)
    steps = sampler.timesteps
    assert steps.dtype == torch.long and steps.ndim == 1
    assert int(steps[0]) == schedule.num_train_timesteps - 1
    assert (steps[1:] < steps[:-1]).all() and int(steps.min()) >= 0
    assert sampler.num_steps == len(steps) == (1000 if name == "ddpm" else 25)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_step_output_shapes(name, schedule):
    sampler = make_sampler(name, schedule)
    sample, model_output = tensors()
    for t in sampler.timesteps[[0, len(sampler.timesteps) // 2, -1]]:
        out = sampler.step(model_output, t, sample, generator=torch.Generator().manual_seed(0))
        assert isinstance(out, StepOutput)
        assert out.prev_sample.shape == SHAPE and out.pred_original_sample.shape == SHAPE
        assert torch.isfinite(out.prev_sample).all()
        assert out.pred_original_sample.abs().max() <= 1.0  # clip_sample is on by default


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_step_is_deterministic_by_seed(name, schedule):
    sampler = make_sampler(name, schedule)
    sample, model_output = tensors()
    t = int(sampler.timesteps[3])
    run = lambda seed: sampler.step(model_output, t, sample, generator=torch.Generator().manual_seed(seed)).prev_sample
    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_ddpm_only_accepts_the_training_schedule(schedule):
    sampler = DDPMSampler(schedule)
    sampler.set_timesteps(1000)
    with pytest.raises(ValueError, match="DDIM"):
        sampler.set_timesteps(50)


def test_ddim_spacing_covers_the_schedule(schedule):
    sampler = DDIMSampler(schedule)
    sampler.set_timesteps(1000)
    assert torch.equal(sampler.timesteps, torch.arange(999, -1, -1))
    sampler.set_timesteps(10)
    assert sampler.timesteps.tolist() == [999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
    with pytest.raises(ValueError):
        sampler.set_timesteps(1001)


def test_create_sampler_understands_api_names(schedule):
    assert isinstance(create_sampler("SAMPLER_DDIM", schedule, num_steps=20), DDIMSampler)
    assert isinstance(create_sampler("ddpm", schedule), DDPMSampler)
    assert create_sampler("ddim", schedule, eta=0.5).eta == 0.5
    with pytest.raises(ValueError, match="unknown sampler"):
        create_sampler("euler", schedule)


def test_ddim_eta1_variance_is_the_ddpm_posterior_variance(schedule):
    # With eta = 1 and consecutive timesteps, sigma_t^2 = (1 - a_{t-1})/(1 - a_t) * (1 - a_t/a_{t-1})
    # = (1 - a_{t-1})/(1 - a_t) * beta_t = beta-tilde_t (Ho et al. eq. 7).
    ddim = DDIMSampler(schedule, eta=1.0)
    ddim.set_timesteps(1000)
    ddpm = DDPMSampler(schedule)
    ddim_var = torch.tensor([ddim.variance(t) for t in range(1000)], dtype=torch.float64)
    ddpm_var = torch.tensor([ddpm.variance(t) for t in range(1000)], dtype=torch.float64)
    expected = schedule.posterior_variance.clone()
    expected[0] = 0.0  # no noise is added on the last step
    torch.testing.assert_close(ddim_var, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(ddpm_var, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("clip_sample", [False, True])
@pytest.mark.parametrize("t", [999, 600, 250, 30, 1, 0])
def test_ddim_eta1_step_matches_ddpm_posterior_mean_and_noise(schedule, t, clip_sample):
    ddim = DDIMSampler(schedule, eta=1.0, clip_sample=clip_sample)
    ddim.set_timesteps(1000)
    ddpm = DDPMSampler(schedule, clip_sample=clip_sample)
    sample, model_output = (x.double() for x in tensors(seed=t))
    model_output = 3.0 * model_output  # large enough that clipping x_0 matters when it is on

    ddim_out = ddim.step(model_output, t, sample, generator=torch.Generator().manual_seed(11))
    ddpm_out = ddpm.step(model_output, t, sample, generator=torch.Generator().manual_seed(11))
    torch.testing.assert_close(ddim_out.pred_original_sample, ddpm_out.pred_original_sample)

    # Remove the (identical) noise each drew to recover the means.
    z = torch.randn(SHAPE, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    ddim_mean = ddim_out.prev_sample - ddim.variance(t) ** 0.5 * z
    # DDPM posterior mean written out independently from the schedule buffers (Ho et al. eq. 7).
    a_t, a_prev = schedule.alphas_cumprod[t], schedule.alphas_cumprod_prev[t]
    beta, alpha = schedule.betas[t], schedule.alphas[t]
    x0 = ddpm_out.pred_original_sample
    posterior_mean = a_prev.sqrt() * beta / (1 - a_t) * x0 + alpha.sqrt() * (1 - a_prev) / (1 - a_t) * sample
    torch.testing.assert_close(ddim_mean, posterior_mean, rtol=1e-7, atol=1e-9)
    torch.testing.assert_close(ddim_out.prev_sample, ddpm_out.prev_sample, rtol=1e-7, atol=1e-9)


def test_ddim_eta0_ignores_the_generator(schedule):
    sampler = DDIMSampler(schedule, eta=0.0)
    sampler.set_timesteps(20)
    sample, model_output = tensors()
    t = int(sampler.timesteps[5])
    outs = [
        sampler.step(model_output, t, sample, generator=g).prev_sample
        for g in (None, torch.Generator().manual_seed(1), torch.Generator().manual_seed(2))
    ]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_last_step_returns_the_predicted_clean_image(schedule):
    sample, model_output = tensors()
    for sampler in (DDPMSampler(schedule), DDIMSampler(schedule, eta=1.0)):
        t = int(sampler.timesteps[-1])
        out = sampler.step(model_output, t, sample, generator=torch.Generator().manual_seed(0))
        torch.testing.assert_close(out.prev_sample, out.pred_original_sample)


def test_per_image_generators_make_each_image_depend_on_its_own_seed(schedule):
    sampler = DDPMSampler(schedule)
    sample, model_output = tensors()
    gens = lambda seeds: [torch.Generator().manual_seed(s) for s in seeds]
    both = sampler.step(model_output, 500, sample, generator=gens([4, 5])).prev_sample
    alone = sampler.step(model_output[1:], 500, sample[1:], generator=gens([5])).prev_sample
    assert torch.equal(both[1:], alone)
