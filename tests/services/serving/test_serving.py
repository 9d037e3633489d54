"""Export -> Triton -> generation and detection services, against the real local Triton server."""

import io
import threading
import time
import uuid

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from services.server import Server
from shared.client import ClientError, connect
from shared.inference import LocalBackend, judge_images
from shared.registry.store import RegistryStore
from shared.serving import TritonClient
from shared.stack.procs import free_port
from terrafake.common.v1 import common_pb2
from terrafake.detection.v1 import detection_service_pb2 as det_pb
from terrafake.generation.v1 import generation_service_pb2 as gen_pb
from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb
from tests.conftest import wait_for
from tests.services.conftest import start_training
from tests.services.ingestion.helpers import finished, list_images, scene_bytes


def _export_and_promote(client, version_id):
    job = client.call(client.training.ExportModel, tr_pb.ExportModelRequest(model_version_id=version_id)).job
    job = finished(client, job, timeout=300)
    client.call(client.training.PromoteModel,
                tr_pb.PromoteModelRequest(model_version_id=version_id, stage=model_pb2.MODEL_STAGE_PRODUCTION))  # fmt: skip
    return job


@pytest.fixture(scope="module")
def served(session_client, generator, detector, db):
    c = session_client
    gen_version = generator[0].result["model_version_id"]
    det_version = detector.result["model_version_id"]
    gen_export = _export_and_promote(c, gen_version)
    det_export = _export_and_promote(c, det_version)
    registry = RegistryStore(db)
    return registry.get_version(gen_version), registry.get_version(det_version), gen_export, det_export


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _detect(client, data: bytes, **options):
    def messages():
        yield det_pb.DetectRequest(header=det_pb.DetectHeader(
            image=common_pb2.ImageHeader(filename="x.png", size_bytes=len(data)), options=options))  # fmt: skip
        for i in range(0, len(data), 65536):
            yield det_pb.DetectRequest(chunk=common_pb2.ImageChunk(data=data[i : i + 65536]))

    try:
        return client.detection.Detect(messages(), metadata=client.metadata, timeout=60).verdict
    except grpc.RpcError as err:
        raise ClientError(err.code(), err.details()) from None


def _generate(client, **fields):
    images, header = [], None
    try:
        for msg in client.generation.Generate(gen_pb.GenerateRequest(**fields), metadata=client.metadata, timeout=120):
            if msg.HasField("header"):
                header = msg.header
                images.append([header, b""])
            else:
                images[-1][1] += msg.chunk.data
    except grpc.RpcError as err:
        raise ClientError(err.code(), err.details()) from None
    return [(h, Image.open(io.BytesIO(b)).convert("RGB")) for h, b in images]


def test_export_records_parity_and_promote_loads_into_triton(served, stack):
    gen, det, gen_export, det_export = served
    for version, job in ((gen, gen_export), (det, det_export)):
        assert job.result["parity_passed"] is True
        assert version["artifacts"]["parity_max_abs_diff"] < 1e-4
        assert version["stage"] == "PRODUCTION"
    with TritonClient(stack.triton_url) as triton:
        assert triton.is_model_ready(det["artifacts"]["triton_model"], det["artifacts"]["triton_version"])
        assert triton.is_model_ready(gen["artifacts"]["triton_sampler_model"], gen["artifacts"]["triton_version"])
    with grpc.insecure_channel(stack.grpc_address) as ch:
        health = health_pb2_grpc.HealthStub(ch)

        def serving():
            try:
                req = health_pb2.HealthCheckRequest(service=f"terrafake.model.{det['model_name']}")
                return health.Check(req, timeout=5).status == health_pb2.HealthCheckResponse.SERVING
            except grpc.RpcError:
                return False

        wait_for(serving, timeout=20, what="per-model health")


