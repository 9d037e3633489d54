"""The web console in a real browser (Debian's headless Chromium driven by Playwright) against the real
local stack: the console process `stack up` started, the gRPC services behind it.

Each test saves screenshots of the pages it visits under tests/results/console/.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest

from terrafake.training.v1 import model_pb2, training_service_pb2 as tr_pb
from tests.services.ingestion.helpers import finished, scene_bytes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RESULTS = Path(__file__).resolve().parents[2] / "results" / "console"

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)"),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    RESULTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def web(stack) -> str:
    assert stack.web_url, "stack up starts the console"
    return stack.web_url


def shot(page, name: str) -> None:
    page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=True)


def wait_true(page, script: str, timeout: float = 30.0) -> None:
    """Poll a page expression (page.wait_for_function evaluates strings in the page, which the console's
    CSP forbids; page.evaluate goes through the DevTools protocol instead)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        assert time.monotonic() < deadline, f"still false after {timeout:g}s: {script}"
        time.sleep(0.1)


def sign_in(page, web: str, token: str) -> None:
    page.goto(f"{web}/signin")
    page.fill("input[name=token]", token)
    page.click("form[action='/signin'] button[type=submit]")


@pytest.fixture(scope="module")
def photos_dataset(session_client):
    c = session_client
    ds = c.create_dataset(f"console-{uuid.uuid4().hex[:6]}", "four NAIP scenes cut in tiles for the console test")
    files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(2)]
    finished(c, c.upload(files, {"dataset_id": ds.id, "tile_size": 128, "labels": {"authenticity": "real"}}).job)
    return c.get_dataset(ds.id)


@pytest.fixture(scope="module")
def served_detector(session_client, detector):
    c = session_client
    version_id = detector.result["model_version_id"]
    finished(c, c.call(c.training.ExportModel, tr_pb.ExportModelRequest(model_version_id=version_id)).job, timeout=300)
    c.call(c.training.PromoteModel,
           tr_pb.PromoteModelRequest(model_version_id=version_id, stage=model_pb2.MODEL_STAGE_PRODUCTION))  # fmt: skip
    return c.get_model_version(version_id)


def test_health_and_the_security_headers(page, web):
    response = page.request.get(f"{web}/healthz")
    assert response.status == 200 and response.json()["grpc_serving"] is True
    response = page.goto(f"{web}/signin")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    [cookie] = page.context.cookies()
    assert cookie["name"] == "tf_session" and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP here; --secure-cookies behind TLS
    shot(page, "signin")


def test_anonymous_visitors_are_sent_to_sign_in_and_a_bad_token_is_refused(page, web):
    page.goto(f"{web}/jobs")
    assert page.url.startswith(f"{web}/signin")
    sign_in(page, web, "not-a-token")
    assert page.locator("p.error").inner_text() == "That token was not accepted."
    page.goto(f"{web}/jobs")
    assert page.url.startswith(f"{web}/signin")  # still signed out
    shot(page, "signin-refused")


def test_sign_in_and_browse_a_dataset(page, web, admin_token, photos_dataset):
    sign_in(page, web, admin_token)
    assert page.url == f"{web}/datasets"
    assert "(admin)" in page.locator("header .who").inner_text()
    page.fill("input[name=q]", photos_dataset.name)
    page.click("form.filters button")
    page.click(f"text={photos_dataset.name}")
    assert page.url == f"{web}/datasets/{photos_dataset.id}"
    thumbs = page.locator(".grid img")
    assert 0 < thumbs.count() == photos_dataset.image_count
    wait_true(page, "[...document.querySelectorAll('.grid img')].every(i => i.complete && i.naturalWidth > 0)")
    shot(page, "dataset")
    # Thumbnails are cached by content: a second request with the ETag gets 304.
    src = thumbs.first.get_attribute("src")
    first = page.request.get(f"{web}{src}")
    again = page.request.get(f"{web}{src}", headers={"If-None-Match": first.headers["etag"]})
    assert first.status == 200 and first.headers["content-type"] == "image/png" and again.status == 304
    thumbs.first.click()
    assert re.search(r"/images/[0-9a-f]+$", page.url)
    facts = page.locator("table.facts").inner_text()
    assert "128 × 128 px" in facts and "authenticity=real" in facts and "licence" in facts
    wait_true(page, "document.querySelector('img.full').naturalWidth === 128")
    shot(page, "image")


