"""Triton repository layout and config.pbtxt content, parsed back with Triton's own protobuf schema."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from shared.serving.repository import write_model


def parse(path) -> model_config_pb2.ModelConfig:
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_python_backend_layout_and_config(repository):
    assert sorted(p.name for p in (repository / "unet").iterdir()) == ["1", "2", "config.pbtxt"]
    assert sorted(p.name for p in (repository / "unet" / "1").iterdir()) == ["model.onnx", "model.py"]
    assert sorted(p.name for p in (repository / "detector_ts" / "1").iterdir()) == ["model.pt", "model.py"]

    config = parse(repository / "unet" / "config.pbtxt")
    assert config.name == "unet" and config.backend == "python" and config.max_batch_size == 8
    inputs = {tensor.name: tensor for tensor in config.input}
    assert list(inputs) == ["sample", "timestep"]
    assert inputs["sample"].data_type == model_config_pb2.TYPE_FP32 and list(inputs["sample"].dims) == [3, 32, 32]
    assert inputs["timestep"].data_type == model_config_pb2.TYPE_INT64 and list(inputs["timestep"].dims) == [1]
    assert inputs["timestep"].HasField("reshape") and list(inputs["timestep"].reshape.shape) == []
    assert [(t.name, list(t.dims)) for t in config.output] == [("noise_pred", [3, 32, 32])]
    assert list(config.dynamic_batching.preferred_batch_size) == [4, 8]
    assert config.dynamic_batching.max_queue_delay_microseconds == 20_000
    assert [(g.kind, g.count) for g in config.instance_group] == [(model_config_pb2.ModelInstanceGroup.KIND_CPU, 1)]
    assert config.parameters["intra_op_threads"].string_value == "1"

    detector = parse(repository / "detector" / "config.pbtxt")
    assert [(t.name, list(t.dims)) for t in detector.output] == [("logit", [1]), ("p_generated", [1])]


def test_sampler_config(repository):
    config = parse(repository / "ddpm_sampler" / "config.pbtxt")
    assert config.max_batch_size == 0 and not config.HasField("dynamic_batching")
    assert [t.name for t in config.input] == ["seed", "num_images", "steps", "eta", "sampler"]
    assert config.input[4].data_type == model_config_pb2.TYPE_STRING
    assert [(t.name, t.data_type, list(t.dims)) for t in config.output] == [
        ("images", model_config_pb2.TYPE_UINT8, [-1, 32, 32, 3])
    ]
    assert sorted(p.name for p in (repository / "ddpm_sampler" / "1").iterdir()) == [
        "config.json",
        "model.onnx",
        "model.py",
    ]


def test_onnxruntime_gpu_variant_for_compose_is_well_formed(exports, tmp_path):
    model_dir = write_model(
        tmp_path,
        "unet",
        exports["unet"].directory,
        backend="onnxruntime",
        instance_kind="KIND_GPU",
        max_batch_size=16,
        preferred_batch_sizes=[8, 16],
        max_queue_delay_us=500,
    )
    config = parse(model_dir / "config.pbtxt")
    assert config.platform == "onnxruntime_onnx" and config.backend == ""
    assert config.default_model_filename == "model.onnx"
    assert [(g.kind, g.count) for g in config.instance_group] == [(model_config_pb2.ModelInstanceGroup.KIND_GPU, 1)]
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16]
    # The onnxruntime backend reads the graph itself: no model.py, no python parameters.
    assert sorted(p.name for p in (model_dir / "1").iterdir()) == ["model.onnx"]
    assert not config.parameters


def test_writer_validates(exports, tmp_path):
    unet = exports["unet"].directory
    write_model(tmp_path, "unet", unet)
    with pytest.raises(ValueError, match="exists"):
        write_model(tmp_path, "unet", unet)
    write_model(tmp_path, "unet", unet, overwrite=True)
    with pytest.raises(ValueError, match="preferred batch sizes"):
        write_model(tmp_path, "other", unet, max_batch_size=4, preferred_batch_sizes=[8])
    with pytest.raises(ValueError, match="onnxruntime backend serves ONNX"):
        write_model(tmp_path, "ts", exports["detector_ts"].directory, backend="onnxruntime")
    with pytest.raises(ValueError, match="model name"):
        write_model(tmp_path, "../escape", unet)
