"""A few optimisation steps of the tiny DDPM on real aerial patches lower the loss; label dropout works."""

from __future__ import annotations

import torch

from shared.models import EMA, create_model
from shared.models.diffusion.noise_schedule import NoiseSchedule
from shared.models.images import from_uint8


def test_training_steps_lower_the_loss_on_a_fixed_batch(naip_patches_32):
    torch.manual_seed(0)
    model = create_model("ddpm-unet-tiny")
    schedule = NoiseSchedule.for_model(model)
    ema = EMA(model, decay=0.9)
    x0 = from_uint8(naip_patches_32[::5][:8])
    g = torch.Generator().manual_seed(0)
    t = schedule.sample_timesteps(x0.shape[0], "cpu", g)
    noise = torch.randn(x0.shape, generator=g)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def loss() -> torch.Tensor:
        return schedule.training_loss(model, x0, t=t, noise=noise)

    with torch.no_grad():
        before = loss().item()
    model.train()
    for _ in range(15):
        optimizer.zero_grad()
        value = loss()
        value.backward()
        optimizer.step()
        ema.update()
    with torch.no_grad():
        after = loss().item()
    assert after < 0.7 * before, (before, after)
    assert ema.num_updates == 15


def test_class_labels_are_dropped_to_the_null_class_only_in_training():
    torch.manual_seed(0)
    model = create_model("ddpm-unet-tiny", num_classes=3, class_dropout_prob=0.999)
    x, t = torch.randn(4, 3, 32, 32), torch.tensor([1, 200, 400, 800])
    labels = torch.tensor([0, 1, 2, 0])
    with torch.no_grad():
        model.eval()
        conditional, unconditional = model(x, t, labels), model(x, t)
        model.train()
        dropped = model(x, t, labels)
    assert not torch.allclose(conditional, unconditional)
    torch.testing.assert_close(dropped, unconditional)
    assert model.null_class_label == 3