def test_a_diagnostic_job_is_watched_live_to_100_percent(page, web, admin_token):
    sign_in(page, web, admin_token)
    page.goto(f"{web}/jobs")
    page.fill("input[name=seconds]", "4")
    page.fill("input[name=steps]", "8")
    page.click("form[action='/jobs/diagnostic'] button")
    assert re.search(r"/jobs/[0-9a-f-]{36}$", page.url)
    seen = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        seen.add(page.locator("#job-percent").inner_text())
        if page.locator("#job-state").inner_text() == "succeeded":
            break
        time.sleep(0.1)
    assert page.locator("#job-state").inner_text() == "succeeded"
    assert page.locator("#job-percent").inner_text() == "100%"
    # The bar moved while the page stayed open (Server-Sent Events), not only at the end.
    assert any(p not in ("0%", "100%") for p in seen), seen
    shot(page, "job")
    page.goto(f"{web}/jobs")
    assert page.locator("table.list tbody tr").count() >= 1
    shot(page, "jobs")


def test_detect_shows_the_verdict_and_the_heatmap_at_the_image_s_resolution(page, web, admin_token, served_detector,
                                                                           tmp_path):  # fmt: skip
    sign_in(page, web, admin_token)
    page.goto(f"{web}/detect")
    scene = tmp_path / "scene.png"
    scene.write_bytes(scene_bytes(1))
    page.set_input_files("input[name=images]", str(scene))
    page.fill("input[name=model]", served_detector.model_name)
    page.click("#detect-form button")
    verdict = page.locator("article.verdict")
    assert verdict.count() == 1
    text = verdict.inner_text()
    assert re.search(r"(real|generated|uncertain)", text, re.I) and "p(generated) =" in text
    assert "934 × 723 px" in text  # the NAIP scene, judged at its own size
    wait_true(page, "!!document.querySelector('img.heat') && document.querySelector('img.heat').naturalWidth > 0")
    box = page.locator(".overlay img").first.bounding_box()
    heat = page.locator("img.heat").bounding_box()
    assert abs(box["width"] - heat["width"]) < 1 and abs(box["height"] - heat["height"]) < 1  # laid over the image
    assert abs(box["width"] / box["height"] - 934 / 723) < 0.01
    shot(page, "detect")
    with page.expect_download() as download:
        page.click("text=JSON")
    record = json.loads(Path(download.value.path()).read_text())
    assert record["model_version_id"] == served_detector.id and 0 <= record["p_generated"] <= 1
    assert (record["width"], record["height"]) == (934, 723)


def test_a_post_without_the_csrf_token_is_refused(page, web, admin_token):
    sign_in(page, web, admin_token)
    page.goto(f"{web}/jobs")
    before = page.locator("table.list tbody tr").count()
    for form in ({"seconds": "1", "steps": "1"}, {"seconds": "1", "steps": "1", "csrf": "forged"}):
        response = page.request.post(f"{web}/jobs/diagnostic", form=form)
        assert response.status == 403 and "did not come from this console" in response.text()
    page.goto(f"{web}/jobs")
    assert page.locator("table.list tbody tr").count() == before  # nothing was started
    # Sign-out is a form too: refused without the token, so the session survives.
    assert page.request.post(f"{web}/signout", form={}).status == 403
    page.goto(f"{web}/jobs")
    assert page.url == f"{web}/jobs"


