"""A GAN through the real stack: train as a job, register a GENERATOR version, fill a dataset, export, serve."""

from __future__ import annotations

import uuid

import grpc
import numpy as np
import pytest

from shared.client import ClientError
from shared.inference import LocalBackend
from shared.registry.store import RegistryStore
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.jobs.v1 import job_pb2
from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb
from tests.services.conftest import start_training
from tests.services.ingestion.helpers import finished, list_images
from tests.services.serving.test_serving import _generate

GAN = "gan-stylegan2-small"
# 32 px like the session's real tiles; narrow enough for a few CPU steps.
TINY_GAN = {"model": {"image_size": 32, "latent_dim": 16, "base_channels": 16, "min_channels": 8},
            "batch_size": 4, "r1_every": 2, "log_every": 2}  # fmt: skip


@pytest.fixture(scope="module")
def gan_job(session_client, real_tiles):
    c = session_client
    job = start_training(c, model_pb2.MODEL_KIND_GENERATOR, real_tiles[1].id, GAN, 6, hyperparameters=TINY_GAN,
                         model_name=f"gan-{uuid.uuid4().hex[:6]}", checkpoint_interval_steps=3)  # fmt: skip
    return finished(c, job, timeout=300)


def test_a_gan_trains_as_a_job_and_registers_a_generator_version(client, gan_job, db):
    assert gan_job.state == job_pb2.JOB_STATE_SUCCEEDED
    req = tr_pb.GetModelVersionRequest(model_version_id=gan_job.result["model_version_id"])
    v = client.call(client.training.GetModelVersion, req).model_version
    assert v.kind == model_pb2.MODEL_KIND_GENERATOR and v.architecture == GAN
    assert v.config["image_size"] == 32 and v.config["latent_dim"] == 16
    hparams = RegistryStore(db).get_version(v.id)["hyperparameters"]
    assert hparams["r1_every"] == 2 and hparams["beta1"] == 0 and hparams["use_ema"] is True
    assert v.metrics["steps"] == 6 and np.isfinite(v.metrics["d_loss"])


def test_generate_to_dataset_labels_the_images_with_the_gan_family(client, gan_job):
    ds = client.create_dataset(f"gan-fakes-{uuid.uuid4().hex[:8]}")
    # Diffusion options do not apply to a GAN: ignored, so a client's usual settings still work.
    req = gen_pb.GenerateToDatasetRequest(
        dataset_id=ds.id, model_version_id=gan_job.result["model_version_id"], count=6, seed=3, batch_size=4,
        sampling=gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=5), labels={"batch": "gan"},
    )  # fmt: skip
    job = finished(client, client.call(client.generation.GenerateToDataset, req).job, timeout=300)
    assert int(job.result["images_added"]) == 6
    images = list_images(client, dataset_id=ds.id)
    assert len(images) == 6 and all((im.width, im.height) == (32, 32) for im in images)
    assert {im.labels["family"] for im in images} == {"gan-stylegan2"}
    assert {im.labels["authenticity"] for im in images} == {"generated"}
    assert {im.labels["sampler"] for im in images} == {"forward"} and {im.labels["batch"] for im in images} == {"gan"}
    assert sorted(int(im.labels["seed"]) for im in images) == list(range(3, 9))


def test_exported_gan_is_served_by_triton_like_the_local_backend(client, gan_job, db):
    version_id = gan_job.result["model_version_id"]
    job = client.call(client.training.ExportModel, tr_pb.ExportModelRequest(model_version_id=version_id)).job
    job = finished(client, job, timeout=300)
    assert job.result["parity_passed"] is True and "triton_sampler_model" not in job.result
    version = RegistryStore(db).get_version(version_id)
    served = _generate(client, model_version_id=version_id, count=3, seed=21)
    assert [h.seed for h, _ in served] == [21, 22, 23] and all(im.size == (32, 32) for _, im in served)
    local = list(LocalBackend("cpu").generate(version, 3, seed=21, sampler="ddim", steps=50, eta=0.0,
                                              guidance_scale=1.0, class_label=None, chunk=3))  # fmt: skip
    for (_, a), b in zip(served, local):
        assert np.abs(np.asarray(a, int) - np.asarray(b, int)).max() <= 1, "Triton (ONNX) and local (PyTorch) differ"
    with pytest.raises(ClientError) as err:
        _generate(client, model_version_id=version_id, count=1, sampling=gen_pb.SamplingOptions(class_label="1"))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "class_label" in err.value.message


def test_bad_gan_requests_name_the_field(client, real_tiles):
    version = real_tiles[1]
    cases = [
        ({"r1_gama": 1.0}, "r1_gama"),  # misspelt
        ({"r1_gamma": "strong"}, "r1_gamma must be a number"),
        ({"r1_every": 1.5}, "r1_every must be an integer"),
        ({"beta2": 1.5}, "beta2 must be in [0, 1)"),
        ({"warmup_steps": 10}, "warmup_steps"),  # a DDPM setting, unknown to the GAN trainer
    ]
    for hparams, needle in cases:
        with pytest.raises(ClientError) as err:
            start_training(client, model_pb2.MODEL_KIND_GENERATOR, version.id, GAN, 5, hyperparameters=hparams)
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and needle in err.value.message, hparams
    # The discriminator is trained with its generator, not on its own.
    with pytest.raises(ClientError) as err:
        start_training(client, model_pb2.MODEL_KIND_GENERATOR, version.id, f"{GAN}-discriminator", 5)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "unknown generator architecture" in err.value.message
    # A DDPM run's checkpoints cannot continue as a GAN: refused when submitted.
    ddpm = start_training(client, model_pb2.MODEL_KIND_GENERATOR, version.id, "ddpm-unet-tiny", 5,
                          hyperparameters={"batch_size": 8})  # fmt: skip
    client.cancel_job(ddpm.id, "only its parameters are needed")
    with pytest.raises(ClientError) as err:
        start_training(client, model_pb2.MODEL_KIND_GENERATOR, version.id, GAN, 5, hyperparameters=TINY_GAN,
                       resume_from_job_id=ddpm.id)  # fmt: skip
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION and "ddpm-unet-tiny" in err.value.message