def test_generation_is_deterministic_and_matches_the_local_backend(client, served):
    gen = served[0]
    sampling = gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=10)
    first = _generate(client, model_name=gen["model_name"], count=3, seed=11, sampling=sampling)
    again = _generate(client, model_name=gen["model_name"], count=3, seed=11, sampling=sampling)
    other = _generate(client, model_name=gen["model_name"], count=1, seed=12, sampling=sampling)
    assert [h.index for h, _ in first] == [0, 1, 2] and [h.seed for h, _ in first] == [11, 12, 13]
    assert all(im.size == (32, 32) for _, im in first)
    for (_, a), (_, b) in zip(first, again):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    # Image i depends on seed + i only.
    assert np.abs(np.asarray(other[0][1], int) - np.asarray(first[1][1], int)).max() <= 1
    local = list(LocalBackend().generate(gen, 3, seed=11, sampler="ddim", steps=10, eta=0.0, guidance_scale=1.0,
                                         class_label=None, chunk=3))  # fmt: skip
    for (_, served_image), local_image in zip(first, local):
        diff = np.abs(np.asarray(served_image, int) - np.asarray(local_image, int))
        assert diff.max() <= 2, "Triton (ONNX) and local (PyTorch) differ beyond rounding"


def test_detection_on_real_and_generated_tiles(client, served, mixed_tiles):
    det = served[1]
    ds, _, _ = mixed_tiles
    real = list_images(client, dataset_id=ds.id, label_filter={"authenticity": "real"})[:6]
    fake = list_images(client, dataset_id=ds.id, label_filter={"authenticity": "generated"})[:6]
    verdicts = {}
    for info in real + fake:
        _, data = client.get_image(info.id)
        verdicts[info.id] = _detect(client, data, model_name=det["model_name"], want_heatmap=True)
    for v in verdicts.values():
        assert 0 <= v.p_generated <= 1 and v.model_version_id == str(det["id"])
        assert v.label in (det_pb.DETECTION_LABEL_REAL, det_pb.DETECTION_LABEL_GENERATED, det_pb.DETECTION_LABEL_UNCERTAIN)
        assert v.uncertain_lower <= v.threshold <= v.uncertain_upper
        heat = Image.open(io.BytesIO(v.heatmap.png))
        assert heat.size == (32, 32) == (v.heatmap.width, v.heatmap.height)
    # Same inputs, both backends: the same verdicts within float tolerance.
    images = [Image.open(io.BytesIO(client.get_image(i.id)[1])).convert("RGB") for i in real + fake]
    local = [j.p_generated for j in judge_images(LocalBackend(), det, images, [False] * len(images))]
    served_scores = np.array([verdicts[i.id].p_generated for i in real + fake])
    assert np.allclose(local, served_scores, atol=1e-4)
    # A bigger image is judged in crops at its own scale, never shrunk: its heatmap has its aspect ratio.
    big = _detect(client, scene_bytes(0), model_name=det["model_name"], want_heatmap=True)
    assert (big.image_width, big.image_height) in ((934, 723), (934, 724))
    assert big.heatmap.width == 256 and abs(big.heatmap.height - 256 * big.image_height / big.image_width) <= 1


def test_detect_stream_many_images_with_a_bad_one(client, served, mixed_tiles):
    det = served[1]
    ds, _, _ = mixed_tiles
    infos = list_images(client, dataset_id=ds.id)[:40]
    payloads = [(f"item-{n}", client.get_image(i.id)[1]) for n, i in enumerate(infos)]
    payloads.insert(7, ("broken", b"not an image at all"))

    def messages():
        for item_id, data in payloads:
            yield det_pb.DetectStreamRequest(header=det_pb.DetectItemHeader(
                item_id=item_id, image=common_pb2.ImageHeader(size_bytes=len(data)),
                options=det_pb.DetectOptions(model_name=det["model_name"])))  # fmt: skip
            yield det_pb.DetectStreamRequest(chunk=common_pb2.ImageChunk(data=data))
            yield det_pb.DetectStreamRequest(end=det_pb.EndOfImage(item_id=item_id))

    answers = list(client.detection.DetectStream(messages(), metadata=client.metadata, timeout=120))
    assert sorted(a.item_id for a in answers) == sorted(i for i, _ in payloads)
    bad = next(a for a in answers if a.item_id == "broken")
    assert bad.WhichOneof("result") == "error" and bad.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert all(a.WhichOneof("result") == "verdict" for a in answers if a.item_id != "broken")


