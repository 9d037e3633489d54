"""Export a saved model version to ONNX or TorchScript, with named tensors and a checked parity.

`export_model(version_dir, output_dir)` loads a checkpoint written by
`shared.models.save_model`, wraps it so that its graph has the tensor names of
`shared.serving.signature`, exports it with a dynamic batch dimension, then
runs the exported file and the PyTorch model on the same random inputs at
several batch sizes. The export is only kept when the largest absolute
difference is within the tolerance; `parity.json` beside it records the check.

Output directory (written atomically: a failed export leaves nothing):
    model.onnx | model.pt   the graph
    signature.json          input/output names, dtypes, per-item shapes
    config.json             the checkpoint's config (name + constructor arguments)
    parity.json             max_abs_diff, tolerance, passed, batch sizes, opset, versions

ONNX exporter: the TorchScript-based exporter (`dynamo=False`) is the default.
On torch 2.13 both exporters give the same graph quality for these models
(max abs diff ~1e-6), but the dynamo exporter needs the extra `onnxscript`
package and takes ~15x longer (5 s vs 0.3 s for the tiny U-Net); pass
`dynamo=True` where onnxscript is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from shared.models.registry import CONFIG_FILE, load_model
from shared.serving.signature import Signature, signature_for

FORMATS = ("onnx", "torchscript")
MODEL_FILES = {"onnx": "model.onnx", "torchscript": "model.pt"}
PARITY_FILE = "parity.json"
DEFAULT_OPSET = 17
DEFAULT_TOLERANCE = 1e-4
DEFAULT_PARITY_BATCH_SIZES = (1, 4)
# Traced at a batch size that is neither parity size, so a batch dimension the
# tracer baked in as a constant shows up as a parity failure rather than passing.
TRACE_BATCH_SIZE = 2


@dataclass(frozen=True)
class ParityReport:
    """The comparison of an exported graph with the PyTorch model it came from."""

    max_abs_diff: float
    tolerance: float
    passed: bool
    batch_sizes: list[int]
    per_batch_max_abs_diff: dict[str, float]
    format: str
    opset: int | None
    exporter: str
    torch_version: str
    runtime_version: str


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and what it is."""

    directory: Path
    model_file: Path
    format: str
    signature: Signature
    parity: ParityReport


class _UNetGraph(nn.Module):
    """The U-Net with the serving argument names; class_labels only when the model is class-conditional."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, class_labels: torch.Tensor | None = None):
        return self.unet(sample, timestep, class_labels)


class _GANGraph(nn.Module):
    """The GAN generator as one forward pass z -> image, with its fixed noise maps (see shared.models.gan)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor):
        return self.generator(z)


class _DetectorGraph(nn.Module):
    """The detector returning both the logit and p(generated), so clients need no sigmoid of their own."""

    def __init__(self, detector: nn.Module):
        super().__init__()
        self.detector = detector

    def forward(self, image: torch.Tensor):
        logit = self.detector(image)
        return logit, torch.sigmoid(logit)


def _graph_for(model: nn.Module, signature: Signature) -> nn.Module:
    from shared.models.gan import is_gan_generator

    if is_gan_generator(model):
        return _GANGraph(model).eval()
    wrapper = _UNetGraph(model) if signature.kind == "generator" else _DetectorGraph(model)
    return wrapper.eval()


def _random_inputs(model: nn.Module, batch_size: int, seed: int) -> tuple[torch.Tensor, ...]:
    # example_inputs draws in each model's working range: x_t ~ N(0, 1) and timesteps
    # 0..T-1 for the U-Net, z ~ N(0, 1) for a GAN, images in [-1, 1] for detectors.
    return tuple(model.example_inputs(batch_size, generator=torch.Generator().manual_seed(seed)))


def _export_onnx(graph: nn.Module, inputs: tuple, signature: Signature, path: Path, opset: int, dynamo: bool) -> None:
    input_names = signature.input_names[: len(inputs)]
    output_names = signature.output_names
    if dynamo:
        batch = torch.export.Dim("batch", min=1, max=4096)
        dynamic = {"dynamic_shapes": tuple({0: batch} for _ in inputs)}
    else:
        axes = {name: {0: "batch"} for name in input_names + output_names}
        dynamic = {"dynamic_axes": axes}
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated upstream but is the one that works
        # without onnxscript; its warning says nothing actionable here.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            graph,
            inputs,
            str(path),
            input_names=input_names,
            output_names=output_names,
            opset_version=opset,
            dynamo=dynamo,
            **dynamic,
        )


def _export_torchscript(graph: nn.Module, inputs: tuple, path: Path) -> None:
    # check_trace=False: the check re-runs at the same batch size and proves nothing the
    # parity check at other batch sizes does not prove better.
    traced = torch.jit.trace(graph, inputs, check_trace=False)
    torch.jit.save(traced, str(path))


