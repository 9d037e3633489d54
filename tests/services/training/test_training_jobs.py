"""Training, registry and evaluation jobs through the real stack and worker (tiny CPU models)."""

import time
import uuid

import grpc
import pytest

from shared.client import ClientError
from shared.stack import procs
from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as ing_pb
from terrafake.jobs.v1 import job_pb2, jobs_service_pb2 as jobs_pb
from terrafake.training.v1 import evaluation_pb2, model_pb2, training_service_pb2 as pb
from tests.conftest import wait_for
from tests.services.conftest import make_version as _version, start_training as _train
from tests.services.ingestion.helpers import finished, list_images, scene_bytes


def test_generator_training_reports_progress_and_registers_a_version(client, generator, real_tiles):
    final, events = generator
    steps = [e.progress.step for e in events if e.type == jobs_pb.JOB_EVENT_TYPE_PROGRESS and "loss" in e.metrics]
    assert steps and steps[-1] == 30 and steps == sorted(steps)
    assert all(e.metrics["loss"] > 0 for e in events if "loss" in e.metrics)
    version_id = final.result["model_version_id"]
    v = client.call(client.training.GetModelVersion, pb.GetModelVersionRequest(model_version_id=version_id)).model_version
    # (its stage may already have changed: the serving tests promote this session generator)
    assert v.kind == model_pb2.MODEL_KIND_GENERATOR and v.version == 1
    assert v.training_job_id == final.id and v.dataset_version_id == real_tiles[1].id
    assert v.architecture == "ddpm-unet-tiny" and v.config["image_size"] == 32
    assert v.metrics["loss"] > 0 and "weights" in v.artifact_uris
    model = client.call(client.training.GetModel, pb.GetModelRequest(model_name=v.model_name)).model
    assert model.version_count == 1 and model.kind == model_pb2.MODEL_KIND_GENERATOR


def test_generate_into_dataset_then_train_and_evaluate_a_detector(client, mixed_tiles, detector):
    ds, mixed, gen_job = mixed_tiles
    assert gen_job.result["images_added"] == 40
    generated = list_images(client, dataset_id=ds.id, label_filter={"authenticity": "generated"})
    assert len(generated) == 40 and all(i.width == 32 and i.format == 1 for i in generated)
    assert {i.labels["sampler"] for i in generated} == {"ddim-5"}
    det = detector
    det_version = client.call(
        client.training.GetModelVersion, pb.GetModelVersionRequest(model_version_id=det.result["model_version_id"])
    ).model_version
    assert 0 < det_version.calibration.threshold < 1
    assert det_version.calibration.uncertain_lower <= det_version.calibration.threshold
    ev_job = client.call(
        client.training.StartEvaluation,
        pb.StartEvaluationRequest(model_version_id=det_version.id, dataset_version_id=mixed.id),
    ).job
    ev_job = finished(client, ev_job, timeout=300)
    evaluation = client.call(
        client.training.GetEvaluation, pb.GetEvaluationRequest(evaluation_id=ev_job.result["evaluation_id"])
    ).evaluation
    report = evaluation.detector
    assert evaluation.split == dataset_pb2.SPLIT_TEST
    m = report.metrics
    assert 0 <= m.accuracy <= 1 and 0 <= m.type_i_error_rate <= 1 and 0 <= m.roc_auc <= 1
    c = m.confusion
    assert c.true_positives + c.false_negatives + c.uncertain_generated == report.num_generated
    assert c.true_negatives + c.false_positives + c.uncertain_real == report.num_real
    assert {r.perturbation for r in report.robustness} >= {1, 2}
    assert len(report.roc_curve) >= 2
    refreshed = client.call(
        client.training.GetModelVersion, pb.GetModelVersionRequest(model_version_id=det_version.id)
    ).model_version
    assert refreshed.metrics["test_accuracy"] == pytest.approx(m.accuracy)


def test_generator_evaluation_reports_swd_against_the_real_floor(client, generator, real_tiles):
    _, version = real_tiles
    req = pb.StartEvaluationRequest(
        model_version_id=generator[0].result["model_version_id"], dataset_version_id=version.id,
        generator=evaluation_pb2.GeneratorEvaluationOptions(num_samples=16, swd_projections=64, sampling={"steps": 5}),
    )  # fmt: skip
    job = finished(client, client.call(client.training.StartEvaluation, req).job, timeout=300)
    ev = client.call(client.training.GetEvaluation, pb.GetEvaluationRequest(evaluation_id=job.result["evaluation_id"]))
    g = ev.evaluation.generator
    assert g.swd > 0 and g.swd_real_floor > 0 and g.swd_ratio == pytest.approx(g.swd / g.swd_real_floor, rel=1e-6)
    assert g.num_generated == 16
    # Beside the floor: the generator's own TRAIN-split tiles scored the same way, and baselines made
    # from them (the ones made from the evaluated split kept beside them).
    assert g.baseline_source == "training" and 0 < g.num_training <= 16 and g.swd_training_data > 0
    assert len(g.swd_training_data_per_level) == len(g.swd_per_level)
    metrics = ev.evaluation.metrics
    for name in ("blurred", "shuffled_patches"):
        assert metrics[f"baseline_{name}_swd"] > 0 and metrics[f"reference_baseline_{name}_swd"] > 0
        assert metrics[f"baseline_{name}_swd"] != metrics[f"reference_baseline_{name}_swd"]


