"""The Triton backend: exported model versions served by tritonserver over gRPC.

A version is served once ExportModel wrote it into the model repository; it
is loaded explicitly (when promoted, or on first use after a restart).
A GAN generator is one forward pass in Triton per chunk (z drawn here from
each image's seed, as the local backend draws it). DDPM sampling runs inside
Triton in the generator's sampler model (one round trip
per generation, measured fastest: see README); class-conditional or guided
sampling, which that model does not take, runs the loop here and calls the
U-Net in Triton at each step. Detection heatmaps are maps of crop scores
(shared.inference.judge), so Triton gives them too: no gradients needed.
"""

from __future__ import annotations

import threading
from typing import Iterator

import numpy as np
from PIL import Image

from shared.errors import FailedPrecondition, InvalidArgument, Unavailable

DETECT_REQUEST_BATCH = 64  # ExportModel's default max_batch_size for detectors


class TritonBackend:
    name = "triton"

    def __init__(self, url: str | None):
        self.url = url
        self._client = None
        self._lock = threading.Lock()
        self._loaded: set[tuple[str, int]] = set()

    def client(self):
        from shared.serving import TritonClient

        if not self.url:
            raise Unavailable("no Triton server is configured (TERRAFAKE_TRITON_URL)", retry_after_seconds=5)
        with self._lock:
            if self._client is None:
                self._client = TritonClient(self.url)
            return self._client

    @staticmethod
    def served_as(version: dict, key: str = "triton_model") -> tuple[str, int]:
        art = version["artifacts"]
        if key not in art:
            raise FailedPrecondition(
                f"model version {version['id']} is not exported to Triton; run ExportModel first "
                "(or use the local backend)"
            )
        return art[key], int(art["triton_version"])

    def ensure_loaded(self, name: str, number: int) -> None:
        client = self.client()
        if (name, number) in self._loaded and client.is_model_ready(name, number):
            return
        if not client.is_model_ready(name, number):
            client.load_model(name, number)
        self._loaded.add((name, number))

    def unload(self, name: str) -> None:
        self.client().unload_model(name)
        self._loaded = {k for k in self._loaded if k[0] != name}

    def ready(self, version: dict) -> bool:
        try:
            name, number = self.served_as(version)
            return self.client().is_model_ready(name, number)
        except Exception:
            return False

    def detect(self, version: dict, images: list[np.ndarray]) -> np.ndarray:
        from shared.models import from_uint8

        name, number = self.served_as(version)
        self.ensure_loaded(name, number)
        # An image gives up to max_crops crops: sent in requests the exported model's batch limit allows.
        limit = int(version["artifacts"].get("max_batch_size") or DETECT_REQUEST_BATCH)
        scores = []
        for start in range(0, len(images), limit):
            x = from_uint8(np.stack(images[start : start + limit])).numpy().astype(np.float32)
            out = self.client().infer_detector(name, x, version=number)
            scores.append(out["p_generated"].reshape(-1).astype(np.float64))
        return np.concatenate(scores) if scores else np.zeros(0)

    def generate(self, version: dict, count: int, *, seed: int, sampler: str, steps: int, eta: float,
                 guidance_scale: float, class_label: int | None, chunk: int = 4) -> Iterator:  # fmt: skip
        from shared.training.generators import is_gan

        if is_gan(version["architecture"]):  # the diffusion options do not apply (see generate_images)
            if class_label is not None:
                raise InvalidArgument("this GAN is not class-conditional; leave class_label empty")
            yield from self._gan(version, count, seed=seed, chunk=chunk)
            return
        simple = class_label is None and guidance_scale == 1.0 and "triton_sampler_model" in version["artifacts"]
        if simple:
            name, number = self.served_as(version, "triton_sampler_model")
            self.ensure_loaded(name, number)
            for start in range(0, count, chunk):
                n = min(chunk, count - start)
                arrays = self.client().generate(name, seed=seed + start, num_images=n, steps=steps, eta=eta,
                                                sampler=sampler, version=number)  # fmt: skip
                for a in arrays:
                    yield Image.fromarray(np.asarray(a, dtype=np.uint8))
            return
        yield from self._client_loop(version, count, seed=seed, sampler=sampler, steps=steps, eta=eta,
                                     guidance_scale=guidance_scale, class_label=class_label, chunk=chunk)  # fmt: skip

    def _client_loop(self, version, count, *, seed, sampler, steps, eta, guidance_scale, class_label, chunk):
        import torch

        from shared.models import NoiseSchedule, create_sampler, sample, to_pil
        from shared.serving import TritonUNet

        name, number = self.served_as(version)
        self.ensure_loaded(name, number)
        unet = TritonUNet(self.client(), name, version["config"], version=number)
        schedule = NoiseSchedule.from_config(version["config"])
        size = int(version["config"]["image_size"])
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            s = create_sampler(sampler, schedule, num_steps=steps or None, eta=eta)
            labels = torch.full((n,), class_label, dtype=torch.long) if class_label is not None else None
            x = sample(unet, s, (n, 3, size, size), seed=[seed + start + i for i in range(n)], class_labels=labels,
                       guidance_scale=guidance_scale)  # fmt: skip
            yield from to_pil(x)

    def _gan(self, version, count, *, seed, chunk):
        import torch

        from shared.models import to_pil
        from shared.models.gan import latents

        name, number = self.served_as(version)
        self.ensure_loaded(name, number)
        latent_dim = int(version["config"]["latent_dim"])
        for start in range(0, count, chunk):
            n = min(chunk, count - start)
            z = latents([seed + start + i for i in range(n)], latent_dim).numpy()
            out = self.client().infer_gan(name, z, version=number)
            yield from to_pil(torch.from_numpy(np.array(out)).clamp(-1, 1))  # a copy: the reply is read-only
