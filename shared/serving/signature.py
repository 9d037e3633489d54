"""The serving signature of an exported model: its named input and output tensors.

One description is shared by the exporter (which names the graph's tensors),
the Triton repository writer (which turns it into config.pbtxt) and the client
(which builds requests), so the three never disagree about a name or a dtype.

Shapes are per item, without the batch dimension, which is always the first
and always dynamic. `()` is one scalar per item (a [B] tensor).

Tensor conventions (chosen here, documented once):
- U-Net: "sample" float32 [B, C, H, W] (x_t), "timestep" int64 [B] (training
  timestep index 0..T-1; int64 because samplers visit integer timesteps and the
  network's sinusoidal embedding casts to float itself), "class_labels" int64
  [B] only for class-conditional models (index num_classes = "no class");
  output "noise_pred" float32 [B, C, H, W] (epsilon).
- GAN generator: "z" float32 [B, latent_dim] (drawn per image from its seed by
  `shared.models.gan.latents`), output "image" float32 [B, 3, S, S] in about
  [-1, 1] (clients clamp): one forward pass with the generator's fixed noise maps.
- Detector: "image" float32 [B, 3, H, W] in [-1, 1] (the detectors' training
  range, `shared.models.from_uint8`), outputs "logit" float32 [B, 1] and
  "p_generated" float32 [B, 1] = sigmoid(logit).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

SIGNATURE_FILE = "signature.json"

# numpy dtype name -> Triton config data_type.
TRITON_DTYPES = {
    "float32": "TYPE_FP32",
    "float16": "TYPE_FP16",
    "int64": "TYPE_INT64",
    "int32": "TYPE_INT32",
    "uint8": "TYPE_UINT8",
    "bytes": "TYPE_STRING",
}


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: numpy dtype name and per-item shape (-1 for a variable size)."""

    name: str
    dtype: str
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.dtype not in TRITON_DTYPES:
            raise ValueError(f"tensor {self.name!r}: unsupported dtype {self.dtype!r}; known: {sorted(TRITON_DTYPES)}")


@dataclass(frozen=True)
class Signature:
    """What a model takes and returns; `kind` is the registry kind ("generator" or "detector")."""

    kind: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    @property
    def input_names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [spec.name for spec in self.outputs]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> "Signature":
        def specs(items: list[dict[str, Any]]) -> tuple[TensorSpec, ...]:
            return tuple(TensorSpec(item["name"], item["dtype"], tuple(item["shape"])) for item in items)

        return cls(document["kind"], specs(document["inputs"]), specs(document["outputs"]))

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / SIGNATURE_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, directory: str | Path) -> "Signature":
        path = Path(directory) / SIGNATURE_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no {SIGNATURE_FILE} in {directory}; is it an export directory?")
        return cls.from_dict(json.loads(path.read_text()))


def signature_for(model: nn.Module) -> Signature:
    """The serving signature of a registered generator (DDPM U-Net or GAN) or detector."""
    # Imported here so that reading a signature never pulls in the model code.
    from shared.models.diffusion.unet import DDPMUNet
    from shared.models.gan import is_gan_generator
    from shared.models.registry import MODEL_REGISTRY

    config = model.config
    if is_gan_generator(model):
        image = (3, config["image_size"], config["image_size"])
        z = TensorSpec("z", "float32", (config["latent_dim"],))
        return Signature("generator", (z,), (TensorSpec("image", "float32", image),))
    if isinstance(model, DDPMUNet):
        image = (config["in_channels"], config["image_size"], config["image_size"])
        inputs = [TensorSpec("sample", "float32", image), TensorSpec("timestep", "int64", ())]
        if config["num_classes"] > 0:
            inputs.append(TensorSpec("class_labels", "int64", ()))
        noise = (config["out_channels"], config["image_size"], config["image_size"])
        return Signature("generator", tuple(inputs), (TensorSpec("noise_pred", "float32", noise),))
    spec = MODEL_REGISTRY.get(getattr(model, "registry_name", None) or "")
    if spec is not None and spec.kind == "detector":  # every registered detector: RGB crops in, one logit out
        image = (config.get("in_channels", 3), config["input_size"], config["input_size"])
        return Signature(
            "detector",
            (TensorSpec("image", "float32", image),),
            (TensorSpec("logit", "float32", (1,)), TensorSpec("p_generated", "float32", (1,))),
        )
    raise ValueError(
        f"no serving signature for {type(model).__name__}; only DDPM U-Nets, GAN generators and detectors are served"
    )
