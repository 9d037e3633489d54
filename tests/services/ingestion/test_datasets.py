"""Datasets: create, get, list, delete, with their error cases."""

import uuid

import grpc
import pytest

from shared.client import ClientError
from terrafake.ingestion.v1 import ingestion_service_pb2 as pb
from tests.services.ingestion.helpers import finished, scene_bytes


def _err(fn):
    with pytest.raises(ClientError) as e:
        fn()
    return e.value


def test_create_get_list(client):
    name = f"ds-{uuid.uuid4().hex[:8]}"
    ds = client.create_dataset(name, "aerial tiles", {"region": "north-dakota"})
    assert ds.name == name and ds.image_count == 0 and ds.latest_version_number == 0
    assert client.get_dataset(ds.id).metadata["region"] == "north-dakota"
    listed = client.call(client.ingestion.ListDatasets, pb.ListDatasetsRequest(name_contains=name))
    assert [d.id for d in listed.datasets] == [ds.id] and listed.page.total_size == 1


def test_list_paginates(client):
    prefix = f"page-{uuid.uuid4().hex[:6]}"
    made = {client.create_dataset(f"{prefix}-{i}").id for i in range(5)}
    seen, token = [], ""
    while True:
        resp = client.call(
            client.ingestion.ListDatasets,
            pb.ListDatasetsRequest(name_contains=prefix, page={"page_size": 2, "page_token": token}),
        )
        seen += [d.id for d in resp.datasets]
        token = resp.page.next_page_token
        if not token:
            break
    assert len(seen) == 5 and set(seen) == made


def test_bad_dataset_requests(client):
    name = f"dup-{uuid.uuid4().hex[:8]}"
    client.create_dataset(name)
    err = _err(lambda: client.create_dataset(name))
    assert err.code == grpc.StatusCode.ALREADY_EXISTS and name in err.message
    err = _err(lambda: client.create_dataset("no spaces allowed"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "must be 1-128 characters" in err.message
    err = _err(lambda: client.get_dataset(str(uuid.uuid4())))
    assert err.code == grpc.StatusCode.NOT_FOUND
    err = _err(lambda: client.get_dataset("nope"))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT


def test_delete_keeps_images_other_datasets_use(client, stack):
    a = client.create_dataset(f"del-a-{uuid.uuid4().hex[:6]}")
    b = client.create_dataset(f"del-b-{uuid.uuid4().hex[:6]}")
    data = scene_bytes(0)
    for ds in (a, b):
        finished(client, client.upload([("scene.png", data)], {"dataset_id": ds.id}).job)
    # b only has its own copy of a second scene
    finished(client, client.upload([("other.png", scene_bytes(1))], {"dataset_id": b.id}).job)
    client.call(
        client.ingestion.CreateDatasetVersion,
        pb.CreateDatasetVersionRequest(dataset_id=b.id),
    )
    err = _err(lambda: client.call(client.ingestion.DeleteDataset, pb.DeleteDatasetRequest(dataset_id=b.id)))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and "force" in err.message
    resp = client.call(client.ingestion.DeleteDataset, pb.DeleteDatasetRequest(dataset_id=b.id, force=True))
    assert resp.versions_deleted == 1 and resp.images_deleted == 1  # the shared scene survives
    assert _err(lambda: client.get_dataset(b.id)).code == grpc.StatusCode.NOT_FOUND
    images = client.call(client.ingestion.ListImages, pb.ListImagesRequest(dataset_id=a.id)).images
    assert len(images) == 1
    info, body = client.get_image(images[0].id)
    import hashlib

    assert hashlib.sha256(body).hexdigest() == info.id  # still stored and intact


def test_deleting_needs_admin(client_for, client):
    ds = client.create_dataset(f"perm-{uuid.uuid4().hex[:6]}")
    writer = client_for("write")
    err = _err(lambda: writer.call(writer.ingestion.DeleteDataset, pb.DeleteDatasetRequest(dataset_id=ds.id)))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    assert client.get_dataset(ds.id).id == ds.id