def test_a_read_token_sees_no_promote_and_cannot_promote(page, web, tokens, served_detector):
    token, _ = tokens.create("console-reader", "read")
    sign_in(page, web, token)
    page.goto(f"{web}/versions/{served_detector.id}")
    assert page.locator("form[action$='/promote']").count() == 0
    assert "threshold" in page.locator("table.facts").first.inner_text()
    shot(page, "version")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    response = page.request.post(f"{web}/versions/{served_detector.id}/promote", form={"csrf": csrf, "stage": "archived"})
    assert response.status == 403 and "PERMISSION_DENIED" in response.text()


@pytest.fixture(scope="module")
def served_generator(session_client, generator):
    c = session_client
    version_id = generator[0].result["model_version_id"]
    finished(c, c.call(c.training.ExportModel, tr_pb.ExportModelRequest(model_version_id=version_id)).job, timeout=300)
    return c.get_model_version(version_id)


def test_generate_four_images_fills_the_grid_as_they_finish(page, web, admin_token, served_generator):
    sign_in(page, web, admin_token)
    page.goto(f"{web}/generate")
    page.select_option("select[name=model_version_id]", served_generator.id)
    page.fill("input[name=count]", "4")
    page.fill("input[name=seed]", "7")
    page.fill("input[name=steps]", "4")
    page.click("#generate-form button")
    wait_true(page, "document.getElementById('generate-status').dataset.done === 'true'", timeout=180)
    images = page.locator("#generated img")
    assert images.count() == 4
    wait_true(page, "[...document.querySelectorAll('#generated img')].every(i => i.naturalWidth > 0)")
    size = page.evaluate("document.querySelector('#generated img').naturalWidth")
    assert size == int(served_generator.config["image_size"]) == 32  # the tiny DDPM's tiles, at their own size
    assert "4 of 4 images" in page.locator("#generate-status").inner_text()
    shot(page, "generate")
    with page.expect_download() as download:
        page.locator("#generated a").first.click()
    assert download.value.suggested_filename.startswith("generated-0-seed")
    assert Path(download.value.path()).read_bytes()[:4] == b"\x89PNG"
    # The stream is single-use: replaying it is refused.
    status = page.locator("#generate-status").get_attribute("data-generation")
    assert page.request.get(f"{web}/generate/{status}/events").status == 404


def test_colorize_shows_before_and_after_at_the_photo_s_size(page, web, admin_token, session_client, tmp_path):
    from PIL import Image

    from shared.assets import PHOTOS
    from terrafake.ingestion.v1 import ingestion_service_pb2 as ing_pb
    from tests.services.conftest import start_training

    c = session_client
    ds = c.create_dataset(f"console-photos-{uuid.uuid4().hex[:6]}")
    photos = [(p.name, p.read_bytes()) for p in sorted(PHOTOS.glob("*.png"))]
    finished(c, c.upload(photos, {"dataset_id": ds.id, "tile_size": 128, "resize_to": 64}).job)
    version = c.call(c.ingestion.CreateDatasetVersion, ing_pb.CreateDatasetVersionRequest(
        dataset_id=ds.id, split={"train_fraction": 1.0, "grouping": 1})).dataset_version  # fmt: skip
    name = f"console-col-{uuid.uuid4().hex[:6]}"
    job = finished(c, start_training(c, model_pb2.MODEL_KIND_COLORIZER, version.id, "colorizer-unet", 4, model_name=name,
                                     hyperparameters={"model": {"image_size": 64, "base_channels": 16}, "batch_size": 4}),
                   timeout=300)  # fmt: skip
    c.promote(job.result["model_version_id"], "production")  # a model name resolves to its production version
    gray = tmp_path / "gray.png"
    Image.open(PHOTOS / "chelsea.png").convert("L").resize((150, 100)).save(gray)
    sign_in(page, web, admin_token)
    page.goto(f"{web}/colorize")
    page.set_input_files("input[name=image]", str(gray))
    page.fill("input[name=model]", name)
    page.click("#colorize-form button")
    wait_true(page, "document.getElementById('colorized') && document.getElementById('colorized').naturalWidth > 0")
    assert page.evaluate("[document.getElementById('colorized').naturalWidth, document.getElementById('colorized').naturalHeight]") == [150, 100]
    shot(page, "colorize")


