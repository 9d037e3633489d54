"""Hyperparameters: defaults filled, Struct-style doubles coerced, mistakes refused."""

from __future__ import annotations

import pytest

from shared.training import DDPM_DEFAULTS, DETECTOR_DEFAULTS
from shared.training.hparams import resolve_hparams, warmup_lr


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
