"""Response headers every console page gets, a per-address rate limiter, and the thumbnail cache."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from starlette.middleware.base import BaseHTTPMiddleware

# Everything the console serves comes from itself; images are also inlined as data: URIs (uploads shown
# back, heatmap overlays). No inline script or style: the pages' JavaScript is /static/console.js.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.url.scheme == "https":  # served over TLS: cookies never travel in clear text
            response.raw_headers[:] = [
                (k, v + b"; Secure") if k == b"set-cookie" and b"secure" not in v.lower() else (k, v)
                for k, v in response.raw_headers
            ]
        return response


class RateLimiter:
    """A token bucket per client address: `burst` requests at once, refilled at `rate_per_s`."""

    def __init__(self, rate_per_s: float, burst: int, max_clients: int = 10_000):
        self.rate, self.burst, self.max_clients = rate_per_s, burst, max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return allowed


class ThumbnailCache:
    """PNG thumbnails by image id (content-addressed, so never stale), least recently used evicted."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> bytes:
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._size += len(value)
                while self._size > self.max_bytes and self._items:
                    _, old = self._items.popitem(last=False)
                    self._size -= len(old)
        return value
