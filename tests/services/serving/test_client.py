"""The Python client's typed wrappers, against the real stack and Triton."""

import io

import grpc
import pytest
from PIL import Image

from shared.client import ClientError
from tests.services.serving.test_serving import served  # noqa: F401  (module fixture)


def test_client_wrappers(client, served):
    gen, det = served[0], served[1]
    version = client.get_model_version(str(det["id"]))
    assert version.model_name == det["model_name"]
    images = list(client.generate(model_name=gen["model_name"], count=2, seed=3, sampling={"steps": 4}))
    assert [h.seed for h, _ in images] == [3, 4]
    png = images[0][1]
    assert Image.open(io.BytesIO(png)).size == (32, 32)
    verdict = client.detect(png, model_name=det["model_name"])
    assert 0 <= verdict.p_generated <= 1
    answers = list(client.detect_stream([("a", png), ("b", b"junk"), ("c", images[1][1])], model_name=det["model_name"]))
    by_id = {a.item_id: a for a in answers}
    assert by_id["a"].HasField("verdict") and by_id["c"].HasField("verdict") and by_id["b"].HasField("error")
    with pytest.raises(ClientError) as err:
        client.detect(png, model_name="missing-model")
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION
