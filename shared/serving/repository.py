"""Write exported models into a Triton model repository: `<repo>/<name>/config.pbtxt` + `<repo>/<name>/<version>/`.

Two backends:
- "python" (default): the version directory holds the graph plus a shipped
  `model.py` (`backends/exported_model.py`) that runs it with onnxruntime (or
  torch for TorchScript). This is the only backend the pytriton tritonserver
  has, so it is what runs locally and in the tests.
- "onnxruntime": `platform: "onnxruntime_onnx"` with `model.onnx`, for the
  official Triton image of docker compose, which has the onnxruntime backend.

`write_sampler_model` writes the "ddpm_sampler" model: a python-backend loop
(`backends/ddpm_sampler.py`) around an exported U-Net.

Writes are atomic per version directory (staged, then renamed), so a server
polling or loading the repository never sees half a version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Sequence

from shared.models.registry import CONFIG_FILE
from shared.serving.export import MODEL_FILES
from shared.serving.model_config import DynamicBatching, ModelConfig
from shared.serving.signature import Signature, TensorSpec

BACKEND_SOURCES = Path(__file__).parent / "backends"
CONFIG_PBTXT = "config.pbtxt"
# Triton model names become directory names and URL path segments.
_MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _check_target(repository: Path, name: str, version: int, overwrite: bool) -> Path:
    if not _MODEL_NAME.match(name):
        raise ValueError(f"model name {name!r} must be 1-128 letters, digits, '_', '.', '-'")
    if version < 1:
        raise ValueError(f"Triton versions are integers >= 1, got {version}")
    target = repository / name / str(version)
    if target.exists() and not overwrite:
        raise ValueError(f"{target} exists (pass overwrite=True to replace it)")
    return target


def _install_version(target: Path, files: dict[str, Path]) -> None:
    """Copy `files` (name in the version dir -> source) into `target`, replacing it in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name, source in files.items():
            shutil.copyfile(source, staging / name)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_config(model_dir: Path, config: ModelConfig) -> Path:
    path = model_dir / CONFIG_PBTXT
    tmp = path.with_suffix(".pbtxt.tmp")
    tmp.write_text(config.to_pbtxt())
    os.replace(tmp, path)
    return path


def write_model(
    repository: str | os.PathLike,
    name: str,
    export_dir: str | os.PathLike,
    *,
    version: int = 1,
    backend: str = "python",
    max_batch_size: int = 8,
    preferred_batch_sizes: Sequence[int] = (4, 8),
    max_queue_delay_us: int = 1000,
    instance_kind: str = "KIND_CPU",
    instance_count: int = 1,
    intra_op_threads: int = 0,
    overwrite: bool = False,
) -> Path:
    """Add an export (from `export_model`) as `name`/`version`; returns the model directory.

    `instance_kind` is "KIND_CPU" locally and "KIND_GPU" for the compose image.
    `intra_op_threads` caps the runtime's threads per instance (0: its default,
    all cores), worth setting when several instances share a machine.
    """
    repository, export_dir = Path(repository), Path(export_dir)
    signature = Signature.read(export_dir)
    graphs = [export_dir / file for file in MODEL_FILES.values() if (export_dir / file).is_file()]
    if len(graphs) != 1:
        raise ValueError(f"{export_dir} must hold exactly one of {sorted(MODEL_FILES.values())}")
    graph = graphs[0]
    if backend == "onnxruntime" and graph.name != MODEL_FILES["onnx"]:
        raise ValueError("the onnxruntime backend serves ONNX exports only; use backend='python' for TorchScript")
    config = ModelConfig(
        name=name,
        backend=backend,
        inputs=signature.inputs,
        outputs=signature.outputs,
        max_batch_size=max_batch_size,
        dynamic_batching=DynamicBatching(tuple(preferred_batch_sizes), max_queue_delay_us),
        instance_kind=instance_kind,
        instance_count=instance_count,
        parameters={"intra_op_threads": str(intra_op_threads)} if backend == "python" else {},
    )
    target = _check_target(repository, name, version, overwrite)
    files = {graph.name: graph}
    if backend == "python":
        files["model.py"] = BACKEND_SOURCES / "exported_model.py"
    _install_version(target, files)
    _write_config(target.parent, config)
    return target.parent


def sampler_config(
    name: str, unet_config: dict, *, max_images: int, instance_kind: str, instance_count: int, intra_op_threads: int
) -> ModelConfig:
    """The "ddpm_sampler" model's config: scalar request inputs, uint8 NHWC images out, no Triton batching."""
    size, channels = unet_config["image_size"], unet_config["out_channels"]
    return ModelConfig(
        name=name,
        backend="python",
        inputs=(
            TensorSpec("seed", "int64", (1,)),
            TensorSpec("num_images", "int32", (1,)),
            TensorSpec("steps", "int32", (1,)),
            TensorSpec("eta", "float32", (1,)),
            TensorSpec("sampler", "bytes", (1,)),
        ),
        outputs=(TensorSpec("images", "uint8", (-1, size, size, channels)),),
        # One request is one whole generation; batching requests of different
        # seeds/steps together is not meaningful for a loop.
        max_batch_size=0,
        dynamic_batching=None,
        instance_kind=instance_kind,
        instance_count=instance_count,
        parameters={"max_images": str(max_images), "intra_op_threads": str(intra_op_threads)},
    )


def write_sampler_model(
    repository: str | os.PathLike,
    name: str,
    unet_export_dir: str | os.PathLike,
    *,
    version: int = 1,
    max_images: int = 16,
    instance_kind: str = "KIND_CPU",
    instance_count: int = 1,
    intra_op_threads: int = 0,
    overwrite: bool = False,
) -> Path:
    """Add a "ddpm_sampler"-style model running the whole sampling loop around an ONNX U-Net export."""
    repository, export_dir = Path(repository), Path(unet_export_dir)
    signature = Signature.read(export_dir)
    onnx_file = export_dir / MODEL_FILES["onnx"]
    if signature.kind != "generator" or not onnx_file.is_file():
        raise ValueError(f"{export_dir} is not an ONNX export of a DDPM U-Net")
    unet_config = json.loads((export_dir / CONFIG_FILE).read_text())["config"]
    if unet_config.get("num_classes", 0):
        raise ValueError("the sampler model serves unconditional U-Nets only (class_labels are not an input yet)")
    if max_images < 1:
        raise ValueError(f"max_images must be >= 1, got {max_images}")
    config = sampler_config(
        name,
        unet_config,
        max_images=max_images,
        instance_kind=instance_kind,
        instance_count=instance_count,
        intra_op_threads=intra_op_threads,
    )
    target = _check_target(repository, name, version, overwrite)
    _install_version(
        target,
        {
            "model.onnx": onnx_file,
            CONFIG_FILE: export_dir / CONFIG_FILE,
            "model.py": BACKEND_SOURCES / "ddpm_sampler.py",
        },
    )
    _write_config(target.parent, config)
    return target.parent
