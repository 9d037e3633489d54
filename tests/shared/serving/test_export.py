"""ONNX / TorchScript export: named tensors, dynamic batch, recorded parity, refusal when parity fails."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime
import pytest
import torch

from shared.models import create_model, save_model
from shared.serving.export import export_model, read_parity
from shared.serving.signature import Signature


def test_unet_onnx_export_has_named_tensors_dynamic_batch_and_parity(exports):
    result = exports["unet"]
    assert sorted(p.name for p in result.directory.iterdir()) == [
        "config.json",
        "model.onnx",
        "parity.json",
        "signature.json",
    ]
    session = onnxruntime.InferenceSession(str(result.model_file), providers=["CPUExecutionProvider"])
    inputs = {item.name: item for item in session.get_inputs()}
    assert list(inputs) == ["sample", "timestep"]
    assert inputs["sample"].shape[1:] == [3, 32, 32] and isinstance(inputs["sample"].shape[0], str)
    assert inputs["timestep"].type == "tensor(int64)"
    assert [item.name for item in session.get_outputs()] == ["noise_pred"]

    parity = json.loads((result.directory / "parity.json").read_text())
    assert parity["passed"] is True
    assert parity["batch_sizes"] == [1, 4]
    assert parity["max_abs_diff"] <= parity["tolerance"] == 1e-4
    assert parity["opset"] == 17 and parity["torch_version"] == torch.__version__
    assert read_parity(result.directory).passed
    assert Signature.read(result.directory) == result.signature


def test_detector_exports_logit_and_probability(exports, torch_models):
    for key in ("detector", "detector_ts"):
        result = exports[key]
        assert result.signature.input_names == ["image"]
        assert result.signature.output_names == ["logit", "p_generated"]
        assert result.parity.passed and result.parity.max_abs_diff <= 1e-4
    image = torch.rand(3, 3, 32, 32) * 2 - 1
    session = onnxruntime.InferenceSession(str(exports["detector"].model_file), providers=["CPUExecutionProvider"])
    logit, p = session.run(["logit", "p_generated"], {"image": image.numpy()})
    with torch.no_grad():
        expected = torch_models["detector"](image).numpy()
    np.testing.assert_allclose(logit, expected, atol=1e-4)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-expected)), atol=1e-5)


def test_class_conditional_unet_takes_class_labels(tmp_path):
    save_model(create_model("ddpm-unet-tiny", num_classes=3), tmp_path / "checkpoint")
    result = export_model(tmp_path / "checkpoint", tmp_path / "export", format="torchscript")
    assert result.signature.input_names == ["sample", "timestep", "class_labels"]
    assert result.parity.passed and result.parity.opset is None


def test_parity_failure_refuses_the_export_and_leaves_nothing(checkpoints, tmp_path):
    target = tmp_path / "too-strict"
    # ONNX Runtime and PyTorch sum in different orders: ~1e-6 apart, never 1e-12.
    with pytest.raises(ValueError, match="parity"):
        export_model(checkpoints["unet"], target, tolerance=1e-12)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_export_refuses_to_overwrite_unless_asked(checkpoints, exports):
    with pytest.raises(ValueError, match="not empty"):
        export_model(checkpoints["detector"], exports["detector"].directory)
    with pytest.raises(ValueError, match="format"):
        export_model(checkpoints["detector"], exports["detector"].directory, format="savedmodel")
