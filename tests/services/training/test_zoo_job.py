"""GenerateZoo through the real stack: fakes of every family at their source's size and in its split."""

from __future__ import annotations

import re
import uuid

import grpc
import pytest

from shared.client import ClientError
from shared.training.zoo import FAMILIES
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.ingestion.v1 import dataset_pb2
from terrafake.jobs.v1 import job_pb2
from terrafake.training.v1 import evaluation_pb2 as ev_pb, model_pb2, training_service_pb2 as tr_pb
from tests.cli.test_cli import run_cli
from tests.services.conftest import make_version, start_training
from tests.services.ingestion.helpers import finished, list_images, scene_bytes

SPLITS = (dataset_pb2.SPLIT_TRAIN, dataset_pb2.SPLIT_VAL, dataset_pb2.SPLIT_TEST)


def zoo(client, **fields):
    return client.call(client.generation.GenerateZoo, gen_pb.GenerateZooRequest(**fields)).job


@pytest.fixture(scope="module")
def zoo_dataset(session_client):
    """Four real scenes in 96-px tiles, and the zoo's fakes of 12 of them: (dataset, real version, zoo job)."""
    c = session_client
    ds = c.create_dataset(f"zoo-{uuid.uuid4().hex[:8]}")
    files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(4)]
    finished(c, c.upload(files, {"dataset_id": ds.id, "tile_size": 96, "labels": {"authenticity": "real"}}).job)
    real_version = make_version(c, ds.id)
    job = finished(c, zoo(c, dataset_id=ds.id, dataset_version_id=real_version.id, fit_steps=5, seed=3,
                          max_images=12, labels={"batch": "t1"}), timeout=300)  # fmt: skip
    return ds, real_version, job


def test_the_zoo_fakes_every_real_image_in_its_own_split(session_client, zoo_dataset):
    c = session_client
    ds, real_version, job = zoo_dataset
    assert int(job.result["images_added"]) == 12 * len(FAMILIES)
    fakes = list_images(c, dataset_id=ds.id, label_filter={"authenticity": "generated"})
    real = {i.id: i for i in list_images(c, dataset_id=ds.id, label_filter={"authenticity": "real"})}
    assert sorted({f.labels["family"] for f in fakes}) == sorted(FAMILIES)
    for fake in fakes:
        source = real[fake.labels["source_image"]]
        assert (fake.width, fake.height) == (source.width, source.height) == (96, 96)
        assert fake.source_kind == "zoo" and fake.labels["batch"] == "t1"
    # A version made now puts every fake in the split of the real image it was made from.
    mixed = make_version(c, ds.id)
    split_of = {}
    for split in SPLITS:
        for info in list_images(c, dataset_version_id=mixed.id, split=split):
            split_of[info.id] = split
    assert all(split_of[f.id] == split_of[f.labels["source_image"]] for f in fakes)
    # Run again with the same request: nothing is stored twice.
    again = finished(c, zoo(c, dataset_id=ds.id, dataset_version_id=real_version.id, fit_steps=5, seed=3,
                            max_images=12, labels={"batch": "t1"}), timeout=300)  # fmt: skip
    assert int(again.result["images_added"]) == 0


def test_bad_zoo_requests_are_refused_with_what_to_fix(session_client, real_tiles):
    c = session_client
    ds, version = real_tiles
    with pytest.raises(ClientError) as err:
        zoo(c, dataset_id=ds.id, dataset_version_id=version.id, families=["stylegan9"])
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "known: [" in err.value.message
    with pytest.raises(ClientError) as err:
        zoo(c, dataset_id=ds.id, dataset_version_id=version.id, labels={"family": "mine"})
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "family" in err.value.message
    with pytest.raises(ClientError) as err:
        zoo(c, dataset_id=ds.id, dataset_version_id=str(uuid.uuid4()))
    assert err.value.code == grpc.StatusCode.NOT_FOUND