def test_generator_evaluated_on_its_own_training_split_has_no_second_training_line(client, generator, real_tiles):
    _, version = real_tiles
    req = pb.StartEvaluationRequest(
        model_version_id=generator[0].result["model_version_id"], dataset_version_id=version.id,
        split=dataset_pb2.SPLIT_TRAIN,
        generator=evaluation_pb2.GeneratorEvaluationOptions(num_samples=8, swd_projections=16, sampling={"steps": 2}),
    )  # fmt: skip
    job = finished(client, client.call(client.training.StartEvaluation, req).job, timeout=300)
    ev = client.call(client.training.GetEvaluation, pb.GetEvaluationRequest(evaluation_id=job.result["evaluation_id"]))
    g = ev.evaluation.generator
    # The reference is the training tiles themselves: no line that compares them with themselves.
    assert ev.evaluation.split == dataset_pb2.SPLIT_TRAIN
    assert g.baseline_source == "reference" and g.num_training == 0 and g.swd > 0


def test_generator_evaluation_without_its_training_dataset_uses_reference_baselines(client, real_tiles):
    # The dataset a generator learnt from can be deleted (force=true) while the model stays registered.
    ds = client.create_dataset(f"gone-{uuid.uuid4().hex[:8]}")
    opts = {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32, "labels": {"authenticity": "real"}}
    finished(client, client.upload([("scene-5.png", scene_bytes(5)), ("scene-6.png", scene_bytes(6))], opts).job)
    trained = finished(client, _train(client, model_pb2.MODEL_KIND_GENERATOR, _version(client, ds.id).id,
                                      "ddpm-unet-tiny", 2), timeout=300)  # fmt: skip
    client.call(client.ingestion.DeleteDataset, ing_pb.DeleteDatasetRequest(dataset_id=ds.id, force=True))
    req = pb.StartEvaluationRequest(
        model_version_id=trained.result["model_version_id"], dataset_version_id=real_tiles[1].id,
        generator=evaluation_pb2.GeneratorEvaluationOptions(num_samples=8, swd_projections=16, sampling={"steps": 2}),
    )  # fmt: skip
    job = finished(client, client.call(client.training.StartEvaluation, req).job, timeout=300)
    assert job.state == job_pb2.JOB_STATE_SUCCEEDED, job.error
    ev = client.call(client.training.GetEvaluation, pb.GetEvaluationRequest(evaluation_id=job.result["evaluation_id"]))
    g = ev.evaluation.generator
    assert g.baseline_source == "reference" and g.num_training == 0 and g.swd_training_data == 0
    assert ev.evaluation.metrics["baseline_blurred_swd"] > 0
    assert not any(k.startswith("reference_baseline_") for k in ev.evaluation.metrics)


def test_cancel_then_resume_from_checkpoint(client, real_tiles):
    _, version = real_tiles
    name = f"resume-{uuid.uuid4().hex[:6]}"
    job = _train(client, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", 5000, model_name=name,
                 checkpoint_interval_steps=1000)  # fmt: skip
    wait_for(lambda: client.get_job(job.id).progress.step >= 12, timeout=120, what="training to run")
    t0 = time.monotonic()
    client.cancel_job(job.id, "pause")
    cancelled = client.wait_job(job.id, timeout=60)
    assert cancelled.state == job_pb2.JOB_STATE_CANCELLED
    assert time.monotonic() - t0 < 10, "cancel frees the worker promptly"
    stopped_at = cancelled.progress.step
    resumed = _train(client, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", stopped_at + 10,
                     model_name=name, resume_from_job_id=job.id)  # fmt: skip
    events = list(client.watch_job(resumed.id))
    first_step = next(e.progress.step for e in events if e.type == jobs_pb.JOB_EVENT_TYPE_PROGRESS and e.progress.step)
    assert first_step > stopped_at  # it continued, it did not start again
    assert events[-1].job.state == job_pb2.JOB_STATE_SUCCEEDED


def test_killed_training_worker_resumes_from_checkpoint(client, stack, real_tiles):
    _, version = real_tiles
    job = _train(client, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", 60,
                 checkpoint_interval_steps=10)  # fmt: skip
    wait_for(lambda: client.get_job(job.id).progress.step >= 25, timeout=120, what="a checkpoint or two")
    procs.kill_hard(stack.process("worker-gpu"))
    stack.start_worker("gpu")
    final = client.wait_job(job.id, timeout=300)
    assert final.state == job_pb2.JOB_STATE_SUCCEEDED and final.attempts == 2
    events = list(client.watch_job(job.id))
    second = [e for e in events if e.type == jobs_pb.JOB_EVENT_TYPE_STATE_CHANGED and "attempt 2" in e.message]
    after = events[events.index(second[0]) + 1 :]
    first_step = next(e.progress.step for e in after if e.type == jobs_pb.JOB_EVENT_TYPE_PROGRESS and e.progress.step)
    assert first_step >= 20  # resumed from the step-20 checkpoint, not from zero


