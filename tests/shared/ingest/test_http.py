"""The fetcher against a real local server: retries, limits, address policy."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from datetime import datetime, timezone

import pytest

from shared.ingest.http import Fetcher, FetchError, FetchPolicy, parse_retry_after
from shared.ingest.netpolicy import address_kind
from tests.fakes.remote import FakeRemote

# Short waits keep the file fast; the server is local, so nothing needs more.
QUICK = dict(backoff_seconds=0.01, max_backoff_seconds=0.05, timeout_seconds=5)


@pytest.fixture
def remote():
    with FakeRemote() as r:
        r.add_file("a.bin", b"a" * 1000)
        yield r


def fetch(policy: FetchPolicy, url: str) -> tuple[bytes | FetchError, Fetcher, float]:
    """Fetches url once; returns the body or error, the fetcher (for stats) and the seconds taken."""

    async def run():
        async with Fetcher(policy) as fetcher:
            started = time.monotonic()
            try:
                result = await fetcher.fetch(url)
            except FetchError as err:
                result = err
            return result, fetcher, time.monotonic() - started

    return asyncio.run(run())


def test_429_is_retried_after_the_retry_after_wait(remote):
    remote.fail(r"^/files/a\.bin$", status=429, times=1, retry_after=1)
    body, fetcher, took = fetch(FetchPolicy(**QUICK), remote.url_for("/files/a.bin"))
    assert body == b"a" * 1000
    assert took >= 0.95
    assert remote.count(r"^/files/a\.bin$") == 2
    assert fetcher.stats.retries == 1 and fetcher.stats.requests == 2


def test_500_then_success(remote):
    remote.fail(r"^/files/a\.bin$", status=500, times=2)
    body, fetcher, _ = fetch(FetchPolicy(**QUICK), remote.url_for("/files/a.bin"))
    assert body == b"a" * 1000
    assert remote.count(r"^/files/a\.bin$") == 3
    assert fetcher.stats.as_dict()["bytes"] == 1000


def test_timeout_then_success(remote):
    remote.delay(r"^/files/a\.bin$", seconds=1.5, times=1)
    body, _, took = fetch(FetchPolicy(**{**QUICK, "timeout_seconds": 0.4}), remote.url_for("/files/a.bin"))
    assert body == b"a" * 1000
    assert 0.4 <= took < 1.4
    assert remote.count(r"^/files/a\.bin$") == 2


def test_gives_up_on_timeouts_after_max_retries(remote):
    remote.delay(r"^/files/a\.bin$", seconds=1.0, times=None)
    policy = FetchPolicy(**{**QUICK, "timeout_seconds": 0.2, "max_retries": 2})
    err, fetcher, _ = fetch(policy, remote.url_for("/files/a.bin"))
    assert isinstance(err, FetchError)
    assert (err.reason, err.transient, err.detail) == ("TIMEOUT", True, "timed out after 3 attempts")
    assert remote.count(r"^/files/a\.bin$") == 3
    assert fetcher.stats.failed == 1


def test_gives_up_on_server_errors_after_max_retries(remote):
    remote.fail(r"^/files/a\.bin$", status=503, times=None)
    err, _, _ = fetch(FetchPolicy(**{**QUICK, "max_retries": 2}), remote.url_for("/files/a.bin"))
    assert isinstance(err, FetchError)
    assert (err.reason, err.status, err.transient) == ("HTTP_ERROR", 503, True)
    assert err.detail == "HTTP 503 Service Unavailable (gave up after 3 attempts)"


def test_404_is_not_retried(remote):
    err, _, _ = fetch(FetchPolicy(**QUICK), remote.url_for("/files/missing.bin"))
    assert isinstance(err, FetchError)
    assert (err.reason, err.status, err.transient, err.detail) == ("HTTP_ERROR", 404, False, "HTTP 404 Not Found")
    assert remote.count(r"^/files/missing\.bin$") == 1


def test_body_over_max_bytes_is_refused_by_content_length(remote):
    err, _, _ = fetch(FetchPolicy(**{**QUICK, "max_bytes": 999}), remote.url_for("/files/a.bin"))
    assert isinstance(err, FetchError)
    assert (err.reason, err.transient) == ("TOO_MANY_BYTES", False)
    assert "Content-Length 1000" in err.detail


def test_body_over_max_bytes_is_refused_while_streaming(remote):
    remote.add_file("big.bin", b"b" * 100_000)
    remote.unsized(r"^/files/big\.bin$")
    err, _, _ = fetch(FetchPolicy(**{**QUICK, "max_bytes": 50_000}), remote.url_for("/files/big.bin"))
    assert isinstance(err, FetchError)
    assert err.reason == "TOO_MANY_BYTES" and "exceeds" in err.detail
    body, _, _ = fetch(FetchPolicy(**QUICK), remote.url_for("/files/big.bin"))
    assert body == b"b" * 100_000


def test_requests_to_one_host_are_spaced(remote):
    policy = FetchPolicy(**QUICK, requests_per_second_per_host=10)

    async def run():
        async with Fetcher(policy) as fetcher:
            await asyncio.gather(*(fetcher.fetch(remote.url_for("/files/a.bin")) for _ in range(5)))

    started = time.monotonic()
    asyncio.run(run())
    assert time.monotonic() - started >= 0.38
    times = [t for _, path, t in remote.requests]
    assert all(later - earlier >= 0.08 for earlier, later in zip(times, times[1:]))


def test_concurrency_bound_is_respected(remote):
    remote.delay(r"^/files/a\.bin$", seconds=0.2, times=None)
    urls = [remote.url_for("/files/a.bin")] * 12

    async def run():
        async with Fetcher(FetchPolicy(**QUICK, concurrency=3)) as fetcher:
            return [result async for _, result in fetcher.iter_fetch(urls)]

    results = asyncio.run(run())
    assert results == [b"a" * 1000] * 12
    assert remote.max_in_flight == 3


def test_iter_fetch_reports_each_url_and_keeps_few_tasks(remote):
    urls = [remote.url_for(f"/files/{'a' if i % 3 else 'missing'}.bin") for i in range(60)]

    async def run():
        seen, most_tasks = [], 0
        async with Fetcher(FetchPolicy(**QUICK, concurrency=2)) as fetcher:
            async for url, result in fetcher.iter_fetch(urls):
                seen.append((url, result))
                most_tasks = max(most_tasks, len(asyncio.all_tasks()))
        return seen, most_tasks

    seen, most_tasks = asyncio.run(run())
    assert sorted(url for url, _ in seen) == sorted(urls)
    errors = [r for _, r in seen if isinstance(r, FetchError)]
    assert len(errors) == 20 and all(e.status == 404 for e in errors)
    assert most_tasks <= 2 * 2 + 1  # the window plus the main task


def test_private_address_is_refused_without_a_request(remote):
    policy = FetchPolicy(**QUICK, allow_private_networks=False)
    for url in (remote.url_for("/files/a.bin"), remote.url.replace("127.0.0.1", "localhost") + "/files/a.bin"):
        err, _, _ = fetch(policy, url)
        assert isinstance(err, FetchError)
        assert (err.reason, err.transient) == ("FORBIDDEN_ADDRESS", False)
        assert "loopback" in err.detail
    assert remote.count(".") == 0


def test_redirect_to_a_private_address_is_refused(remote):
    # The fake server itself must be reachable, so its address is allowlisted;
    # the redirect target, another loopback address, is not.
    port = remote.url.rsplit(":", 1)[1]
    remote.redirect("/files/jump", f"http://127.0.0.2:{port}/files/a.bin")
    policy = FetchPolicy(**QUICK, allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    err, _, _ = fetch(policy, remote.url_for("/files/jump"))
    assert isinstance(err, FetchError)
    assert err.reason == "FORBIDDEN_ADDRESS"
    assert "127.0.0.2 is a loopback address (redirected to" in err.detail
    assert remote.count(r"^/files/a\.bin$") == 0


def test_redirects_are_followed_up_to_the_limit(remote):
    remote.redirect("/files/one", "/files/two", status=301)
    remote.redirect("/files/two", remote.url_for("/files/a.bin"), status=307)
    body, fetcher, _ = fetch(FetchPolicy(**QUICK), remote.url_for("/files/one"))
    assert body == b"a" * 1000 and fetcher.stats.redirects == 2

    remote.redirect("/files/loop", "/files/loop")
    err, _, _ = fetch(FetchPolicy(**QUICK), remote.url_for("/files/loop"))
    assert isinstance(err, FetchError)
    assert (err.reason, err.detail) == ("OTHER", "more than 5 redirects")
    assert remote.count(r"^/files/loop$") == 6


def test_other_schemes_are_refused():
    for url in ("ftp://127.0.0.1/a.bin", "file:///etc/passwd"):
        err, _, _ = fetch(FetchPolicy(**QUICK), url)
        assert isinstance(err, FetchError) and err.reason == "FORBIDDEN_ADDRESS", url
        assert "scheme" in err.detail


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-global"),
        ("::ffff:192.168.0.1", "private"),
        ("fe80::1", "link-local"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:07 GMT", now=lambda: now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=lambda: now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError, match="concurrency"):
        FetchPolicy(concurrency=0)
    with pytest.raises(ValueError):
        FetchPolicy(allowed_networks=("not-a-network",))
