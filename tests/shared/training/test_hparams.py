"""Hyperparameters: defaults filled, Struct-style doubles coerced, mistakes refused."""

from __future__ import annotations

import pytest

from shared.training import DDPM_DEFAULTS, DETECTOR_DEFAULTS
from shared.training.hparams import resolve_hparams, scheduled_lr, warmup_lr


def test_defaults_filled_and_struct_numbers_coerced():
    resolved = resolve_hparams(DDPM_DEFAULTS, {"batch_size": 32.0, "lr": 1, "rotate90": 0.0}, "t")
    assert resolved["batch_size"] == 32 and isinstance(resolved["batch_size"], int)
    assert resolved["lr"] == 1.0 and isinstance(resolved["lr"], float)
    assert resolved["rotate90"] is False and resolved["ema_decay"] == 0.999
    assert resolve_hparams(DETECTOR_DEFAULTS, None, "t") == DETECTOR_DEFAULTS


@pytest.mark.parametrize(
    "given", [{"batch_size": 2.5}, {"batch_size": 0}, {"lr": "fast"}, {"rotate90": 2}, {"learning_rate": 1e-3}]
)
def test_bad_values_raise(given):
    with pytest.raises(ValueError):
        resolve_hparams(DDPM_DEFAULTS, given, "t")


def test_warmup_is_linear_then_constant():
    assert [warmup_lr(1.0, s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_lr(0.1, 0, 0) == 0.1


@pytest.mark.parametrize(
    "defaults, given, message",
    [(DETECTOR_DEFAULTS, {"lr_schedule": "linear"}, "lr_schedule must be one of constant, cosine"),
     (DETECTOR_DEFAULTS, {"lr_schedule": 1.0}, "lr_schedule"),
     (DDPM_DEFAULTS, {"ema_decay": 1.5}, "ema_decay must be in"), (DDPM_DEFAULTS, {"ema_decay": -0.1}, "ema_decay must be in")],
)
def test_schedule_and_ema_decay_are_checked_before_any_training(defaults, given, message):
    with pytest.raises(ValueError, match=message):
        resolve_hparams(defaults, given, "t")
    assert resolve_hparams(DETECTOR_DEFAULTS, None, "t")["lr_schedule"] == "constant"
    assert resolve_hparams(DETECTOR_DEFAULTS, {"lr_schedule": "cosine"}, "t")["lr_schedule"] == "cosine"
    assert resolve_hparams(DDPM_DEFAULTS, {"ema_decay": 0.99}, "t")["ema_decay"] == 0.99


def test_cosine_schedule_warms_up_then_decays_towards_zero_at_the_last_step():
    lrs = [scheduled_lr(1.0, s, 2, 10, "cosine") for s in range(10)]
    assert lrs[:3] == [0.5, 1.0, 1.0]  # warm-up, then the full rate where the cosine starts
    assert all(a > b for a, b in zip(lrs[2:], lrs[3:])) and 0 < lrs[-1] < 0.05
    assert lrs[6] == pytest.approx(0.5)  # half-way through the decay
    assert [scheduled_lr(1.0, s, 2, 10, "constant") for s in range(10)] == [warmup_lr(1.0, s, 2) for s in range(10)]