def _runner(format: str, path: Path, signature: Signature):
    """A callable running the exported file: tuple of numpy inputs -> list of numpy outputs."""
    if format == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = [item.name for item in session.get_inputs()]
        return lambda arrays: session.run(signature.output_names, dict(zip(names, arrays)))
    module = torch.jit.load(str(path), map_location="cpu").eval()

    def run(arrays):
        with torch.no_grad():
            out = module(*(torch.from_numpy(a) for a in arrays))
        out = out if isinstance(out, tuple) else (out,)
        return [o.numpy() for o in out]

    return run


def _runtime_version(format: str) -> str:
    if format == "onnx":
        import onnxruntime

        return f"onnxruntime {onnxruntime.__version__}"
    return f"torch {torch.__version__}"


def check_parity(
    model: nn.Module,
    graph: nn.Module,
    format: str,
    path: Path,
    signature: Signature,
    *,
    tolerance: float,
    batch_sizes: Sequence[int],
    opset: int | None,
    exporter: str,
) -> ParityReport:
    """Run the exported file and the PyTorch graph on the same random inputs; the largest |difference|."""
    run = _runner(format, path, signature)
    per_batch: dict[str, float] = {}
    for index, batch_size in enumerate(batch_sizes):
        inputs = _random_inputs(model, batch_size, seed=1000 + index)
        with torch.no_grad():
            expected = graph(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        actual = run(tuple(t.numpy() for t in inputs))
        diff = 0.0
        for want, got in zip(expected, actual):
            if tuple(want.shape) != tuple(got.shape):
                diff = float("inf")  # a baked-in batch size: never a pass
                break
            diff = max(diff, float(np.max(np.abs(want.numpy().astype(np.float64) - got.astype(np.float64)))))
        per_batch[str(batch_size)] = diff
    worst = max(per_batch.values())
    return ParityReport(
        max_abs_diff=worst,
        tolerance=tolerance,
        passed=bool(worst <= tolerance),
        batch_sizes=list(batch_sizes),
        per_batch_max_abs_diff=per_batch,
        format=format,
        opset=opset,
        exporter=exporter,
        torch_version=torch.__version__,
        runtime_version=_runtime_version(format),
    )


def export_model(
    version_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    format: str = "onnx",
    opset: int = DEFAULT_OPSET,
    dynamo: bool = False,
    tolerance: float = DEFAULT_TOLERANCE,
    parity_batch_sizes: Sequence[int] = DEFAULT_PARITY_BATCH_SIZES,
    overwrite: bool = False,
) -> ExportResult:
    """Export the checkpoint in `version_dir` into `output_dir`; ValueError if parity fails.

    `opset` is the ONNX opset (ignored for TorchScript). `overwrite` replaces an
    existing `output_dir`; without it an existing non-empty one is a ValueError.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if not tolerance > 0:
        raise ValueError(f"tolerance must be > 0, got {tolerance}")
    if not parity_batch_sizes or min(parity_batch_sizes) < 1:
        raise ValueError(f"parity_batch_sizes must be positive batch sizes, got {list(parity_batch_sizes)}")
    output_dir = Path(output_dir)
    if output_dir.exists() and any(output_dir.iterdir()) and not overwrite:
        raise ValueError(f"{output_dir} exists and is not empty (pass overwrite=True to replace it)")

    model = load_model(version_dir)
    signature = signature_for(model)
    graph = _graph_for(model, signature)
    inputs = _random_inputs(model, TRACE_BATCH_SIZE, seed=0)

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        model_path = staging / MODEL_FILES[format]
        if format == "onnx":
            _export_onnx(graph, inputs, signature, model_path, opset, dynamo)
            exporter = "torch.onnx.export(dynamo=True)" if dynamo else "torch.onnx.export(dynamo=False)"
        else:
            _export_torchscript(graph, inputs, model_path)
            exporter = "torch.jit.trace"
        parity = check_parity(
            model,
            graph,
            format,
            model_path,
            signature,
            tolerance=tolerance,
            batch_sizes=parity_batch_sizes,
            opset=opset if format == "onnx" else None,
            exporter=exporter,
        )
        if not parity.passed:
            raise ValueError(
                f"export of {version_dir} to {format} failed the parity check: max |diff| "
                f"{parity.max_abs_diff:.3g} > tolerance {parity.tolerance:.3g} (per batch size: "
                f"{parity.per_batch_max_abs_diff})"
            )
        signature.write(staging)
        shutil.copyfile(Path(version_dir) / CONFIG_FILE, staging / CONFIG_FILE)
        (staging / PARITY_FILE).write_text(json.dumps(asdict(parity), indent=2) + "\n")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        os.replace(staging, output_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(output_dir, output_dir / MODEL_FILES[format], format, signature, parity)


def read_parity(export_dir: str | os.PathLike) -> ParityReport:
    """The parity report recorded beside an export."""
    path = Path(export_dir) / PARITY_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {PARITY_FILE} in {export_dir}")
    return ParityReport(**json.loads(path.read_text()))
