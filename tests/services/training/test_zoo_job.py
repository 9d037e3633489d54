"""GenerateZoo through the real stack: fakes of every family at their source's size and in its split."""

from __future__ import annotations

import uuid

import grpc
import pytest

from shared.client import ClientError
from shared.training.zoo import FAMILIES
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.ingestion.v1 import dataset_pb2
from tests.services.conftest import make_version
from tests.services.ingestion.helpers import finished, list_images, scene_bytes

SPLITS = (dataset_pb2.SPLIT_TRAIN, dataset_pb2.SPLIT_VAL, dataset_pb2.SPLIT_TEST)


def zoo(client, **fields):
    return client.call(client.generation.GenerateZoo, gen_pb.GenerateZooRequest(**fields)).job


def test_the_zoo_fakes_every_real_image_in_its_own_split(session_client):
    c = session_client
    ds = c.create_dataset(f"zoo-{uuid.uuid4().hex[:8]}")
    files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(4)]
    finished(c, c.upload(files, {"dataset_id": ds.id, "tile_size": 96, "labels": {"authenticity": "real"}}).job)
    real_version = make_version(c, ds.id)
    job = finished(c, zoo(c, dataset_id=ds.id, dataset_version_id=real_version.id, fit_steps=5, seed=3,
                          max_images=12, labels={"batch": "t1"}), timeout=300)  # fmt: skip
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
