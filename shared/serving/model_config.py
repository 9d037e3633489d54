"""Triton `config.pbtxt` for one model: a small dataclass rendered as protobuf text format.

Rendered by hand (not through tritonclient's model_config_pb2) so the text is
stable, ordered and readable in review; the tests parse it back with
model_config_pb2 to prove it is well formed.

Scalar-per-item tensors (per-item shape `()`, e.g. the U-Net's timestep) go on
the wire as dims [1] and reach the model as [B] through `reshape: { shape: [ ] }`:
with batching on, Triton's dims cannot be empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from shared.serving.signature import TRITON_DTYPES, TensorSpec

BACKENDS = ("python", "onnxruntime")
INSTANCE_KINDS = ("KIND_CPU", "KIND_GPU")


@dataclass(frozen=True)
class DynamicBatching:
    """Triton's dynamic batcher: wait up to `max_queue_delay_us` to form one of `preferred_batch_sizes`."""

    preferred_batch_sizes: tuple[int, ...] = (4, 8)
    max_queue_delay_us: int = 1000


@dataclass(frozen=True)
class ModelConfig:
    """The parts of a Triton model config this project uses.

    `max_batch_size` 0 means the model does its own batching (the first
    dimension is then part of each tensor's dims); `dynamic_batching` needs
    `max_batch_size` > 0.
    """

    name: str
    backend: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int = 8
    dynamic_batching: DynamicBatching | None = DynamicBatching()
    instance_kind: str = "KIND_CPU"
    instance_count: int = 1
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.instance_kind not in INSTANCE_KINDS:
            raise ValueError(f"instance_kind must be one of {INSTANCE_KINDS}, got {self.instance_kind!r}")
        if self.instance_count < 1:
            raise ValueError(f"instance_count must be >= 1, got {self.instance_count}")
        if self.max_batch_size < 0:
            raise ValueError(f"max_batch_size must be >= 0, got {self.max_batch_size}")
        if self.dynamic_batching is not None:
            if self.max_batch_size == 0:
                raise ValueError("dynamic batching needs max_batch_size > 0")
            sizes = self.dynamic_batching.preferred_batch_sizes
            if any(not 1 <= size <= self.max_batch_size for size in sizes):
                raise ValueError(
                    f"preferred batch sizes {list(sizes)} must be in 1..max_batch_size {self.max_batch_size}"
                )
            if self.dynamic_batching.max_queue_delay_us < 0:
                raise ValueError("max_queue_delay_us must be >= 0")

    def to_pbtxt(self) -> str:
        lines = [f"name: {_quote(self.name)}"]
        if self.backend == "onnxruntime":
            # The platform names the file format too; Triton then picks the onnxruntime backend.
            lines += ['platform: "onnxruntime_onnx"', 'default_model_filename: "model.onnx"']
        else:
            lines.append('backend: "python"')
        lines.append(f"max_batch_size: {self.max_batch_size}")
        lines += _tensors("input", self.inputs)
        lines += _tensors("output", self.outputs)
        if self.dynamic_batching is not None:
            lines += [
                "dynamic_batching {",
                f"  preferred_batch_size: {_list(self.dynamic_batching.preferred_batch_sizes)}",
                f"  max_queue_delay_microseconds: {self.dynamic_batching.max_queue_delay_us}",
                "}",
            ]
        lines += ["instance_group [", "  {", f"    count: {self.instance_count}", f"    kind: {self.instance_kind}"]
        lines += ["  }", "]"]
        for key, value in sorted(self.parameters.items()):
            lines.append(f"parameters {{ key: {_quote(key)} value: {{ string_value: {_quote(value)} }} }}")
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _list(values: Sequence[int]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]" if values else "[ ]"


def _tensors(section: str, specs: Sequence[TensorSpec]) -> list[str]:
    lines = [f"{section} ["]
    for index, spec in enumerate(specs):
        lines += ["  {", f"    name: {_quote(spec.name)}", f"    data_type: {TRITON_DTYPES[spec.dtype]}"]
        if spec.shape:
            lines.append(f"    dims: {_list(spec.shape)}")
        else:
            lines += ["    dims: [ 1 ]", "    reshape: { shape: [ ] }"]
        lines.append("  }," if index < len(specs) - 1 else "  }")
    lines.append("]")
    return lines
