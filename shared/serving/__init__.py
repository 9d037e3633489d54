"""Serving exported models with NVIDIA Triton: export, repository layout, a local server and a typed client.

- `export_model(version_dir, output_dir, format="onnx"|"torchscript")`: named
  tensors, dynamic batch, parity against PyTorch recorded in parity.json (export.py)
- `write_model`, `write_sampler_model`: `<repo>/<name>/config.pbtxt` + `<version>/` (repository.py)
- `TritonServer`: the pytriton tritonserver binary as a subprocess (server.py)
- `TritonClient` and its errors `TritonUnavailable`, `ModelNotReady`,
  `InferenceRejected`, `TritonError` (client.py)
- `OnnxUNet`, `TritonUNet`: U-Net stand-ins for `shared.models.sample` (unet_adapters.py)

Tensor names and dtypes are defined once in signature.py. Benchmark of where
the sampling loop should run: `python -m bench.sampling_loop`.
"""

from shared.serving.client import (
    InferenceRejected,
    ModelNotReady,
    ModelState,
    TritonClient,
    TritonError,
    TritonUnavailable,
)
from shared.serving.export import ExportResult, ParityReport, export_model, read_parity
from shared.serving.model_config import DynamicBatching, ModelConfig
from shared.serving.repository import write_model, write_sampler_model
from shared.serving.server import TritonServer
from shared.serving.signature import Signature, TensorSpec, signature_for
from shared.serving.unet_adapters import OnnxUNet, RemoteUNet, TritonUNet

__all__ = [
    "DynamicBatching",
    "ExportResult",
    "InferenceRejected",
    "ModelConfig",
    "ModelNotReady",
    "ModelState",
    "OnnxUNet",
    "ParityReport",
    "RemoteUNet",
    "Signature",
    "TensorSpec",
    "TritonClient",
    "TritonError",
    "TritonServer",
    "TritonUNet",
    "TritonUnavailable",
    "export_model",
    "read_parity",
    "signature_for",
    "write_model",
    "write_sampler_model",
]
