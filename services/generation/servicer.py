"""GenerationService servicer."""

from __future__ import annotations

from services.context import ServiceContext
from services.convert import job as job_message
from services.generation.sampling import sampling_params, seed_of
from shared.errors import InvalidArgument
from shared.registry.store import RegistryStore
from terrafake.generation.v1 import generation_service_pb2 as pb, generation_service_pb2_grpc


class GenerationServicer(generation_service_pb2_grpc.GenerationServiceServicer):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.registry = RegistryStore(ctx.db)

    def GenerateToDataset(self, request, context):
        version = self.registry.resolve(request.model_version_id, request.model_name or "generator", "GENERATOR")
        self.ctx.datasets.get(request.dataset_id)
        limit = self.ctx.settings.limits.max_images_per_request * 100
        if not 1 <= request.count <= limit:
            raise InvalidArgument(f"count must be between 1 and {limit}, got {request.count}")
        if request.batch_size < 0 or request.batch_size > 256:
            raise InvalidArgument("batch_size must be between 1 and 256")
        from shared.datasets.store import check_labels

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
