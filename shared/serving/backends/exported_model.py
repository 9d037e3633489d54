"""Triton python-backend model that serves an exported graph (model.onnx via onnxruntime, or model.pt via torch).

The repository writer copies this file as `<model>/<version>/model.py` beside
the graph. It is self-contained (numpy, onnxruntime or torch, and Triton's
`triton_python_backend_utils`; nothing from terrafake) so the same file runs
in the pytriton tritonserver here and in the official Triton image.

Tensor names, dtypes and per-item shapes come from the model's config.pbtxt,
which the writer generated from the export's signature.

Dynamic batching: Triton hands `execute` every request of a batch at once; the
valid ones are concatenated along the batch axis and run as one call (that is
the point of batching), then split back per request. A request that cannot be
served gets its own error response with a code; `execute` never raises, since
an exception would fail every request of the batch with an opaque message.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils

MODEL_FILES = ("model.onnx", "model.pt")


def triton_error(message: str, code_name: str = "INTERNAL"):
    # Error codes exist on TritonError since python backend r23.xx; fall back to a plain error before that.
    code = getattr(pb_utils.TritonError, code_name, None)
    return pb_utils.TritonError(message, code) if code is not None else pb_utils.TritonError(message)


class _OnnxGraph:
    def __init__(self, path: Path, threads: int, gpu: bool):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
        available = onnxruntime.get_available_providers()
        providers = ["CPUExecutionProvider"]
        if gpu and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        self.input_names = [item.name for item in self.session.get_inputs()]

    def run(self, inputs: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]:
        return self.session.run(output_names, {name: inputs[name] for name in self.input_names})


class _TorchScriptGraph:
    def __init__(self, path: Path, threads: int, gpu: bool, input_names: list[str]):
        import torch

        self.torch = torch
        if threads > 0:
            torch.set_num_threads(threads)
        self.device = torch.device("cuda" if gpu and torch.cuda.is_available() else "cpu")
        self.module = torch.jit.load(str(path), map_location=self.device).eval()
        # A traced module takes its arguments by position, in the signature's order.
        self.input_names = input_names

    def run(self, inputs: dict[str, np.ndarray], output_names: list[str]) -> list[np.ndarray]:
        with self.torch.no_grad():
            args = [self.torch.from_numpy(inputs[name]).to(self.device) for name in self.input_names]
            out = self.module(*args)
        out = out if isinstance(out, (tuple, list)) else (out,)
        return [tensor.cpu().numpy() for tensor in out]


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        version_dir = Path(args["model_repository"]) / args["model_version"]
        parameters = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        threads = int(parameters.get("intra_op_threads", "0"))
        gpu = args.get("model_instance_kind") == "GPU"

        # Per-item shape the graph expects: the reshape target when the config has one
        # ([1] on the wire, [] per item, for the U-Net's timestep).
        self.inputs = []
        for item in config["input"]:
            shape = item.get("reshape", {}).get("shape", item["dims"])
            dtype = pb_utils.triton_string_to_numpy(item["data_type"])
            self.inputs.append((item["name"], dtype, tuple(int(d) for d in shape)))
        self.output_names = [item["name"] for item in config["output"]]
        self.max_batch_size = int(config.get("max_batch_size", 0))

        found = [version_dir / name for name in MODEL_FILES if (version_dir / name).is_file()]
        if not found:
            raise pb_utils.TritonModelException(f"no {' or '.join(MODEL_FILES)} in {version_dir}")
        path = found[0]
        if path.suffix == ".onnx":
            self.graph = _OnnxGraph(path, threads, gpu)
        else:
            self.graph = _TorchScriptGraph(path, threads, gpu, [name for name, _, _ in self.inputs])

    def _read(self, request) -> tuple[dict[str, np.ndarray], int]:
        """The request's inputs as arrays of the graph's shapes, and its batch size; ValueError if unusable."""
        arrays, batch = {}, None
        for name, dtype, item_shape in self.inputs:
            tensor = pb_utils.get_input_tensor_by_name(request, name)
            if tensor is None:
                raise ValueError(f"missing input {name!r}")
            array = tensor.as_numpy()
            if array.dtype != dtype:
                raise ValueError(f"input {name!r} must be {np.dtype(dtype).name}, got {array.dtype.name}")
            if array.ndim == 0 or array.size != array.shape[0] * int(np.prod(item_shape, dtype=np.int64)):
                raise ValueError(f"input {name!r} has shape {list(array.shape)}; expected [batch, {list(item_shape)}]")
            array = array.reshape((array.shape[0], *item_shape))
            if batch is not None and array.shape[0] != batch:
                raise ValueError(f"inputs disagree on the batch size ({batch} vs {array.shape[0]} for {name!r})")
            batch = array.shape[0]
            arrays[name] = array
        return arrays, batch

    def execute(self, requests):
        responses = [None] * len(requests)
        ready = []  # (index, arrays, batch size)
        for index, request in enumerate(requests):
            try:
                arrays, batch = self._read(request)
            except ValueError as error:
                responses[index] = pb_utils.InferenceResponse(error=triton_error(str(error), "INVALID_ARG"))
                continue
            ready.append((index, arrays, batch))

        if ready:
            merged = {
                name: np.ascontiguousarray(np.concatenate([arrays[name] for _, arrays, _ in ready]))
                for name, _, _ in self.inputs
            }
            try:
                outputs = self.graph.run(merged, self.output_names)
            except Exception as error:  # the runtime's own errors: report, never crash the instance
                failure = triton_error(f"inference failed: {type(error).__name__}: {error}")
                for index, _, _ in ready:
                    responses[index] = pb_utils.InferenceResponse(error=failure)
                return responses
            start = 0
            for index, _, batch in ready:
                tensors = [
                    pb_utils.Tensor(name, np.ascontiguousarray(value[start : start + batch]))
                    for name, value in zip(self.output_names, outputs)
                ]
                responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)
                start += batch
        return responses
