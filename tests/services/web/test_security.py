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
