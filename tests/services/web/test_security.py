"""The console's building blocks that need no stack: sessions, CSRF, the rate limiter, the cache."""

import time

from services.web.security import RateLimiter, ThumbnailCache
from services.web.sessions import SessionStore


def test_rate_limiter_allows_a_burst_then_refills_per_address():
    limiter = RateLimiter(rate_per_s=20.0, burst=5)
    assert [limiter.allow("10.0.0.1") for _ in range(6)] == [True] * 5 + [False]
    assert limiter.allow("10.0.0.2")  # another address has its own bucket
    time.sleep(0.12)  # 20/s: two more
    assert [limiter.allow("10.0.0.1") for _ in range(3)].count(True) == 2


def test_signing_in_replaces_the_session_and_its_csrf_token():
    store = SessionStore()
    anonymous = store.new()
    assert not anonymous.signed_in and anonymous.csrf_ok(anonymous.csrf) and not anonymous.csrf_ok("")
    anonymous.data["quiz"] = {"player": "p"}
    signed = store.sign_in(anonymous, "token", "ada", "read")
    assert signed.id != anonymous.id and signed.csrf != anonymous.csrf  # no fixation
    assert store.get(anonymous.id) is None and store.get(signed.id) is signed
    assert signed.token == "token" and signed.data["quiz"] == {"player": "p"}
    assert not signed.csrf_ok(anonymous.csrf)


def test_sessions_expire_when_idle():
    store = SessionStore(ttl_s=0.05)
    session = store.new()
    time.sleep(0.1)
    assert store.get(session.id) is None


def test_thumbnail_cache_evicts_the_least_recently_used():
    cache = ThumbnailCache(max_bytes=10)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    assert cache.get("a") == b"12345"  # a is now the most recent
    cache.put("c", b"12345")
    assert cache.get("b") is None and cache.get("a") and cache.get("c")


def test_evaluation_plots_are_drawn_for_what_the_report_holds():
    import io

    from PIL import Image

    from services.web import plots
    from terrafake.training.v1 import evaluation_pb2 as ev

    report = ev.DetectorReport(
        metrics=ev.DetectorMetrics(accuracy=0.9, roc_auc=0.95),
        roc_curve=[ev.RocPoint(false_positive_rate=f, true_positive_rate=min(1, 2 * f)) for f in (0, 0.25, 0.5, 1)],
        reliability=[ev.ReliabilityBin(lower=0, upper=0.5, count=10, mean_p=0.2, fraction_generated=0.1)],
        robustness=[ev.RobustnessResult(perturbation=ev.PERTURBATION_JPEG, parameter=75,
                                        metrics=ev.DetectorMetrics(accuracy=0.8, roc_auc=0.9))],
    )
    assert plots.available(report) == ["roc", "reliability", "robustness"]  # no leave-one-out rows
    for name in plots.available(report):
        image = Image.open(io.BytesIO(plots.draw(report, name)))
        assert image.format == "PNG" and image.width > 300 and image.height > 200
    report.leave_one_family_out.add(family="gan", metrics=ev.DetectorMetrics(roc_auc=0.7))
    assert "leave-one-out" in plots.available(report)
    assert Image.open(io.BytesIO(plots.draw(report, "leave-one-out"))).format == "PNG"
    try:
        plots.draw(ev.DetectorReport(), "roc")
    except KeyError:
        pass
    else:
        raise AssertionError("an empty report has no ROC to draw")


def test_the_session_cookie_is_secure_under_tls_and_http_only_always():
    import warnings

    from services.web.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    app = create_app("127.0.0.1:1")  # the sign-in page needs no gRPC call
    for base, secure in (("https://console.example", True), ("http://console.example", False)):
        with TestClient(app, base_url=base) as browser:
            cookie = browser.get("/signin").headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and ("; secure" in cookie) == secure


def test_signing_in_while_the_grpc_server_is_down_answers_503_within_seconds():
    import re

    from starlette.testclient import TestClient

    from services.web.app import RETRY_SECONDS, create_app
    from shared.stack.procs import free_port

    app = create_app(f"127.0.0.1:{free_port()}")  # nothing listens there
    with TestClient(app) as client:
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        start = time.monotonic()
        response = client.post("/signin", data={"csrf": csrf, "token": "anything", "next": "/datasets"})
        waited = time.monotonic() - start
    assert response.status_code == 503
    # The console's short retry budget, not the client's 30-s default: a person is waiting on the page.
    assert waited < RETRY_SECONDS + 3, waited
