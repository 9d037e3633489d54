"""TrainingService servicer: starts training and evaluation jobs, serves the registry."""

from __future__ import annotations

import re

from google.protobuf.json_format import MessageToDict

from services.context import ServiceContext
from services.evaluations import leave_one_out, submit_evaluation
from services.convert import job as job_message
from services.training import convert
from shared.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from shared.registry.store import RegistryStore
from shared.structs import whole_numbers
from terrafake.training.v1 import model_pb2, training_service_pb2 as pb, training_service_pb2_grpc

_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

# The detector default is the one that ranked an unseen generator family best in leave-one-family-out
# (bench/RESULTS.md, eighth pass: the frozen-feature probe; the from-scratch residual nets invert on a
# family that does not up-sample).
DEFAULT_ARCHITECTURE = {"GENERATOR": "ddpm-unet-small", "DETECTOR": "detector-effnet-probe", "COLORIZER": "colorizer-unet"}
MAX_STEPS = 10_000_000


def _device(resources) -> str:
    name = pb.DevicePreference.Name(resources.device).removeprefix("DEVICE_PREFERENCE_").lower()
    return "auto" if name == "unspecified" else name


def _check_cosine_resume(prior: dict, hparams: dict, max_steps: int) -> None:
    """A cosine learning-rate decay spans its run's max_steps: resuming it with another length is refused here,
    before the job starts, as the trainer would refuse it after loading its images. Only detectors have an
    lr_schedule; the DDPM's warm-up and the GAN's constant rate depend on the step alone, so those runs extend."""
    from shared.training.detector import DETECTOR_DEFAULTS

    default = DETECTOR_DEFAULTS["lr_schedule"]
    prior_params = prior.get("params") or {}
    before = prior_params.get("hyperparameters", {}).get("lr_schedule", default)
    now = hparams.get("lr_schedule", default)
    prior_steps = prior_params.get("max_steps")
    if "cosine" in (before, now) and (before != now or prior_steps != max_steps):
        raise FailedPrecondition(
            f"job {prior['id']} ran lr_schedule {before!r} over max_steps {prior_steps}; this request asks for "
            f"{now!r} over {max_steps}. A cosine decay is fixed by its run's max_steps: resume it with the same "
            "lr_schedule and max_steps, or start a new run (lr_schedule 'constant' runs can be extended)"
        )


def _check_hyperparameters(kind: str, architecture: str, overrides: dict, hparams: dict) -> None:
    """Refuse bad settings now, not minutes later inside the job."""
    from shared.models import create_model
    from shared.training import COLORIZER_DEFAULTS, DETECTOR_DEFAULTS, resolve_generator_hparams
    from shared.training.hparams import resolve_hparams

    try:
        if kind == "GENERATOR":  # a GAN's settings or a DDPM's, by the architecture's trainer
            resolve_generator_hparams(architecture, hparams)
        else:
            defaults = {"DETECTOR": DETECTOR_DEFAULTS, "COLORIZER": COLORIZER_DEFAULTS}[kind]
            resolve_hparams(defaults, hparams, kind.lower())
    except ValueError as exc:
        raise InvalidArgument(f"hyperparameters: {exc}") from None
    try:
        import torch

        with torch.device("meta"):  # shapes and arguments only, no memory
            create_model(architecture, **overrides)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"hyperparameters.model: {exc}") from None