@pytest.fixture(scope="module")
def quiz_dataset(session_client, generator):
    """What `make demo` leaves behind, in small: a demo-aerial-* dataset of real and generated tiles."""
    from terrafake.generation.v1 import generation_service_pb2 as gen_pb
    from tests.services.conftest import make_version

    c = session_client
    ds = c.create_dataset(f"demo-aerial-console-{uuid.uuid4().hex[:6]}")
    files = [(f"scene-{i}.png", scene_bytes(i)) for i in range(4)]
    finished(c, c.upload(files, {"dataset_id": ds.id, "tile_size": 128, "resize_to": 32,
                                 "labels": {"authenticity": "real"}}).job)  # fmt: skip
    finished(c, c.call(c.generation.GenerateToDataset, gen_pb.GenerateToDatasetRequest(
        dataset_id=ds.id, model_version_id=generator[0].result["model_version_id"], count=12, seed=3,
        sampling=gen_pb.SamplingOptions(sampler=gen_pb.SAMPLER_DDIM, steps=3))).job, timeout=300)  # fmt: skip
    return ds, make_version(c, ds.id)


@pytest.fixture(scope="module")
def default_detector(session_client, mixed_tiles):
    """A production version of the model named "detector": what Detect and the quiz use by default."""
    from tests.services.conftest import start_training

    c = session_client
    existing = c.call(c.training.ListModels, tr_pb.ListModelsRequest(kind=model_pb2.MODEL_KIND_DETECTOR)).models
    if any(m.name == "detector" for m in existing):
        return
    job = finished(c, start_training(c, model_pb2.MODEL_KIND_DETECTOR, mixed_tiles[1].id, "detector-small", 20,
                                     model_name="detector", hyperparameters={"model": {"input_size": 32},
                                                                             "batch_size": 16}), timeout=300)  # fmt: skip
    version_id = job.result["model_version_id"]
    finished(c, c.call(c.training.ExportModel, tr_pb.ExportModelRequest(model_version_id=version_id)).job, timeout=300)
    c.promote(version_id, "production")


def test_play_a_five_round_quiz_see_the_score_and_the_leaderboard(browser, web, quiz_dataset, default_detector):
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # anonymous: no sign-in
    page = context.new_page()
    try:
        page.goto(f"{web}/quiz")
        page.fill("input[name=nickname]", "ada")
        page.click("form[action='/quiz/nickname'] button")
        assert page.locator("input[name=nickname]").input_value() == "ada"
        shot(page, "quiz")
        right = 0
        for n in range(1, 6):
            assert page.locator("#quiz-round").inner_text() == str(n)
            html = page.content()
            # Nothing on the page tells the answer: no image id, no label, only the pixels.
            assert not re.search(r"[0-9a-f]{64}", html) and "authenticity" not in html
            assert page.locator("#quiz-tile").get_attribute("src").startswith("data:image/png;base64,")
            token = page.locator("input[name=round]").first.get_attribute("value")
            csrf = page.locator("input[name=csrf]").first.get_attribute("value")
            page.click("#answer-real")
            truth = page.locator("#quiz-truth").inner_text()
            assert truth in ("real", "generated")
            right += truth == "real"
            assert page.locator("#quiz-score").inner_text().startswith(f"Your score: {right} of {n}")
            if n == 1:
                shot(page, "quiz-result")
                # The same answer sent again (a replay of the form) is refused by the server.
                replay = page.request.post(f"{web}/quiz/answer", form={"csrf": csrf, "round": token, "answer": "real"})
                assert replay.status == 409 and "already answered" in replay.text()
            page.click("#quiz-next")
        assert page.url == f"{web}/quiz/summary"
        summary = page.locator("#quiz-summary").inner_text()
        assert f"You: {right} of 5 right" in summary
        assert re.search(r"the detector, on the same tiles: \d of 5", summary)  # the production detector judged them too
        assert "ada" in page.locator("#leaderboard").inner_text()
        shot(page, "quiz-summary")
        # A sixth round is not offered until the player starts again.
        page.goto(f"{web}/quiz")
        assert page.url == f"{web}/quiz/summary"
    finally:
        context.close()