def _evaluation(c, job):
    req = tr_pb.GetEvaluationRequest(evaluation_id=job.result["evaluation_id"])
    return c.call(c.training.GetEvaluation, req).evaluation


def test_leave_one_family_out_trains_without_each_family_and_scores_it(session_client, zoo_dataset):
    c = session_client
    ds, _, _ = zoo_dataset
    mixed = make_version(c, ds.id)
    hp = {"model": {"input_size": 32, "crop_stride": 16}, "batch_size": 8, "lr": 1e-3}
    det = finished(c, start_training(c, model_pb2.MODEL_KIND_DETECTOR, mixed.id, "detector-npr", 8, hyperparameters=hp,
                                     model_name=f"lofo-{uuid.uuid4().hex[:6]}"), timeout=300)  # fmt: skip
    version_id = det.result["model_version_id"]
    options = ev_pb.DetectorEvaluationOptions(leave_one_family_out=ev_pb.LeaveOneOutOptions(enabled=True, max_steps=4))
    req = tr_pb.StartEvaluationRequest(model_version_id=version_id, dataset_version_id=mixed.id, detector=options)
    job = finished(c, c.call(c.training.StartEvaluation, req).job, timeout=600)
    ev = _evaluation(c, job)
    rows = {row.family: row for row in ev.detector.leave_one_family_out}
    # One detector per family the version trained on, each scored on the family it never saw.
    assert sorted(rows) == sorted(FAMILIES)
    per_family = {f.family: f.num_generated for f in ev.detector.per_family}
    for family, row in rows.items():
        assert row.num_generated == per_family[family] > 0 and row.train_steps == 4
        m = row.metrics
        assert 0 <= m.roc_auc <= 1 and 0 <= row.jpeg_q75_roc_auc <= 1
        confusion = m.confusion
        assert confusion.true_positives + confusion.false_negatives + confusion.uncertain_generated == row.num_generated
        assert ev.metrics[f"leave_one_out.{family}.roc_auc"] == pytest.approx(m.roc_auc)
    aucs = [row.metrics.roc_auc for row in rows.values()]
    assert ev.metrics["leave_one_out_min_roc_auc"] == pytest.approx(min(aucs))
    # From the CLI: the matrix is printed, one row per family.
    out = run_cli("evaluate", version_id, "--dataset-version", mixed.id, "--leave-one-family-out",
                  "--leave-one-out-steps", "3", timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "left out       ROC-AUC" in out.stdout and "leave_one_out_min_roc_auc" in out.stdout
    for family in FAMILIES:
        assert re.search(rf"\n  {family} +\d\.\d{{3}}  ", out.stdout), family
    # Through DetectionService too; a negative step count is refused before any job is queued.
    from terrafake.detection.v1 import detection_service_pb2 as det_pb

    with pytest.raises(ClientError) as err:
        c.call(c.detection.EvaluateDetector, det_pb.EvaluateDetectorRequest(
            model_version_id=version_id, dataset_version_id=mixed.id,
            leave_one_family_out=ev_pb.LeaveOneOutOptions(enabled=True, max_steps=-1)))  # fmt: skip
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "max_steps" in err.value.message


def test_leave_one_family_out_needs_two_families_and_says_so(session_client, mixed_tiles, detector):
    # The DDPM's samples are the only family in this dataset: nothing can be left out.
    c = session_client
    _, mixed, _ = mixed_tiles
    options = ev_pb.DetectorEvaluationOptions(leave_one_family_out=ev_pb.LeaveOneOutOptions(enabled=True, max_steps=2))
    req = tr_pb.StartEvaluationRequest(model_version_id=detector.result["model_version_id"],
                                       dataset_version_id=mixed.id, detector=options)  # fmt: skip
    job = finished(c, c.call(c.training.StartEvaluation, req).job, state=job_pb2.JOB_STATE_FAILED, timeout=300)
    assert "at least two families" in job.error and "GenerateZoo" in job.error
