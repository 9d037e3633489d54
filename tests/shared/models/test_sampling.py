"""The sampling loop: seeded reproducibility, per-image seeds, callbacks, guidance, uint8 conversion."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared.models import create_model
from shared.models.diffusion.guidance import classifier_free_guidance, combine_guidance, predict_noise
from shared.models.diffusion.noise_schedule import NoiseSchedule
from shared.models.diffusion.sampling import sample
from shared.models.images import from_uint8, to_pil, to_uint8
from shared.models.samplers import DDIMSampler, DDPMSampler

NUM_CLASSES = 4


@pytest.fixture(scope="module")
def conditional_model():
    torch.manual_seed(0)
    return create_model("ddpm-unet-tiny", num_classes=NUM_CLASSES).eval()


@pytest.fixture(scope="module")
def schedule():
    return NoiseSchedule("linear", 1000)


def test_same_seed_same_images_and_callback_per_step(conditional_model, schedule):
    sampler = DDIMSampler(schedule, eta=1.0)
    sampler.set_timesteps(4)
    calls = []
    run = lambda seed, cb=None: sample(
        conditional_model, sampler, (2, 3, 32, 32), seed=seed, class_labels=[1, 2], device="cpu", callback=cb
    )
    first = run(3, lambda i, n, t, out: calls.append((i, n, t, tuple(out.prev_sample.shape))))
    assert torch.equal(first, run(3))
    assert not torch.equal(first, run(4))
    assert first.shape == (2, 3, 32, 32) and first.min() >= -1 and first.max() <= 1
    assert calls == [(i, 4, t, (2, 3, 32, 32)) for i, t in enumerate(sampler.timesteps.tolist())]


def test_per_image_seeds_reproduce_one_image_alone(conditional_model, schedule):
    sampler = DDIMSampler(schedule, eta=0.5)
    sampler.set_timesteps(3)
    batch = sample(conditional_model, sampler, (3, 3, 32, 32), seed=[10, 11, 12], class_labels=[0, 1, 2])
    alone = sample(conditional_model, sampler, (1, 3, 32, 32), seed=[11], class_labels=[1])
    # Equal up to float rounding: CPU kernels may sum in another order for another batch size.
    torch.testing.assert_close(batch[1:2], alone, rtol=0, atol=1e-4)


def test_ddpm_loop_on_a_short_schedule():
    sched = NoiseSchedule("cosine", 20)
    torch.manual_seed(0)
    model = create_model("ddpm-unet-tiny", num_train_timesteps=20, noise_schedule="cosine").eval()
    sampler = DDPMSampler(sched)
    images = sample(model, sampler, (1, 3, 32, 32), seed=0)
    assert images.shape == (1, 3, 32, 32) and torch.equal(images, sample(model, sampler, (1, 3, 32, 32), seed=0))


def test_guidance_scale_one_is_the_conditional_prediction(conditional_model):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 3, 32, 32, generator=g)
    t = torch.tensor([10, 500, 900])
    labels = torch.tensor([0, 3, 1])
    with torch.no_grad():
        cond = conditional_model(x, t, labels)
        uncond = conditional_model(x, t, None)
        # The batched two-pass path at s = 1 and s = 0.
        torch.testing.assert_close(classifier_free_guidance(conditional_model, x, t, labels, 1.0), cond, rtol=0, atol=1e-5)
        torch.testing.assert_close(classifier_free_guidance(conditional_model, x, t, labels, 0.0), uncond, rtol=0, atol=1e-5)
        assert torch.equal(predict_noise(conditional_model, x, t, labels, 1.0), cond)
        guided = predict_noise(conditional_model, x, t, labels, 3.0)
    torch.testing.assert_close(guided, uncond + 3.0 * (cond - uncond), rtol=0, atol=1e-4)
    assert not torch.allclose(cond, uncond)
    torch.testing.assert_close(combine_guidance(uncond, cond, 2.0), 2 * cond - uncond)


def test_guided_sampling_is_reproducible(conditional_model, schedule):
    sampler = DDIMSampler(schedule)
    sampler.set_timesteps(3)
    run = lambda s: sample(conditional_model, sampler, (2, 3, 32, 32), seed=1, class_labels=[2], guidance_scale=s)
    assert torch.equal(run(4.0), run(4.0))
    assert not torch.equal(run(4.0), run(1.0))


def test_unconditional_model_refuses_labels():
    model = create_model("ddpm-unet-tiny").eval()
    with pytest.raises(ValueError, match="unconditional"):
        model(torch.zeros(1, 3, 32, 32), torch.zeros(1, dtype=torch.long), torch.zeros(1, dtype=torch.long))


def test_uint8_conversion_round_trip():
    array = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    tensor = from_uint8(array)
    assert tensor.shape == (2, 3, 5, 7) and tensor.min() >= -1 and tensor.max() <= 1
    assert np.array_equal(to_uint8(tensor), array)
    images = to_pil(tensor)
    assert len(images) == 2 and images[0].size == (7, 5) and images[0].mode == "RGB"
    clipped = to_uint8(torch.tensor([-2.0, -1.0, 0.0, 1.0, 5.0]).reshape(1, 1, 5))
    assert clipped.shape == (1, 5, 1) and clipped.reshape(-1).tolist() == [0, 0, 128, 255, 255]