def test_images_sent_in_one_message_get_the_verdicts_of_chunked_ones(client, served, mixed_tiles):
    det = served[1]
    options = det_pb.DetectOptions(model_name=det["model_name"])
    datas = [client.get_image(i.id)[1] for i in list_images(client, dataset_id=mixed_tiles[0].id)[:6]]

    def header(item_id, payload, **fields):
        return det_pb.DetectStreamRequest(header=det_pb.DetectItemHeader(
            item_id=item_id, image=common_pb2.ImageHeader(size_bytes=len(payload)), options=options, **fields))  # fmt: skip

    def messages():
        for n, data in enumerate(datas):
            yield header(f"chunked-{n}", data)
            yield det_pb.DetectStreamRequest(chunk=common_pb2.ImageChunk(data=data))
            yield det_pb.DetectStreamRequest(end=det_pb.EndOfImage(item_id=f"chunked-{n}"))
            yield header(f"inline-{n}", data, data=data)  # the whole item; nothing follows for it
        yield header("inline-broken", b"xx", data=b"not an image")
        yield det_pb.DetectStreamRequest(header=det_pb.DetectItemHeader(  # declares more than the server takes
            item_id="inline-huge", image=common_pb2.ImageHeader(size_bytes=10**12), options=options, data=datas[0]))
        yield header("last", datas[1], data=datas[1])  # the stream goes on after both errors

    answers = {a.item_id: a for a in client.detection.DetectStream(messages(), metadata=client.metadata, timeout=120)}
    assert len(answers) == 2 * len(datas) + 3
    for n in range(len(datas)):
        inline, chunked = answers[f"inline-{n}"].verdict, answers[f"chunked-{n}"].verdict
        assert inline.model_version_id == str(det["id"]) and inline.p_generated == pytest.approx(chunked.p_generated, abs=1e-6)
    assert answers["inline-broken"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert answers["inline-huge"].error.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert answers["last"].verdict.p_generated == pytest.approx(answers["chunked-1"].verdict.p_generated, abs=1e-6)
    # The client sends small images in one message; unary Detect takes them in its header too.
    streamed = {r.item_id: r.verdict.p_generated for r in client.detect_stream(
        [(str(n), d) for n, d in enumerate(datas)], model_name=det["model_name"])}  # fmt: skip
    single = client.detect(datas[2], model_name=det["model_name"])
    assert streamed["2"] == pytest.approx(single.p_generated, abs=1e-6) == pytest.approx(
        answers["chunked-2"].verdict.p_generated, abs=1e-6)
    both = iter([det_pb.DetectRequest(header=det_pb.DetectHeader(options=options, data=datas[0])),
                 det_pb.DetectRequest(chunk=common_pb2.ImageChunk(data=datas[0]))])  # fmt: skip
    with pytest.raises(grpc.RpcError) as err:
        client.detection.Detect(both, metadata=client.metadata, timeout=60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not both" in err.value.details()


def test_a_running_stream_uses_one_lookup_and_sees_a_demotion_within_seconds(client, served, mixed_tiles):
    # A stream resolves its model name once and again after VERSION_REFRESH_SECONDS, not per image.
    from services.detection.servicer import VERSION_REFRESH_SECONDS

    det = served[1]
    data = client.get_image(list_images(client, dataset_id=mixed_tiles[0].id)[0].id)[1]
    answered, answers, times = threading.Event(), [], {}

    def item(item_id):
        yield det_pb.DetectStreamRequest(header=det_pb.DetectItemHeader(
            item_id=item_id, image=common_pb2.ImageHeader(size_bytes=len(data)),
            options=det_pb.DetectOptions(model_name=det["model_name"])))  # fmt: skip
        yield det_pb.DetectStreamRequest(chunk=common_pb2.ImageChunk(data=data))
        yield det_pb.DetectStreamRequest(end=det_pb.EndOfImage(item_id=item_id))

    def messages():
        yield from item("before")
        assert answered.wait(60)
        client.call(client.training.PromoteModel,
                    tr_pb.PromoteModelRequest(model_version_id=str(det["id"]), stage=model_pb2.MODEL_STAGE_STAGING))  # fmt: skip
        times["demoted"] = time.monotonic()
        yield from item("during")  # answered from the stream's lookup, made moments ago
        time.sleep(VERSION_REFRESH_SECONDS + 0.5)
        yield from item("after")

    try:
        for answer in client.detection.DetectStream(messages(), metadata=client.metadata, timeout=120):
            answers.append(answer)
            times.setdefault("first answer", time.monotonic())
            answered.set()
    finally:
        client.call(client.training.PromoteModel,
                    tr_pb.PromoteModelRequest(model_version_id=str(det["id"]), stage=model_pb2.MODEL_STAGE_PRODUCTION))  # fmt: skip
    by_id = {a.item_id: a for a in answers}
    assert by_id["before"].verdict.model_version_id == str(det["id"])
    if times["demoted"] - times["first answer"] < VERSION_REFRESH_SECONDS / 2:  # a slow machine may pass the refresh
        assert by_id["during"].verdict.model_version_id == str(det["id"])
    after = by_id["after"]
    assert after.WhichOneof("result") == "error" and after.error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
    assert "no PRODUCTION version" in after.error.message


def test_bad_inputs_get_clear_statuses(client, served):
    det = served[1]
    with pytest.raises(ClientError) as err:
        _detect(client, b"GIF89a broken", model_name=det["model_name"])
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ClientError) as err:
        _detect(client, scene_bytes(0), model_name="no-such-detector")
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION and "no PRODUCTION version" in err.value.message
    with pytest.raises(ClientError) as err:
        _generate(client, model_name=served[0]["model_name"], count=10_000)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(ClientError) as err:
        _generate(client, model_name=served[0]["model_name"], count=1,
                  sampling=gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDPM, steps=10))  # fmt: skip
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "DDIM" in err.value.message


