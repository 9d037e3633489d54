"""GenerationService servicer: stream generated images, fill datasets, colorize photos.

Colorizers are not exported to Triton (the platform serves the generators, DDPM and GAN, and the
detector there); they always run in this process with PyTorch.
"""

from __future__ import annotations

import io

from services.context import ServiceContext
from services.convert import job as job_message
from services.generation.sampling import sampling_params, seed_of
from services.images import ImageBuffer, decode_rgb
from shared.datasets.store import check_labels
from shared.errors import InvalidArgument
from shared.inference import LocalBackend, local_backend
from shared.registry.store import RegistryStore
from terrafake.common.v1 import common_pb2
from terrafake.generation.v1 import generation_service_pb2 as pb, generation_service_pb2_grpc

_FORMATS = (common_pb2.IMAGE_FORMAT_UNSPECIFIED, common_pb2.IMAGE_FORMAT_PNG, common_pb2.IMAGE_FORMAT_JPEG)


def _check_format(fmt: int) -> None:
    if fmt not in _FORMATS:
        raise InvalidArgument("output_format must be PNG or JPEG")


def _encode(image, fmt: int) -> tuple[bytes, int]:
    if fmt == common_pb2.IMAGE_FORMAT_JPEG:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, "JPEG", quality=95)
        return buf.getvalue(), fmt
    from shared.imaging import encode_png

    return encode_png(image.convert("RGB")), common_pb2.IMAGE_FORMAT_PNG


def _filename(stem: str, fmt: int) -> str:
    return f"{stem}.{'jpg' if fmt == common_pb2.IMAGE_FORMAT_JPEG else 'png'}"


class GenerationServicer(generation_service_pb2_grpc.GenerationServiceServicer):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.registry = RegistryStore(ctx.db)
        self.local = ctx.inference if isinstance(ctx.inference, LocalBackend) else local_backend(ctx.settings)

    def _chunks(self, data: bytes):
        size = self.ctx.settings.limits.chunk_bytes
        for start in range(0, len(data), size):
            yield common_pb2.ImageChunk(data=data[start : start + size])

    def Generate(self, request, context):
        version = self.registry.resolve(request.model_version_id, request.model_name or "generator", "GENERATOR")
        limit = self.ctx.settings.limits.max_images_per_request
        if not 1 <= request.count <= limit:
            raise InvalidArgument(f"count must be between 1 and {limit}, got {request.count}")
        _check_format(request.output_format)
        sampling = sampling_params(request.sampling, version)
        seed = seed_of(request.seed, request.randomize_seed)
        # Small chunks: the first image reaches the caller long before the last is sampled.
        images = self.ctx.inference.generate(
            version, request.count, seed=seed, sampler=sampling["sampler"], steps=sampling["steps"],
            eta=sampling["eta"], guidance_scale=sampling["guidance_scale"], class_label=sampling["class_label"],
            chunk=2,
        )  # fmt: skip
        for index, image in enumerate(images):
            if not context.is_active():
                return
            data, fmt = _encode(image, request.output_format)
            yield pb.GenerateResponse(header=pb.GeneratedImageHeader(
                index=index, seed=seed + index, width=image.width, height=image.height,
                image=common_pb2.ImageHeader(filename=_filename(f"generated-{seed + index}", fmt), format=fmt,
                                             size_bytes=len(data)),
                model_version_id=str(version["id"]),
            ))  # fmt: skip
            for chunk in self._chunks(data):
                yield pb.GenerateResponse(chunk=chunk)

    def GenerateToDataset(self, request, context):
        version = self.registry.resolve(request.model_version_id, request.model_name or "generator", "GENERATOR")
        self.ctx.datasets.get(request.dataset_id)
        limit = self.ctx.settings.limits.max_images_per_request * 100
        if not 1 <= request.count <= limit:
            raise InvalidArgument(f"count must be between 1 and {limit}, got {request.count}")
        if request.batch_size < 0 or request.batch_size > 256:
            raise InvalidArgument("batch_size must be between 1 and 256")
        if request.output_format not in (common_pb2.IMAGE_FORMAT_UNSPECIFIED, common_pb2.IMAGE_FORMAT_PNG):
            raise InvalidArgument("datasets store PNG, like real tiles, so a detector cannot learn the encoding")
        params = {
            "dataset_id": request.dataset_id,
            "model_version_id": str(version["id"]),
            "count": request.count,
            "seed": seed_of(request.seed, request.randomize_seed),
            "batch_size": request.batch_size or 16,
            "labels": check_labels(dict(request.labels)),
            **sampling_params(request.sampling, version),
        }
        job = self.ctx.submit("generation.to_dataset", params, idempotency_key=request.idempotency_key)
        return pb.GenerateToDatasetResponse(job=job_message(job))

    def GenerateZoo(self, request, context):
        from shared.training.zoo import DEFAULT_FIT_STEPS, check_families

        self.ctx.datasets.get(request.dataset_id)
        self.ctx.datasets.get_version(request.dataset_version_id)
        if not 0 <= request.fit_steps <= 100_000:
            raise InvalidArgument(f"fit_steps must be between 0 (the default) and 100000, got {request.fit_steps}")
        if request.max_images < 0:
            raise InvalidArgument("max_images must be >= 0 (0 means every real image)")
        try:
            families = check_families(list(request.families))
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        reserved = {"authenticity", "family", "source_image"} & set(request.labels)
        if reserved:
            raise InvalidArgument(f"labels {sorted(reserved)} are set by GenerateZoo and cannot be given")
        params = {
            "dataset_id": request.dataset_id,
            "dataset_version_id": request.dataset_version_id,
            "families": families,
            "fit_steps": request.fit_steps or DEFAULT_FIT_STEPS,
            "seed": int(request.seed),
            "max_images": int(request.max_images),
            "labels": check_labels(dict(request.labels)),
        }
        job = self.ctx.submit("generation.zoo", params, idempotency_key=request.idempotency_key)
        return pb.GenerateZooResponse(job=job_message(job))

    def Colorize(self, request_iterator, context):
        from shared.models import colorize

        first = next(request_iterator, None)
        if first is None or first.WhichOneof("payload") != "header":
            raise InvalidArgument("the first message of Colorize must be its header")
        header = first.header
        _check_format(header.output_format)
        buf = ImageBuffer(header.image.size_bytes, self.ctx.settings.ingest.max_image_bytes)
        for msg in request_iterator:
            if msg.WhichOneof("payload") != "chunk":
                raise InvalidArgument("Colorize takes one header, then chunks")
            buf.add(msg.chunk.data)
        image = decode_rgb(buf.bytes(), self.ctx.settings)
        version = self.registry.resolve(header.model_version_id, header.model_name or "colorizer", "COLORIZER")
        model = self.local.model(version)
        with self.local.lock:
            out = colorize(model, image.convert("L"), device=self.local.device)
        data, fmt = _encode(out, header.output_format)
        yield pb.ColorizeResponse(header=pb.ColorizedImageHeader(
            image=common_pb2.ImageHeader(filename=_filename("colorized", fmt), format=fmt, size_bytes=len(data)),
            width=out.width, height=out.height, model_version_id=str(version["id"]),
        ))  # fmt: skip
        for chunk in self._chunks(data):
            yield pb.ColorizeResponse(chunk=chunk)
