"""EMA of model weights: update maths, buffers, warm-up, state round trip."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from shared.models.ema import EMA


def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))


def test_update_is_exponential_moving_average():
    model = tiny_model()
    p0 = model[0].weight.detach().clone()
    ema = EMA(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
    ema.update()
    torch.testing.assert_close(ema.model[0].weight, 0.9 * p0 + 0.1 * torch.ones_like(p0))
    ema.update()
    torch.testing.assert_close(ema.model[0].weight, 0.81 * p0 + 0.19 * torch.ones_like(p0))
    assert ema.num_updates == 2
    # The online model is untouched and the shadow is frozen for sampling.
    assert torch.equal(model[0].weight, torch.ones_like(p0))
    assert not any(p.requires_grad for p in ema.model.parameters()) and not ema.model.training


def test_buffers_are_copied_not_averaged():
    model = tiny_model()
    ema = EMA(model, decay=0.99)
    model.train()(torch.randn(8, 3))  # changes BatchNorm running statistics
    ema.update()
    assert torch.equal(ema.model[1].running_mean, model[1].running_mean)


def test_warmup_decay():
    ema = EMA(tiny_model(), decay=0.999, warmup=True)
    assert ema.current_decay() == pytest.approx(1 / 10)
    ema.num_updates = 10
    assert ema.current_decay() == pytest.approx(11 / 20)
    ema.num_updates = 10**6
    assert ema.current_decay() == 0.999


def test_state_dict_round_trip_and_copy_to():
    model = tiny_model()
    ema = EMA(model, decay=0.5)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    ema.update()
    other = EMA(tiny_model(), decay=0.1)
    other.load_state_dict(ema.state_dict())
    assert other.decay == 0.5 and other.num_updates == 1
    assert torch.equal(other.model[0].weight, ema.model[0].weight)
    target = tiny_model()
    ema.copy_to(target)
    assert torch.equal(target[0].weight, ema.model[0].weight)
