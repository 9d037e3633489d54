"""Dataset versions: immutable snapshots with seeded, grouped splits."""

import hashlib

import grpc
import pytest

from shared.client import ClientError
from terrafake.ingestion.v1 import dataset_pb2, ingestion_service_pb2 as pb
from tests.services.ingestion.helpers import finished, list_images, scene_bytes


@pytest.fixture
def tiled(client, dataset):
    """Six real scenes, cut into 128-px tiles: six groups of ~35 tiles."""
    files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(6)]
    finished(client, client.upload(files, {"dataset_id": dataset.id, "tile_size": 128}).job)
    return dataset


def _version(client, dataset_id, **fields):
    return client.call(
        client.ingestion.CreateDatasetVersion, pb.CreateDatasetVersionRequest(dataset_id=dataset_id, **fields)
    ).dataset_version


SPLIT = dict(train_fraction=0.5, val_fraction=1 / 6, test_fraction=1 / 3, seed=7,
             grouping=dataset_pb2.SPLIT_GROUPING_SCENE)  # fmt: skip


def test_split_by_scene_keeps_scenes_whole(client, tiled):
    v = _version(client, tiled.id, split=SPLIT, description="first")
    assert v.version_number == 1 and v.group_count == 6
    assert v.train_count + v.val_count + v.test_count == v.image_count == client.get_dataset(tiled.id).image_count
    split_of_scene = {}
    for split in (dataset_pb2.SPLIT_TRAIN, dataset_pb2.SPLIT_VAL, dataset_pb2.SPLIT_TEST):
        for image in list_images(client, dataset_version_id=v.id, split=split):
            assert split_of_scene.setdefault(image.source_ref, split) == split  # never in two splits
    assert sorted(list(split_of_scene.values()).count(s) for s in set(split_of_scene.values())) == [1, 2, 3]
    # Same spec, same images: same assignment and content hash.
    again = _version(client, tiled.id, split=SPLIT)
    assert again.version_number == 2 and again.content_hash == v.content_hash
    other_seed = _version(client, tiled.id, split={**SPLIT, "seed": 8})
    assert other_seed.train_count + other_seed.val_count + other_seed.test_count == v.image_count


def test_versions_are_immutable_snapshots(client, tiled):
    v1 = _version(client, tiled.id)
    images = list_images(client, dataset_version_id=v1.id)
    assert len(images) == v1.image_count and v1.train_count == 0
    target = images[0].id
    client.call(
        client.ingestion.SetImageLabels,
        pb.SetImageLabelsRequest(image_ids=[target], set_labels={"authenticity": "generated"}),
    )
    v2 = _version(client, tiled.id, label_filter={"authenticity": "generated"})
    assert v2.image_count == 1 and v2.label_counts[0].key == "authenticity"
    # v1 still shows the labels as they were when it was taken.
    info, body = client.get_image(target, v1.id)
    assert info.labels.get("authenticity") != "generated"
    assert client.get_image(target)[0].labels["authenticity"] == "generated"
    assert hashlib.sha256(body).hexdigest() == target


def test_idempotent_version_and_errors(client, tiled, dataset):
    a = _version(client, tiled.id, split=SPLIT, idempotency_key="v-key")
    b = _version(client, tiled.id, split=SPLIT, idempotency_key="v-key")
    assert a.id == b.id
    for fields, code, needle in [
        (dict(split={**SPLIT, "train_fraction": 0.9}), grpc.StatusCode.INVALID_ARGUMENT, "sum to 1"),
        (dict(split={**SPLIT}, idempotency_key="v-key", description="other"), grpc.StatusCode.ALREADY_EXISTS, "v-key"),
        (dict(label_filter={"no": "match"}), grpc.StatusCode.FAILED_PRECONDITION, "no images"),
    ]:
        with pytest.raises(ClientError) as err:
            _version(client, tiled.id, **fields)
        assert err.value.code == code and needle in err.value.message
    with pytest.raises(ClientError) as err:
        client.call(client.ingestion.ListImages, pb.ListImagesRequest(dataset_id=tiled.id, split=dataset_pb2.SPLIT_TRAIN))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ClientError) as err:
        client.get_image("0" * 64)
    assert err.value.code == grpc.StatusCode.NOT_FOUND
