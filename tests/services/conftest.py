"""Session fixtures shared by the training and serving tests: real tiles and tiny trained models."""

import uuid

import pytest

from shared.client import connect
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as ing_pb
from terrafake.jobs.v1 import job_pb2
from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb
from tests.services.ingestion.helpers import finished, scene_bytes

TINY = {"model": {}, "batch_size": 8, "lr": 1e-3}


def make_version(client, dataset_id, split=True):
    spec = dict(train_fraction=0.5, val_fraction=0.25, test_fraction=0.25, seed=1,
                grouping=dataset_pb2.SPLIT_GROUPING_SCENE)  # fmt: skip
    req = ing_pb.CreateDatasetVersionRequest(dataset_id=dataset_id, split=spec if split else None)
    return client.call(client.ingestion.CreateDatasetVersion, req).dataset_version


def start_training(client, kind, version_id, architecture, steps, **extra):
    req = tr_pb.StartTrainingRequest(
        model_kind=kind, architecture=architecture, dataset_version_id=version_id, max_steps=steps,
        hyperparameters=extra.pop("hyperparameters", TINY), **extra,
    )  # fmt: skip
    return client.call(client.training.StartTraining, req).job


@pytest.fixture(scope="session")
def session_client(stack):
    token = stack.settings.admin_token_file.read_text().strip()
    with connect(stack.grpc_address, token) as c:
        yield c


@pytest.fixture(scope="session")
def real_tiles(session_client):
    """Four real scenes cut into 128-px tiles and shrunk to 32 px, labelled real, with a scene split."""
    c = session_client
    ds = c.create_dataset(f"train-{uuid.uuid4().hex[:8]}")
    files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(4)]
    opts = {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32, "labels": {"authenticity": "real"}}
    finished(c, c.upload(files, opts).job)
    return ds, make_version(c, ds.id)


@pytest.fixture(scope="session")
def generator(session_client, real_tiles):
    """A tiny DDPM trained for 30 steps: (final job, all its events)."""
    c = session_client
    job = start_training(c, model_pb2.MODEL_KIND_GENERATOR, real_tiles[1].id, "ddpm-unet-tiny", 30,
                         model_name=f"gen-{uuid.uuid4().hex[:6]}", checkpoint_interval_steps=10)  # fmt: skip
    events = list(c.watch_job(job.id))
    final = events[-1].job
    assert final.state == job_pb2.JOB_STATE_SUCCEEDED, final.error
    return final, events


@pytest.fixture(scope="session")
def mixed_tiles(session_client, real_tiles, generator):
    """The real tiles plus 40 generated ones, versioned with a scene split: (dataset, version, generate job)."""
    c = session_client
    ds, _ = real_tiles
    req = gen_pb.GenerateToDatasetRequest(
        dataset_id=ds.id, model_version_id=generator[0].result["model_version_id"], count=40, seed=5,
        sampling=gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=5),
    )  # fmt: skip
    job = finished(c, c.call(c.generation.GenerateToDataset, req).job, timeout=300)
    return ds, make_version(c, ds.id), job


@pytest.fixture(scope="session")
def detector(session_client, mixed_tiles):
    """A small detector trained on real vs generated 32-px tiles: its finished training job."""
    c = session_client
    job = start_training(c, model_pb2.MODEL_KIND_DETECTOR, mixed_tiles[1].id, "detector-small", 40,
                         model_name=f"det-{uuid.uuid4().hex[:6]}",
                         hyperparameters={"model": {"input_size": 32}, "batch_size": 16})  # fmt: skip
    return finished(c, job, timeout=300)