def test_promote_archives_the_previous_production_version(client, real_tiles):
    _, version = real_tiles
    name = f"promo-{uuid.uuid4().hex[:6]}"
    ids = []
    for _ in range(2):
        j = finished(client, _train(client, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", 2,
                                    model_name=name), timeout=300)  # fmt: skip
        ids.append(j.result["model_version_id"])
    promote = lambda vid, stage: client.call(
        client.training.PromoteModel, pb.PromoteModelRequest(model_version_id=vid, stage=stage)
    )
    first = promote(ids[0], model_pb2.MODEL_STAGE_PRODUCTION)
    assert first.model_version.stage == model_pb2.MODEL_STAGE_PRODUCTION and not first.HasField("archived_version")
    second = promote(ids[1], model_pb2.MODEL_STAGE_PRODUCTION)
    assert second.archived_version.id == ids[0]
    assert second.archived_version.stage == model_pb2.MODEL_STAGE_ARCHIVED
    prod = client.call(
        client.training.ListModelVersions,
        pb.ListModelVersionsRequest(model_name=name, stages=[model_pb2.MODEL_STAGE_PRODUCTION]),
    ).model_versions
    assert [v.id for v in prod] == [ids[1]]


def test_bad_training_requests(client, real_tiles, client_for):
    ds, version = real_tiles
    unsplit = _version(client, ds.id, split=False)
    cases = [
        (dict(model_kind=0, dataset_version_id=version.id, max_steps=5), grpc.StatusCode.INVALID_ARGUMENT, "model_kind"),
        (dict(model_kind=1, architecture="vit-huge", dataset_version_id=version.id, max_steps=5),
         grpc.StatusCode.INVALID_ARGUMENT, "unknown generator architecture"),
        (dict(model_kind=1, dataset_version_id=version.id, max_steps=0), grpc.StatusCode.INVALID_ARGUMENT, "max_steps"),
        (dict(model_kind=1, dataset_version_id=str(uuid.uuid4()), max_steps=5), grpc.StatusCode.NOT_FOUND, "not found"),
        (dict(model_kind=1, dataset_version_id=unsplit.id, max_steps=5), grpc.StatusCode.FAILED_PRECONDITION, "TRAIN"),
        (dict(model_kind=1, model_name="Bad Name", dataset_version_id=version.id, max_steps=5),
         grpc.StatusCode.INVALID_ARGUMENT, "model_name"),
        # Refused when submitted, not after the job has loaded its images:
        (dict(model_kind=2, dataset_version_id=version.id, max_steps=5, hyperparameters={"lr_schedule": "linear"}),
         grpc.StatusCode.INVALID_ARGUMENT, "lr_schedule must be one of constant, cosine"),
        (dict(model_kind=1, dataset_version_id=version.id, max_steps=5, hyperparameters={"ema_decay": 2}),
         grpc.StatusCode.INVALID_ARGUMENT, "ema_decay must be in [0, 1]"),
    ]  # fmt: skip
    # A cosine decay spans its run's max_steps: resuming it longer, or as another schedule, is refused when
    # submitted. (The prior job may fail on this unlabelled data; only its recorded request matters.)
    cosine = client.call(client.training.StartTraining, pb.StartTrainingRequest(
        model_kind=2, dataset_version_id=version.id, max_steps=5, hyperparameters={"lr_schedule": "cosine"})).job  # fmt: skip
    client.cancel_job(cosine.id, "only its parameters are needed")
    same = client.call(client.training.StartTraining, pb.StartTrainingRequest(
        model_kind=2, dataset_version_id=version.id, max_steps=5, resume_from_job_id=cosine.id,
        hyperparameters={"lr_schedule": "cosine"})).job  # fmt: skip
    client.cancel_job(same.id, "accepted: the same schedule and length")
    cases += [
        (dict(model_kind=2, dataset_version_id=version.id, max_steps=10, resume_from_job_id=cosine.id,
              hyperparameters={"lr_schedule": "cosine"}),
         grpc.StatusCode.FAILED_PRECONDITION, "ran lr_schedule 'cosine' over max_steps 5; this request asks for 'cosine' over 10"),
        (dict(model_kind=2, dataset_version_id=version.id, max_steps=5, resume_from_job_id=cosine.id),
         grpc.StatusCode.FAILED_PRECONDITION, "this request asks for 'constant' over 5"),
    ]  # fmt: skip
    for fields, code, needle in cases:
        with pytest.raises(ClientError) as err:
            client.call(client.training.StartTraining, pb.StartTrainingRequest(**fields))
        assert err.value.code == code and needle in err.value.message, fields
    with pytest.raises(ClientError) as err:
        client.call(client.training.GetModelVersion, pb.GetModelVersionRequest(model_version_id=str(uuid.uuid4())))
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    writer = client_for("write")
    with pytest.raises(ClientError) as err:
        writer.call(client.training.PromoteModel, pb.PromoteModelRequest(model_version_id=str(uuid.uuid4()), stage=3))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
