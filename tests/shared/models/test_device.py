"""Device choice and mixed-precision helpers (CUDA only; no-ops on the CPU)."""

from __future__ import annotations

import pytest
import torch

from shared.models.device import autocast, autocast_dtype, grad_scaler, pick_device


def test_auto_picks_cuda_when_available_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert pick_device("DEVICE_PREFERENCE_AUTO").type == expected
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("DEVICE_PREFERENCE_CPU") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU path")
def test_cuda_without_a_gpu_is_an_error():
    with pytest.raises(RuntimeError, match="CUDA"):
        pick_device("cuda")
    with pytest.raises(RuntimeError):
        pick_device("cuda:0")


def test_unknown_preference():
    with pytest.raises(ValueError):
        pick_device("tpu")


def test_mixed_precision_is_a_no_op_on_cpu():
    assert autocast_dtype("cpu") is None
    with autocast("cpu"):
        out = torch.ones(2, 2) @ torch.ones(2, 2)
    assert out.dtype == torch.float32
    assert not grad_scaler("cpu").is_enabled()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_mixed_precision_on_cuda():
    dtype = autocast_dtype("cuda")
    with autocast("cuda"):
        out = torch.ones(2, 2, device="cuda") @ torch.ones(2, 2, device="cuda")
    assert out.dtype == dtype
    assert grad_scaler("cuda").is_enabled() == (dtype == torch.float16)