class TrainingServicer(training_service_pb2_grpc.TrainingServiceServicer):
    def __init__(self, ctx: ServiceContext):
        self.ctx = ctx
        self.registry = RegistryStore(ctx.db)

    def StartTraining(self, request, context):
        from shared.models import list_models

        kind = convert.kind_name(request.model_kind)
        if kind == "UNSPECIFIED":
            raise InvalidArgument("model_kind is required: GENERATOR, DETECTOR or COLORIZER")
        architecture = request.architecture or DEFAULT_ARCHITECTURE[kind]
        # Discriminators (the colorizer's PatchGAN, a GAN's critic) are trained alongside their generator.
        known = list_models(kind.lower(), trainable=True)
        if architecture not in known:
            raise InvalidArgument(f"unknown {kind.lower()} architecture {architecture!r}; known: {', '.join(known)}")
        name = request.model_name or kind.lower()
        if not _MODEL_NAME.match(name):
            raise InvalidArgument(f"model_name {name!r} must be 1-64 lowercase letters, digits, '.', '_' or '-'")
        try:
            existing = self.registry.get_model(name)
        except Exception:
            existing = None
        if existing is not None and existing["kind"] != kind:
            raise FailedPrecondition(f"model {name!r} is a {existing['kind']} model, not a {kind}")
        version = self.ctx.datasets.get_version(request.dataset_version_id)
        if version["train_count"] == 0:
            raise FailedPrecondition(
                f"dataset version {version['id']} has no TRAIN split; create a version with a split spec"
            )
        if not 0 < request.max_steps <= MAX_STEPS:
            raise InvalidArgument(f"max_steps must be between 1 and {MAX_STEPS}, got {request.max_steps}")
        interval = request.checkpoint_interval_steps or max(50, request.max_steps // 10)
        if interval < 1:
            raise InvalidArgument("checkpoint_interval_steps must be positive")
        hparams = MessageToDict(request.hyperparameters)
        overrides = whole_numbers(hparams.pop("model", {}))
        seed = hparams.pop("seed", 0)
        if not isinstance(overrides, dict):
            raise InvalidArgument("hyperparameters.model must be an object of model overrides")
        if not isinstance(seed, (int, float)) or seed < 0 or int(seed) != seed:
            raise InvalidArgument("hyperparameters.seed must be a non-negative integer")
        _check_hyperparameters(kind, architecture, overrides, hparams)
        if request.resume_from_job_id:
            prior = self.ctx.jobs.get(request.resume_from_job_id)
            if prior["kind"] != f"training.{kind.lower()}":
                raise FailedPrecondition(f"job {prior['id']} is a {prior['kind']} job; it cannot be resumed as {kind}")
            before = (prior.get("params") or {}).get("architecture")
            if before and before != architecture:  # a DDPM's checkpoints cannot continue as a GAN, nor the reverse
                raise FailedPrecondition(
                    f"job {prior['id']} trained {before!r}; it cannot be resumed as {architecture!r}"
                )
            _check_cosine_resume(prior, hparams, request.max_steps)
        params = {
            "kind": kind,
            "model_name": name,
            "architecture": architecture,
            "overrides": overrides,
            "hyperparameters": hparams,
            "seed": int(seed),
            "dataset_version_id": str(version["id"]),
            "device": _device(request.resources),
            "mixed_precision": request.resources.mixed_precision,
            "max_steps": request.max_steps,
            "checkpoint_interval": interval,
            "resume_from_job_id": request.resume_from_job_id,
            "description": request.description,
        }
        job = self.ctx.submit(f"training.{kind.lower()}", params, idempotency_key=request.idempotency_key)
        return pb.StartTrainingResponse(job=job_message(job))

    def ListModels(self, request, context):
        kind = convert.kind_name(request.kind)
        rows, token, total = self.registry.list_models(
            "" if kind == "UNSPECIFIED" else kind, self.ctx.page_size(request.page.page_size), request.page.page_token
        )
        models = [convert.model(r, self.registry.latest_versions(r["name"])) for r in rows]
        return pb.ListModelsResponse(models=models, page={"next_page_token": token, "total_size": total})

    def GetModel(self, request, context):
        row = self.registry.get_model(request.model_name)
        return pb.GetModelResponse(model=convert.model(row, self.registry.latest_versions(row["name"])))

    def ListModelVersions(self, request, context):
        stages = [model_pb2.ModelStage.Name(s).removeprefix("MODEL_STAGE_") for s in request.stages]
        rows, token, total = self.registry.list_versions(
            request.model_name,
            [s for s in stages if s != "UNSPECIFIED"],
            self.ctx.page_size(request.page.page_size),
            request.page.page_token,
        )
        return pb.ListModelVersionsResponse(
            model_versions=[convert.model_version(r) for r in rows],
            page={"next_page_token": token, "total_size": total},
        )

    def GetModelVersion(self, request, context):
        row = self.registry.get_version(request.model_version_id)
        return pb.GetModelVersionResponse(model_version=convert.model_version(row))

    def PromoteModel(self, request, context):
        stage = model_pb2.ModelStage.Name(request.stage).removeprefix("MODEL_STAGE_")
        if stage == "UNSPECIFIED":
            raise InvalidArgument("stage is required: NONE, STAGING, PRODUCTION or ARCHIVED")
        if stage == "PRODUCTION":
            self._serve(self.registry.get_version(request.model_version_id))
        row, archived = self.registry.promote(request.model_version_id, stage)
        resp = pb.PromoteModelResponse(model_version=convert.model_version(row))
        if archived:
            resp.archived_version.CopyFrom(convert.model_version(archived))
        return resp

    def _serve(self, version: dict) -> None:
        """Load an exported version into Triton before it becomes PRODUCTION (Triton backend only).

        Loading a version of a Triton model replaces the version served before,
        so the archived version is unloaded by the same call.
        """
        backend = self.ctx.inference
        if backend is None or backend.name != "triton" or "triton_model" not in version["artifacts"]:
            return  # not exported (yet): the export job loads it once it is PRODUCTION
        name, number = backend.served_as(version)
        backend.ensure_loaded(name, number)
        if "triton_sampler_model" in version["artifacts"]:
            backend.ensure_loaded(*backend.served_as(version, "triton_sampler_model"))

    def ExportModel(self, request, context):
        version = self.registry.get_version(request.model_version_id)
        if version["kind"] == "COLORIZER":
            raise FailedPrecondition("colorizers run in the generation service itself; only generators and "
                                     "detectors are exported to Triton")  # fmt: skip
        fmt = pb.ExportFormat.Name(request.format).removeprefix("EXPORT_FORMAT_").lower()
        fmt = "onnx" if fmt == "unspecified" else fmt
        if request.fp16:
            raise InvalidArgument("fp16 export is not supported yet; export in fp32")
        name = request.triton_model_name or version["model_name"]
        if not _MODEL_NAME.match(name):
            raise InvalidArgument(f"triton_model_name {name!r} must be 1-64 lowercase letters, digits, '.', '_' or '-'")
        number = request.triton_model_version or version["version"]
        if number < 1:
            raise InvalidArgument("triton_model_version must be positive")
        max_batch = request.max_batch_size or (64 if version["kind"] == "DETECTOR" else 8)
        if not 1 <= max_batch <= 1024:
            raise InvalidArgument("max_batch_size must be between 1 and 1024")
        opset = request.onnx_opset or 17
        if not 13 <= opset <= 21:
            raise InvalidArgument("onnx_opset must be between 13 and 21")
        target = self.ctx.settings.triton_repository / name / str(number)
        if target.exists() and not request.overwrite and version["artifacts"].get("triton_model") != name:
            raise AlreadyExists(f"Triton model {name} version {number} exists; pass overwrite=true to replace it")
        params = {
            "model_version_id": str(version["id"]),
            "format": fmt,
            "triton_model_name": name,
            "triton_model_version": number,
            "max_batch_size": max_batch,
            "opset": opset,
        }
        job = self.ctx.submit("serving.export", params, idempotency_key=request.idempotency_key)
        return pb.ExportModelResponse(job=job_message(job))

    def StartEvaluation(self, request, context):
        version = self.registry.get_version(request.model_version_id)
        options = request.WhichOneof("options")
        expected = version["kind"].lower()
        if options and options != expected:
            raise InvalidArgument(f"{options} options given for a {expected} model version")
        opts = MessageToDict(getattr(request, options), preserving_proto_field_name=True) if options else {}
        if options == "detector":
            opts["leave_one_family_out"] = leave_one_out(version, request.detector.leave_one_family_out)
        job = submit_evaluation(self.ctx, version, request, opts, _device(request.resources))
        return pb.StartEvaluationResponse(job=job_message(job))

    def GetEvaluation(self, request, context):
        return pb.GetEvaluationResponse(evaluation=convert.evaluation(self.registry.get_evaluation(request.evaluation_id)))

    def ListEvaluations(self, request, context):
        kind = convert.kind_name(request.model_kind)
        rows, token, total = self.registry.list_evaluations(
            model_version_id=request.model_version_id,
            model_name=request.model_name,
            dataset_version_id=request.dataset_version_id,
            job_id=request.job_id,
            kind="" if kind == "UNSPECIFIED" else kind,
            page_size=self.ctx.page_size(request.page.page_size),
            page_token=request.page.page_token,
        )
        return pb.ListEvaluationsResponse(
            evaluations=[convert.evaluation(r) for r in rows], page={"next_page_token": token, "total_size": total}
        )
