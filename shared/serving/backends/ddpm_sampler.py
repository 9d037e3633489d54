"""Triton python-backend model that runs a whole DDPM/DDIM sampling loop and returns uint8 images.

The repository writer copies this file as `<model>/<version>/model.py` with the
exported U-Net (`model.onnx`) and its checkpoint `config.json` beside it. The
U-Net runs in this process with onnxruntime, so a generation costs one gRPC
round trip instead of one per step. The loop is `shared.models.sample` itself
(same seeding, samplers and guidance as in-process generation), so Triton
needs the terrafake package importable (TritonServer puts it on PYTHONPATH).

Request (max_batch_size 0: one request is one generation):
    seed int64 [1]          image i is sampled with seed + i (as GenerateRequest)
    num_images int32 [1]    1..max_images (config parameter)
    steps int32 [1]         0 = the sampler's default
    eta float32 [1]         DDIM noise scale in [0, 1]; ignored by DDPM
    sampler bytes [1]       "ddim" or "ddpm" (or SAMPLER_DDIM / SAMPLER_DDPM)
Response:
    images uint8 [num_images, H, W, C]
Bad values get a per-request INVALID_ARG error; `execute` never raises.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

from shared.models.diffusion.noise_schedule import NoiseSchedule
from shared.models.diffusion.sampling import sample
from shared.models.images import to_uint8
from shared.models.samplers import create_sampler
from shared.serving.unet_adapters import OnnxUNet


def triton_error(message: str, code_name: str = "INTERNAL"):
    code = getattr(pb_utils.TritonError, code_name, None)
    return pb_utils.TritonError(message, code) if code is not None else pb_utils.TritonError(message)


def _scalar(request, name: str):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        raise ValueError(f"missing input {name!r}")
    array = tensor.as_numpy()
    if array.size != 1:
        raise ValueError(f"input {name!r} must hold one value, got shape {list(array.shape)}")
    value = array.reshape(-1)[0]
    return value.decode() if isinstance(value, bytes) else value.item()


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        version_dir = Path(args["model_repository"]) / args["model_version"]
        parameters = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        threads = int(parameters.get("intra_op_threads", "0"))
        self.max_images = int(parameters.get("max_images", "16"))
        if threads > 0:
            torch.set_num_threads(threads)
        checkpoint = json.loads((version_dir / "config.json").read_text())
        self.unet_config = checkpoint["config"]
        if self.unet_config.get("num_classes", 0):
            # Conditioning inputs are not part of this model's contract yet; refuse rather than sample "no class".
            raise pb_utils.TritonModelException("ddpm_sampler serves unconditional U-Nets only")
        self.unet = OnnxUNet(version_dir / "model.onnx", self.unet_config, threads=threads)
        self.schedule = NoiseSchedule.from_config(self.unet_config)

    def _generate(self, request) -> np.ndarray:
        seed = int(_scalar(request, "seed"))
        num_images = int(_scalar(request, "num_images"))
        steps = int(_scalar(request, "steps"))
        eta = float(_scalar(request, "eta"))
        sampler_name = str(_scalar(request, "sampler"))
        if not 1 <= num_images <= self.max_images:
            raise ValueError(f"num_images must be in 1..{self.max_images}, got {num_images}")
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        # create_sampler validates the name, the step count and eta (ValueError).
        sampler = create_sampler(sampler_name, self.schedule, num_steps=steps or None, eta=eta)
        size = self.unet_config["image_size"]
        shape = (num_images, self.unet_config["in_channels"], size, size)
        images = sample(self.unet, sampler, shape, seed=[seed + i for i in range(num_images)], device="cpu")
        return to_uint8(images)

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                images = self._generate(request)
            except ValueError as error:
                responses.append(pb_utils.InferenceResponse(error=triton_error(str(error), "INVALID_ARG")))
                continue
            except Exception as error:  # report, never crash the instance
                responses.append(
                    pb_utils.InferenceResponse(error=triton_error(f"sampling failed: {type(error).__name__}: {error}"))
                )
                continue
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("images", images)]))
        return responses
