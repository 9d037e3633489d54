"""Stand-ins for a DDPM U-Net whose forward pass runs elsewhere (onnxruntime in-process, or a Triton server).

They have the U-Net's call signature, `(x, t, class_labels=None) -> eps`, so
the one sampling loop `shared.models.sample` (seeded noise, sampler steps,
classifier-free guidance) drives them unchanged: the Triton "ddpm_sampler"
model uses `OnnxUNet`, a caller sampling against Triton uses `TritonUNet`.
Sample with `device="cpu"`: they have no parameters to infer a device from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:  # the client pulls in tritonclient, which the in-Triton sampler does not need
    from shared.serving.client import TritonClient


class RemoteUNet(nn.Module):
    """Base: `predict` is numpy in, numpy out; `config` mirrors the exported model's config."""

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self.config = dict(config)
        self.num_classes = int(config.get("num_classes", 0))

    @property
    def null_class_label(self) -> int:
        return self.num_classes

    def predict(self, sample: np.ndarray, timestep: np.ndarray, class_labels: np.ndarray | None) -> np.ndarray:
        """eps for x_t `sample` (B, C, H, W) float32 at `timestep` (B,) int64."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if self.num_classes and class_labels is None:
            class_labels = torch.full((x.shape[0],), self.null_class_label, dtype=torch.long)
        labels = None if class_labels is None else class_labels.detach().cpu().numpy().astype(np.int64)
        eps = self.predict(
            np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32),
            np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.int64),
            labels,
        )
        # Arrays decoded from a gRPC response are read-only views; torch wants writable memory.
        return torch.from_numpy(np.require(eps, dtype=np.float32, requirements=["W", "C"]))


class OnnxUNet(RemoteUNet):
    """An exported U-Net run by onnxruntime in this process."""

    def __init__(self, onnx_path: str | Path, config: dict[str, Any], *, threads: int = 0):
        super().__init__(config)
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def predict(self, sample, timestep, class_labels):
        feeds = {"sample": sample, "timestep": timestep}
        if class_labels is not None:
            feeds["class_labels"] = class_labels
        return self.session.run(["noise_pred"], feeds)[0]


class TritonUNet(RemoteUNet):
    """A U-Net served by Triton: one gRPC inference per forward pass (per sampling step)."""

    def __init__(self, client: TritonClient, model_name: str, config: dict[str, Any], *, version: int | None = None):
        super().__init__(config)
        self.client = client
        self.model_name = model_name
        self.version = version

    def predict(self, sample, timestep, class_labels):
        return self.client.infer_unet(self.model_name, sample, timestep, class_labels, version=self.version)
