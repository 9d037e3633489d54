"""A small typed client for the Triton models this project serves, over tritonclient's gRPC API.

Failures are turned into this project's domain errors, so a service maps them
to gRPC statuses without knowing Triton:

- `TritonUnavailable` (shared.errors.Unavailable -> UNAVAILABLE): the server
  cannot be reached, or it is shutting down.
- `ModelNotReady` (shared.errors.FailedPrecondition -> FAILED_PRECONDITION):
  the model (version) is not loaded, unknown, or failed to load (the message
  carries Triton's reason, e.g. the model.py traceback).
- `InferenceRejected` (shared.errors.InvalidArgument -> INVALID_ARGUMENT): the
  model refused the request's inputs.
- `TritonError` (INTERNAL): anything else Triton reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

from shared.errors import FailedPrecondition, InvalidArgument, TerrafakeError, Unavailable

DEFAULT_TIMEOUT_S = 60.0


class TritonUnavailable(Unavailable):
    """The Triton server cannot be reached (down, restarting, wrong address)."""

    def __init__(self, message: str, *, retry_after_seconds: float | None = 5.0):
        super().__init__(message, retry_after_seconds=retry_after_seconds)


class ModelNotReady(FailedPrecondition):
    """The model or version is not loaded (or not known) on the server."""


class InferenceRejected(InvalidArgument):
    """The model rejected the request (wrong shape, dtype or value)."""


class TritonError(TerrafakeError):
    """Any other failure reported by Triton."""


@dataclass(frozen=True)
class ModelState:
    """One entry of the repository index: name, version ("" when unknown), state (READY, UNAVAILABLE, ...)."""

    name: str
    version: str
    state: str
    reason: str

    @property
    def ready(self) -> bool:
        return self.state == "READY"


# Status codes are strings like "StatusCode.UNAVAILABLE" (tritonclient puts grpc's enum through str()).
_UNREACHABLE = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED")
# Triton's messages for a model that is not (or no longer) servable.
_NOT_READY_MARKERS = (
    "load failed",
    "failed to poll from model repository",  # loading a name the repository does not have
    "is not found", "is not ready", "unknown model", "no available versions", "unavailable model")


def _translate(error: InferenceServerException, what: str) -> TerrafakeError:
    status = str(error.status() or "")
    message = error.message() or str(error)
    lowered = message.lower()
    if any(code in status for code in _UNREACHABLE) and not any(m in lowered for m in _NOT_READY_MARKERS):
        return TritonUnavailable(f"Triton unavailable during {what}: {message}")
    if "NOT_FOUND" in status or any(marker in lowered for marker in _NOT_READY_MARKERS):
        return ModelNotReady(f"{what}: {message}")
    if "INVALID_ARG" in status:
        return InferenceRejected(f"{what}: {message}")
    return TritonError(f"{what}: {message} ({status or 'no status'})")


def _version(version: int | None) -> str:
    return "" if version is None else str(int(version))


class TritonClient:
    """Connects to one Triton server (`url` "host:port" of its gRPC endpoint); thread-safe for concurrent calls."""

    def __init__(self, url: str, *, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.url = url
        self.timeout_s = timeout_s
        self._client = grpcclient.InferenceServerClient(url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "TritonClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- server and model lifecycle -------------------------------------------------------------

    def is_server_ready(self) -> bool:
        """False (never an exception) when the server is down."""
        try:
            return bool(self._client.is_server_ready(client_timeout=self.timeout_s))
        except InferenceServerException:
            return False

    def load_model(self, name: str, version: int | None = None, *, config: dict | None = None) -> None:
        """Load (or reload) `name`; with `version`, only that version, else the config's version policy.

        Triton loads versions by policy, so a specific version is requested by
        overriding the config's `version_policy`. Triton takes an override
        config as the whole config, so the override is the model's complete
        config as the server reports it (loading the model by its policy
        first when nothing is loaded yet) with the policy replaced; pass
        `config` to give the full config yourself.
        """
        override = dict(config) if config is not None else None
        if version is not None:
            override = override or self._repository_config(name)
            override["version_policy"] = {"specific": {"versions": [int(version)]}}
        try:
            self._client.load_model(
                name, config=json.dumps(override) if override else None, client_timeout=self.timeout_s
            )
        except InferenceServerException as error:
            raise _translate(error, f"loading model {name!r}") from error
        if not self.is_model_ready(name, version):
            raise ModelNotReady(f"model {name!r} version {_version(version) or 'latest'} did not become ready")

    def _repository_config(self, name: str) -> dict:
        # The loaded config is the complete one (defaults filled in); without a loaded
        # version, load by the repository's policy first to obtain it.
        try:
            return self._client.get_model_config(name, as_json=True, client_timeout=self.timeout_s)["config"]
        except InferenceServerException:
            pass
        try:
            self._client.load_model(name, client_timeout=self.timeout_s)
            return self._client.get_model_config(name, as_json=True, client_timeout=self.timeout_s)["config"]
        except InferenceServerException as error:
            raise _translate(error, f"reading the config of model {name!r}") from error

    def unload_model(self, name: str) -> None:
        try:
            self._client.unload_model(name, client_timeout=self.timeout_s)
        except InferenceServerException as error:
            raise _translate(error, f"unloading model {name!r}") from error

    def is_model_ready(self, name: str, version: int | None = None) -> bool:
        """Whether the model (version) is ready; TritonUnavailable when the server cannot be reached."""
        try:
            return bool(self._client.is_model_ready(name, _version(version), client_timeout=self.timeout_s))
        except InferenceServerException as error:
            translated = _translate(error, f"checking model {name!r}")
            if isinstance(translated, ModelNotReady):
                return False
            raise translated from error

    def repository_index(self) -> list[ModelState]:
        """Every model in the server's repository with its state, loaded or not."""
        try:
            index = self._client.get_model_repository_index(as_json=True, client_timeout=self.timeout_s)
        except InferenceServerException as error:
            raise _translate(error, "reading the repository index") from error
        return [
            ModelState(item["name"], item.get("version", ""), item.get("state", "UNKNOWN"), item.get("reason", ""))
            for item in index.get("models", [])
        ]

    def inference_counts(self, name: str, version: int | None = None) -> tuple[int, int]:
        """(inferences, executions) since load: fewer executions than inferences means requests were batched."""
        try:
            stats = self._client.get_inference_statistics(
                name, _version(version), as_json=True, client_timeout=self.timeout_s
            )
        except InferenceServerException as error:
            raise _translate(error, f"reading statistics of model {name!r}") from error
        entries = stats.get("model_stats", [])
        return (
            sum(int(entry.get("inference_count", 0)) for entry in entries),
            sum(int(entry.get("execution_count", 0)) for entry in entries),
        )

    # -- inference --------------------------------------------------------------------------------

    def infer(
        self,
        name: str,
        inputs: dict[str, np.ndarray],
        outputs: Sequence[str],
        *,
        version: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Run `name` on named numpy inputs; returns the named outputs as numpy arrays."""
        request = []
        for key, array in inputs.items():
            array = np.ascontiguousarray(array)
            datatype = "BYTES" if array.dtype.kind in "SOU" else np_to_triton_dtype(array.dtype)
            tensor = grpcclient.InferInput(key, list(array.shape), datatype)
            tensor.set_data_from_numpy(array.astype(np.object_) if datatype == "BYTES" else array)
            request.append(tensor)
        wanted = [grpcclient.InferRequestedOutput(key) for key in outputs]
        try:
            result = self._client.infer(
                name, request, model_version=_version(version), outputs=wanted, client_timeout=self.timeout_s
            )
        except InferenceServerException as error:
            raise _translate(error, f"inference on model {name!r}") from error
        return {key: result.as_numpy(key) for key in outputs}

    def infer_unet(
        self,
        name: str,
        sample: np.ndarray,
        timestep: np.ndarray,
        class_labels: np.ndarray | None = None,
        *,
        version: int | None = None,
    ) -> np.ndarray:
        """Noise prediction for x_t `sample` (B, C, H, W) float32 at `timestep` (B,) int64."""
        sample = np.asarray(sample, dtype=np.float32)
        # Scalars per item travel as [B, 1] (config dims [1], reshaped to [B] for the model).
        inputs = {"sample": sample, "timestep": np.asarray(timestep, dtype=np.int64).reshape(-1, 1)}
        if class_labels is not None:
            inputs["class_labels"] = np.asarray(class_labels, dtype=np.int64).reshape(-1, 1)
        return self.infer(name, inputs, ["noise_pred"], version=version)["noise_pred"]

    def infer_gan(self, name: str, z: np.ndarray, *, version: int | None = None) -> np.ndarray:
        """Images (B, 3, S, S) float32, unclamped, of an exported GAN generator for z (B, latent_dim)."""
        return self.infer(name, {"z": np.asarray(z, dtype=np.float32)}, ["image"], version=version)["image"]

    def infer_detector(self, name: str, image: np.ndarray, *, version: int | None = None) -> dict[str, np.ndarray]:
        """{"logit", "p_generated"} (B, 1) for images (B, 3, H, W) float32 in [-1, 1]."""
        return self.infer(
            name, {"image": np.asarray(image, dtype=np.float32)}, ["logit", "p_generated"], version=version
        )

    def generate(
        self,
        name: str,
        *,
        seed: int,
        num_images: int,
        steps: int = 0,
        eta: float = 0.0,
        sampler: str = "ddim",
        version: int | None = None,
    ) -> np.ndarray:
        """Images (N, H, W, C) uint8 from a "ddpm_sampler" model that runs the whole loop inside Triton."""
        inputs = {
            "seed": np.array([seed], dtype=np.int64),
            "num_images": np.array([num_images], dtype=np.int32),
            "steps": np.array([steps], dtype=np.int32),
            "eta": np.array([eta], dtype=np.float32),
            "sampler": np.array([sampler.encode()], dtype=np.object_),
        }
        return self.infer(name, inputs, ["images"], version=version)["images"]