def test_the_generator_page_shows_how_often_people_were_fooled(page, web, admin_token, session_client, quiz_dataset,
                                                             generator):  # fmt: skip
    from terrafake.detection.v1 import detection_service_pb2 as det_pb

    c = session_client
    gen_version = generator[0].result["model_version_id"]
    who = "fooled-" + uuid.uuid4().hex[:10]
    for _ in range(200):  # until one generated tile has been taken for real
        drawn = c.call(c.detection.StartQuizRound, det_pb.StartQuizRoundRequest(
            dataset_version_id=quiz_dataset[1].id, player=who))  # fmt: skip
        result = c.call(c.detection.AnswerQuizRound, det_pb.AnswerQuizRoundRequest(
            round_token=drawn.round_token, player=who, answer=det_pb.QUIZ_ANSWER_REAL))  # fmt: skip
        if result.truth == det_pb.QUIZ_ANSWER_GENERATED:
            break
    [stats] = c.call(c.detection.GetQuizStats, det_pb.GetQuizStatsRequest(generator=gen_version)).generators
    sign_in(page, web, admin_token)
    page.goto(f"{web}/versions/{gen_version}")
    text = page.locator("#fooled").inner_text()
    assert f"({stats.fooled} of {stats.rounds} rounds)" in text and f"{round(100 * stats.fooled / stats.rounds)}%" in text


def test_an_evaluation_page_shows_the_confusion_and_the_plots(page, web, admin_token, session_client,
                                                              served_detector, mixed_tiles):  # fmt: skip
    from terrafake.detection.v1 import detection_service_pb2 as det_pb

    c = session_client
    job = finished(c, c.call(c.detection.EvaluateDetector, det_pb.EvaluateDetectorRequest(
        model_version_id=served_detector.id, dataset_version_id=mixed_tiles[1].id,
        robustness={"jpeg_qualities": [75], "resize_factors": [1.5], "blur_sigmas": []})).job, timeout=300)  # fmt: skip
    evaluation_id = job.result["evaluation_id"]
    sign_in(page, web, admin_token)
    page.goto(f"{web}/versions/{served_detector.id}")
    page.click(f"a[href='/evaluations/{evaluation_id}']")
    confusion = page.locator("table.confusion").inner_text()
    assert "called generated" in confusion and "uncertain" in confusion
    plotted = page.locator("img.plot")
    assert sorted(plotted.evaluate_all("imgs => imgs.map(i => i.dataset.plot)")) == ["reliability", "robustness", "roc"]
    wait_true(page, "[...document.querySelectorAll('img.plot')].every(i => i.complete && i.naturalWidth > 300)")
    shot(page, "evaluation")
    assert page.request.get(f"{web}/evaluations/{evaluation_id}/leave-one-out.png").status == 404


def test_quiz_rounds_are_rate_limited_per_address(page, web, quiz_dataset):
    # Kept last in this file: it drains 127.0.0.1's quiz allowance (2 a second, bursts of 30, less what
    # the quiz tests before it used).
    statuses = [page.request.get(f"{web}/quiz", max_redirects=0).status for _ in range(60)]
    assert statuses[0] == 200 and 429 in statuses and statuses.count(200) >= 10
    refused = page.request.get(f"{web}/quiz", max_redirects=0)
    assert refused.status == 429 and "Too many rounds from this address" in refused.text()