def _encoded(array: np.ndarray, mode: str | None = None) -> bytes:
    return _png(Image.fromarray(array, mode) if mode else Image.fromarray(array))


def test_detect_input_of_every_shape_gets_a_defined_answer(client, served, stack):
    det = served[1]
    scene = np.asarray(Image.open(io.BytesIO(scene_bytes(1))).convert("RGB"))
    crop = int(det["config"]["input_size"])
    name = det["model_name"]
    # Smaller than one crop, down to 1x1: refused, naming the minimum, never a confident verdict.
    for h, w in ((1, 1), (crop - 1, 200), (200, crop - 1)):
        with pytest.raises(ClientError) as err:
            _detect(client, _encoded(scene[:h, :w]), model_name=name)
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert f"at least {crop}x{crop}" in err.value.message and f"{w}x{h}" in err.value.message
    # Grayscale, 16-bit grayscale and RGBA are judged as the RGB image they show.
    rgb = scene[:300, :400]
    gray = np.asarray(Image.fromarray(rgb).convert("L"))
    as_rgb = _detect(client, _encoded(np.stack([gray] * 3, axis=-1)), model_name=name)
    as_gray = _detect(client, _encoded(gray), model_name=name)
    assert as_gray.p_generated == pytest.approx(as_rgb.p_generated, abs=1e-6)
    sixteen = _detect(client, _encoded(gray.astype(np.uint16) * 257), model_name=name)  # a 16-bit PNG
    assert 0.0 <= sixteen.p_generated <= 1.0 and (sixteen.image_width, sixteen.image_height) == (400, 300)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    opaque = _detect(client, _encoded(rgba), model_name=name)
    assert opaque.p_generated == pytest.approx(_detect(client, _encoded(rgb), model_name=name).p_generated, abs=1e-6)
    # A large image whose data breaks off midway (a corrupt region): refused, with the reason.
    whole = _encoded(np.asarray(Image.fromarray(scene).resize((1800, 1400))))
    with pytest.raises(ClientError) as err:
        _detect(client, whole[: len(whole) // 2], model_name=name)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "not a usable image" in err.value.message
    # Past the pixel limit: refused before any crop is cut.
    limit = stack.settings.ingest.max_pixels
    side = int(limit**0.5) + 64
    big = Image.new("1", (side, side), 1)  # bilevel: small to build and encode, still past the limit
    with pytest.raises(ClientError) as err:
        _detect(client, _png(big), model_name=name)
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_detect_stream_refuses_a_too_small_image_alone(client, served):
    det = served[1]
    scene = np.asarray(Image.open(io.BytesIO(scene_bytes(2))).convert("RGB"))
    payloads = [("tile", _encoded(scene[:64, :64])), ("dot", _encoded(scene[:1, :1])), ("scene", _encoded(scene))]

    def messages():
        for item_id, data in payloads:
            yield det_pb.DetectStreamRequest(header=det_pb.DetectItemHeader(
                item_id=item_id, image=common_pb2.ImageHeader(size_bytes=len(data)), data=data,
                options=det_pb.DetectOptions(model_name=det["model_name"])))  # fmt: skip

    answers = {a.item_id: a for a in client.detection.DetectStream(messages(), metadata=client.metadata, timeout=120)}
    assert answers["dot"].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "at least" in answers["dot"].error.message
    assert answers["tile"].WhichOneof("result") == answers["scene"].WhichOneof("result") == "verdict"


def test_triton_down_is_unavailable_with_a_retry_hint(settings, served, admin_token):
    dead = settings.with_overrides(triton_url=f"127.0.0.1:{free_port()}", grpc_port=free_port())
    server = Server(dead, ["detection"], supervise=False)
    server.start()
    try:
        with connect(f"127.0.0.1:{server.port}", admin_token) as c:
            with pytest.raises(ClientError) as err:
                _detect(c, scene_bytes(1), model_name=served[1]["model_name"])
        assert err.value.code == grpc.StatusCode.UNAVAILABLE
        assert "retry" in err.value.message.lower()
    finally:
        server.stop(0)


def test_colorize_keeps_resolution(client, session_client):
    from shared.assets import PHOTOS

    ds = client.create_dataset(f"photos-{uuid.uuid4().hex[:6]}")
    photos = [(p.name, p.read_bytes()) for p in sorted(PHOTOS.glob("*.png"))]
    finished(client, client.upload(photos, {"dataset_id": ds.id, "tile_size": 128, "resize_to": 64}).job)
    version = client.call(client.ingestion.CreateDatasetVersion, __import__(
        "terrafake.ingestion.v1.ingestion_service_pb2", fromlist=["x"]).CreateDatasetVersionRequest(
        dataset_id=ds.id, split={"train_fraction": 1.0, "grouping": 1})).dataset_version  # fmt: skip
    job = start_training(client, model_pb2.MODEL_KIND_COLORIZER, version.id, "colorizer-unet", 6,
                         model_name=f"col-{uuid.uuid4().hex[:6]}",
                         hyperparameters={"model": {"image_size": 64, "base_channels": 16}, "batch_size": 4})  # fmt: skip
    job = finished(client, job, timeout=300)
    vid = job.result["model_version_id"]
    gray = Image.open(PHOTOS / "chelsea.png").convert("L").resize((150, 100))
    data = _png(gray)

    def messages():
        yield gen_pb.ColorizeRequest(header=gen_pb.ColorizeHeader(
            image=common_pb2.ImageHeader(size_bytes=len(data)), model_version_id=vid))  # fmt: skip
        yield gen_pb.ColorizeRequest(chunk=common_pb2.ImageChunk(data=data))

    parts = list(client.generation.Colorize(messages(), metadata=client.metadata, timeout=120))
    header = parts[0].header
    out = Image.open(io.BytesIO(b"".join(p.chunk.data for p in parts[1:])))
    assert out.mode == "RGB" and out.size == (150, 100) == (header.width, header.height)
    # The colour is recombined with the input's own lightness.
    from shared.models.colorizer.lab import srgb_to_lab_np

    lightness = srgb_to_lab_np(np.asarray(out, np.float64) / 255)[..., 0]
    gray_l = srgb_to_lab_np(np.repeat(np.asarray(gray, np.float64)[..., None] / 255, 3, axis=2))[..., 0]
    assert np.abs(lightness - gray_l).mean() < 1.0


def test_evaluate_detector_through_the_detection_service(client, served, mixed_tiles):
    det = served[1]
    _, mixed, _ = mixed_tiles
    req = det_pb.EvaluateDetectorRequest(
        model_name=det["model_name"], dataset_version_id=mixed.id,
        robustness={"jpeg_qualities": [80], "resize_factors": [0.5, 1.5], "blur_sigmas": [1.0]},
    )  # fmt: skip
    job = finished(client, client.call(client.detection.EvaluateDetector, req).job, timeout=300)
    ev = client.call(client.training.GetEvaluation, tr_pb.GetEvaluationRequest(evaluation_id=job.result["evaluation_id"]))
    report = ev.evaluation.detector
    assert ev.evaluation.model_version_id == str(det["id"])
    # The 32-px tiles shrunk by half are smaller than the detector's 32-px crop: they cannot be judged,
    # so that perturbation has no row (a detector never enlarges an image).
    assert [(r.perturbation, r.parameter) for r in report.robustness] == [(1, 80.0), (2, 1.5), (3, 1.0)]
    assert 0.0 <= report.expected_calibration_error <= 1.0 and sum(b.count for b in report.reliability) == (
        report.num_real + report.num_generated
    )
    assert [f.family for f in report.per_family] == ["ddpm"]
    assert report.per_family[0].num_generated == report.num_generated
    with pytest.raises(ClientError) as err:
        client.call(client.detection.EvaluateDetector, det_pb.EvaluateDetectorRequest(
            model_name=det["model_name"], dataset_version_id=mixed.id, robustness={"jpeg_qualities": [0]}))  # fmt: skip
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_detection_through_triton_works_again_after_triton_is_killed(stack, client, served):
    from shared.stack import procs

    name = served[1]["model_name"]
    before = _detect(client, scene_bytes(1), model_name=name)
    killed = stack.process("triton")
    procs.kill_hard(killed)  # Triton and its python-backend stubs, SIGKILL; nobody restarts it by hand
    wait_for(lambda: (stack.process("triton") or {}).get("pid") not in (None, killed["pid"]) and stack._triton_ready(),
             timeout=30, what="triton restarted by supervisord")  # fmt: skip
    # The server reloads the model into the new Triton (explicit model control) on the next request.
    after = _detect(client, scene_bytes(1), model_name=name)
    assert after.p_generated == pytest.approx(before.p_generated, abs=1e-5)
    assert after.label == before.label


def test_detections_are_counted_with_their_scores_in_the_metrics(stack, client, served):
    from tests.services.test_metrics import scrape

    det = served[1]
    version = str(det["id"])
    before = scrape(stack)
    verdict = _detect(client, scene_bytes(2), model_name=det["model_name"])
    after = scrape(stack)
    label = det_pb.DetectionLabel.Name(verdict.label).removeprefix("DETECTION_LABEL_")
    key = ("terrafake_detections_total", (("label", label), ("model_version", version)))
    assert after[key] - before.get(key, 0.0) == 1
    count = ("terrafake_detection_p_generated_count", (("model_version", version),))
    assert after[count] - before.get(count, 0.0) == 1


def test_detect_without_a_model_uses_detector_or_else_the_newest_production_detector(client, served, db):
    registry = RegistryStore(db)
    try:
        expected = registry.production("detector")  # another test module may have promoted one by that name
    except Exception:
        expected = registry.newest_production("DETECTOR")
    assert expected is not None  # `served` promoted one
    verdict = _detect(client, scene_bytes(1))
    assert verdict.model_version_id == str(expected["id"])
