"""Contract of every registered model: builds, shapes, seeded determinism, checkpoint round trip."""

from __future__ import annotations

import json

import pytest
import torch

from shared.models.gan import StyleGAN2Discriminator, StyleGAN2Generator
from shared.models.registry import (
    CONFIG_FILE,
    MODEL_REGISTRY,
    WEIGHTS_FILE,
    count_parameters,
    create_model,
    list_models,
    load_model,
    read_config,
    save_model,
)

# Narrower/smaller versions of the GPU-sized configs so the compute checks stay fast on a CPU;
# the full configs are still built and run on the meta device below.
COMPUTE_OVERRIDES = {
    "ddpm-unet-base": dict(image_size=32, base_channels=16, channel_mult=[1, 1, 2], attention_resolutions=[16, 8]),
    "detector-resnet18": dict(input_size=64, base_width=8),
    "detector-small": dict(input_size=32, widths=[8, 16]),
    "colorizer-unet": dict(image_size=32, base_channels=8),
    "colorizer-patchgan": dict(image_size=64, base_channels=8),
    "detector-npr": dict(input_size=32, base_width=8),
    "detector-safe": dict(input_size=32, base_width=8),
    "zoo-autoencoder": dict(image_size=32, base_channels=8),
    "gan-stylegan2-small": dict(image_size=16, latent_dim=16, base_channels=16, min_channels=8),
    "gan-stylegan2-small-discriminator": dict(image_size=16, base_channels=16, min_channels=8),
}

ALL_MODELS = list_models()


def expected_output_shape(model, inputs) -> tuple[int, ...]:
    kind = MODEL_REGISTRY[model.registry_name].kind
    n = inputs[0].shape[0]
    if isinstance(model, StyleGAN2Generator):  # z in, one image out
        return (n, 3, model.config["image_size"], model.config["image_size"])
    if isinstance(model, StyleGAN2Discriminator):  # one logit per image
        return (n, 1)
    if kind == "generator":
        return tuple(inputs[0].shape)
    if kind == "detector":
        return (n, 1)
    if model.registry_name == "zoo-gan":  # layout of the image in, the image out
        return (n, 3, *(side * model.config["layout_factor"] for side in inputs[0].shape[-2:]))
    if model.registry_name == "zoo-gan-discriminator":  # one logit per 8x8 patch
        return (n, 1, inputs[0].shape[-2] // 8, inputs[0].shape[-1] // 8)
    if model.registry_name == "zoo-upsampler":
        return (n, 3, 2 * inputs[0].shape[-2], 2 * inputs[0].shape[-1])
    if kind == "zoo":
        return tuple(inputs[0].shape)
    if model.registry_name == "colorizer-unet":
        return (n, 2, *inputs[0].shape[-2:])
    side = inputs[0].shape[-1] // 8 - 2  # three stride-2 convs, then two 4x4 stride-1 convs
    return (n, 1, side, side)


def build(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return create_model(name, **COMPUTE_OVERRIDES.get(name, {}))


def test_registry_names_the_required_architectures():
    assert {
        "ddpm-unet-tiny",
        "ddpm-unet-small",
        "ddpm-unet-base",
        "detector-resnet18",
        "detector-small",
        "colorizer-unet",
        "colorizer-patchgan",
    } <= set(ALL_MODELS)
    assert list_models("detector") == [
        "detector-effnet-probe",
        "detector-effnet-probe-ms",
        "detector-npr",
        "detector-resnet18",
        "detector-safe",
        "detector-small",
    ]
    assert list_models("zoo") == ["zoo-autoencoder", "zoo-gan", "zoo-gan-discriminator", "zoo-upsampler"]
    assert all(MODEL_REGISTRY[n].kind == "generator" for n in list_models("generator"))
    # Discriminators are trained with their generator, never by a job of their own.
    assert "gan-stylegan2-small-discriminator" not in list_models("generator", trainable=True)
    assert "gan-stylegan2-small" in list_models("generator", trainable=True)
    assert "colorizer-patchgan" not in list_models("colorizer", trainable=True)
    # Every trainable generator names the family its images are labelled with.
    assert all(MODEL_REGISTRY[n].family for n in list_models("generator", trainable=True))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_full_config_builds_and_runs_on_meta(name):
    with torch.device("meta"):
        model = create_model(name)
        inputs = model.example_inputs(batch_size=2)
        output = model(*inputs)
    assert model.registry_name == name
    assert tuple(output.shape) == expected_output_shape(model, inputs)
    assert count_parameters(model) > 0
    # The config is plain JSON and rebuilds the same architecture.
    assert json.loads(json.dumps(model.config)) == model.config
    with torch.device("meta"):
        rebuilt = type(model)(**model.config)
    assert rebuilt.config == model.config
    assert count_parameters(rebuilt) == count_parameters(model)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_forward_shape(name):
    model = build(name).eval()
    inputs = model.example_inputs(batch_size=2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        output = model(*inputs)
    assert tuple(output.shape) == expected_output_shape(model, inputs)
    assert torch.isfinite(output).all()


@pytest.mark.parametrize("name", ALL_MODELS)
def test_seeded_init_and_forward_are_deterministic(name):
    a, b, c = build(name, seed=0).eval(), build(name, seed=0).eval(), build(name, seed=1).eval()
    state_a, state_b, state_c = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert any(not torch.equal(state_a[k], state_c[k]) for k in state_a if state_a[k].is_floating_point())
    inputs = a.example_inputs(batch_size=2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(a(*inputs), a(*inputs))
        assert torch.equal(a(*inputs), b(*inputs))


@pytest.mark.parametrize("name", ALL_MODELS)
def test_checkpoint_round_trip_gives_identical_outputs(name, tmp_path):
    model = build(name).eval()
    save_model(model, tmp_path)
    assert (tmp_path / WEIGHTS_FILE).is_file()
    document = json.loads((tmp_path / CONFIG_FILE).read_text())
    assert document == {"name": name, "config": model.config, "format_version": 1}
    assert read_config(tmp_path) == document

    loaded = load_model(tmp_path, device="cpu")
    assert type(loaded) is type(model)
    assert loaded.registry_name == name and loaded.config == model.config
    assert not loaded.training
    inputs = model.example_inputs(batch_size=2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(model(*inputs), loaded(*inputs))


def test_create_model_applies_overrides_and_records_them():
    model = create_model("ddpm-unet-tiny", num_classes=5)
    assert model.config["num_classes"] == 5
    assert model.config["image_size"] == 32


def test_create_model_rejects_unknown_names_and_arguments():
    with pytest.raises(ValueError, match="unknown model"):
        create_model("no-such-model")
    with pytest.raises(ValueError, match="unknown argument"):
        create_model("ddpm-unet-tiny", widht=3)
    with pytest.raises(ValueError, match="image_size"):
        create_model("ddpm-unet-tiny", image_size=512)


def test_save_requires_a_registered_model_and_load_checks_the_format(tmp_path):
    from shared.models.detector.small_cnn import SmallCNNDetector

    with pytest.raises(ValueError, match="registry name"):
        save_model(SmallCNNDetector(widths=[4]), tmp_path / "anonymous")
    model = create_model("detector-small", widths=[4])
    save_model(model, tmp_path / "ok")
    document = json.loads((tmp_path / "ok" / CONFIG_FILE).read_text())
    document["format_version"] = 99
    (tmp_path / "ok" / CONFIG_FILE).write_text(json.dumps(document))
    with pytest.raises(ValueError, match="format_version"):
        load_model(tmp_path / "ok")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing")
