"""Downloading remote files for ingest jobs: an async fetcher built on httpx.

Remote servers are slow, flaky and sometimes hostile, so every download goes
through one `Fetcher` that bounds how many requests are in flight, spaces the
requests to each host, retries only failures that may pass (429, 5xx gateway
errors, connect errors, timeouts) with jittered exponential backoff and
`Retry-After`, refuses bodies over a size limit, and applies the address
policy of `netpolicy` to every redirect hop. Failures come out as one
`FetchError` whose `reason` is the name of a proto `RejectReason`, so an ingest
report can record it as is.

    async with Fetcher(FetchPolicy(requests_per_second_per_host=2)) as fetcher:
        data = await fetcher.fetch("https://tile.example.org/3/4/2.png")
        async for url, result in fetcher.iter_fetch(urls):
            ...
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Literal

import httpx

from shared.ingest import netpolicy
from shared.ingest.ratelimit import HostRateLimiter

DEFAULT_USER_AGENT = "terrafake/0.1 (+https://github.com/terrafake)"

FetchReason = Literal["HTTP_ERROR", "TIMEOUT", "FORBIDDEN_ADDRESS", "TOO_MANY_BYTES", "OTHER"]

# 408 and 429 say "come back later"; the 5xx here are what overloaded servers
# and proxies answer. Any other status will not change on a retry.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_RETRY_AFTER_STATUSES = frozenset({429, 503})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchPolicy:
    """How a Fetcher talks to remote servers. Defaults suit a public tile server."""

    # Limit for one attempt, from connecting to the last body byte.
    timeout_seconds: float = 30.0
    # Sent with every request; many tile servers refuse anonymous clients.
    user_agent: str = DEFAULT_USER_AGENT
    # Further attempts after a transient failure; 0 tries once.
    max_retries: int = 4
    # First retry delay; doubled per retry, jittered, capped at max_backoff_seconds.
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    # Longest Retry-After honoured, so a server cannot park a job for hours.
    max_retry_after_seconds: float = 60.0
    # Largest accepted body, checked against Content-Length and while reading.
    max_bytes: int = 64 * 1024 * 1024
    # Most requests in flight at once over the whole Fetcher.
    concurrency: int = 8
    # Most request starts per second to any one host; 0 means unlimited.
    requests_per_second_per_host: float = 0.0
    # False refuses loopback, private, link-local, multicast and other
    # non-public addresses, checked after DNS resolution on every hop.
    allow_private_networks: bool = True
    # CIDR blocks exempt from that refusal, e.g. an internal tile mirror.
    allowed_networks: tuple[str, ...] = ()
    # Redirect hops followed before giving up.
    max_redirects: int = 5

    def __post_init__(self) -> None:
        if self.timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be > 0, got {self.timeout_seconds}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.backoff_seconds < 0 or self.max_backoff_seconds < 0 or self.max_retry_after_seconds < 0:
            raise ValueError("backoff and Retry-After limits must be >= 0")
        if self.max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {self.max_bytes}")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.requests_per_second_per_host < 0:
            raise ValueError(
                f"requests_per_second_per_host must be >= 0, got {self.requests_per_second_per_host}"
            )
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be >= 0, got {self.max_redirects}")
        if not self.user_agent:
            raise ValueError("user_agent must not be empty")
        netpolicy.parse_networks(self.allowed_networks)  # ValueError names the bad entry


class FetchError(Exception):
    """A download that failed; `reason` is a proto RejectReason name without its prefix."""

    def __init__(
        self,
        reason: FetchReason,
        detail: str,
        *,
        url: str | None = None,
        status: int | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(f"{reason}: {detail}" + (f" ({url})" if url else ""))
        self.reason = reason
        self.detail = detail
        self.url = url
        self.status = status
        self.transient = transient
        # Seconds the server asked us to wait before retrying, if it said.
        self.retry_after = retry_after


@dataclass
class FetchStats:
    """What a Fetcher did, for ingest reports and benchmarks."""

    requests: int = 0  # HTTP requests sent, counting retries and redirect hops
    retries: int = 0  # attempts after the first, over all fetches
    redirects: int = 0  # redirect hops followed
    bytes: int = 0  # body bytes received, including bodies later refused
    succeeded: int = 0  # fetch() calls that returned a body
    failed: int = 0  # fetch() calls that raised FetchError

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def parse_retry_after(value: str | None, *, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now() if now else datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


@dataclass
class _Hop:
    """One request's outcome: a body, or where a redirect points."""

    body: bytes = b""
    location: httpx.URL | None = None


class Fetcher:
    """Downloads URLs under a FetchPolicy. Use as `async with Fetcher(policy) as f:`.

    `transport` replaces the network (httpx.MockTransport in unit tests);
    `sleep`, `rng` and `resolve` make backoff waits and DNS answers
    observable and repeatable.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        resolve: netpolicy.Resolver = netpolicy.resolve_host,
    ):
        self.policy = policy or FetchPolicy()
        self.stats = FetchStats()
        self.transport = transport
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.resolve = resolve
        self._client: httpx.AsyncClient | None = None
        self._semaphore = asyncio.Semaphore(self.policy.concurrency)
        self._limiter = HostRateLimiter(self.policy.requests_per_second_per_host, sleep=self.sleep)
        self._allowed_networks = netpolicy.parse_networks(self.policy.allowed_networks)

    async def __aenter__(self) -> Fetcher:
        limit = self.policy.concurrency
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.policy.user_agent},
            timeout=httpx.Timeout(self.policy.timeout_seconds),
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
            # Redirects are followed here, so each hop passes the address policy.
            follow_redirects=False,
            # An environment proxy would connect on our behalf to addresses the
            # policy never saw, and tests must not leave the machine through one.
            trust_env=False,
            transport=self.transport,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str) -> bytes:
        """The body at url, following redirects; raises FetchError."""
        attempts = self.policy.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                body = await self._attempt(url)
            except FetchError as err:
                if not err.transient or attempt == attempts:
                    self.stats.failed += 1
                    raise _gave_up(err, attempt) from None
                self.stats.retries += 1
                await self.sleep(self._retry_delay(attempt, err.retry_after))
            else:
                self.stats.succeeded += 1
                return body
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def iter_fetch(self, urls: Iterable[str]) -> AsyncIterator[tuple[str, bytes | FetchError]]:
        """Yields (url, body or FetchError) for every url, in order of completion.

        At most twice `concurrency` downloads are scheduled at a time, so a
        list of 10,000 URLs does not become 10,000 tasks. Leaving the loop
        early cancels the downloads still running (close the generator with
        `contextlib.aclosing` to make that immediate).
        """
        pending: dict[asyncio.Task[bytes | FetchError], str] = {}
        remaining = iter(urls)
        window = 2 * self.policy.concurrency

        def refill() -> None:
            while len(pending) < window:
                url = next(remaining, None)
                if url is None:
                    return
                pending[asyncio.create_task(self._fetch_or_error(url))] = url

        try:
            refill()
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield pending.pop(task), task.result()
                refill()
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _fetch_or_error(self, url: str) -> bytes | FetchError:
        try:
            return await self.fetch(url)
        except FetchError as err:
            return err

    def _retry_delay(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.policy.max_backoff_seconds, self.policy.backoff_seconds * 2 ** (attempt - 1))
        # Half fixed, half random: spreads out clients that failed together
        # without ever retrying immediately.
        delay = base / 2 + self.rng.uniform(0, base / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.policy.max_retry_after_seconds))
        return delay

    async def _attempt(self, url: str) -> bytes:
        client = self._client
        if client is None:
            raise RuntimeError("use the Fetcher as 'async with Fetcher(...) as fetcher'")
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError) as err:
            raise FetchError("OTHER", f"invalid URL: {err}", url=url) from None
        for _ in range(self.policy.max_redirects + 1):
            await self._check_address(current, url)
            hop = await self._request(client, current, url)
            if hop.location is None:
                return hop.body
            self.stats.redirects += 1
            current = hop.location
        raise FetchError("OTHER", f"more than {self.policy.max_redirects} redirects", url=url)

    async def _check_address(self, target: httpx.URL, url: str) -> None:
        try:
            why = await netpolicy.refusal(
                target,
                allow_private_networks=self.policy.allow_private_networks,
                allowed_networks=self._allowed_networks,
                resolve=self.resolve,
            )
        except OSError as err:
            # A name that does not exist will not appear on a retry; other
            # resolver failures (timeouts, overload) usually pass.
            unknown = isinstance(err, socket.gaierror) and err.errno == socket.EAI_NONAME
            detail = f"cannot resolve {target.host}: {err}"
            raise FetchError("OTHER", detail, url=url, transient=not unknown) from None
        if why is not None:
            hop = "" if str(target) == url else f" (redirected to {target})"
            raise FetchError("FORBIDDEN_ADDRESS", why + hop, url=url)

    async def _request(self, client: httpx.AsyncClient, target: httpx.URL, url: str) -> _Hop:
        timeout = self.policy.timeout_seconds
        async with self._semaphore:
            await self._limiter.wait(target.host)
            self.stats.requests += 1
            started = time.monotonic()
            try:
                # httpx's timeout is per read; this bounds the whole response,
                # so a server trickling bytes cannot hold a slot forever.
                async with asyncio.timeout(timeout):
                    return await self._send(client, target, url)
            except (TimeoutError, httpx.TimeoutException):
                waited = time.monotonic() - started
                raise FetchError("TIMEOUT", f"timed out after {waited:.1f} s", url=url, transient=True) from None
            except httpx.ConnectError as err:
                raise FetchError("OTHER", f"cannot connect: {err}", url=url, transient=True) from None
            except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as err:
                # The connection broke mid-exchange: usually a restart or a proxy hiccup.
                raise FetchError("OTHER", f"connection lost: {err}", url=url, transient=True) from None
            except httpx.HTTPError as err:
                raise FetchError("OTHER", f"{type(err).__name__}: {err}", url=url) from None

    async def _send(self, client: httpx.AsyncClient, target: httpx.URL, url: str) -> _Hop:
        async with client.stream("GET", target) as response:
            status = response.status_code
            if status in _REDIRECT_STATUSES and "location" in response.headers:
                return _Hop(location=response.url.join(response.headers["location"]))
            if not 200 <= status < 300:
                retry_after = None
                if status in _RETRY_AFTER_STATUSES:
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                raise FetchError(
                    "HTTP_ERROR",
                    f"HTTP {status} {response.reason_phrase}".rstrip(),
                    url=url,
                    status=status,
                    transient=status in TRANSIENT_STATUSES,
                    retry_after=retry_after,
                )
            limit = self.policy.max_bytes
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FetchError("TOO_MANY_BYTES", f"Content-Length {declared} > limit {limit}", url=url)
            chunks: list[bytes] = []
            received = 0
            # Counted after decoding, so a small gzip body cannot expand past the limit.
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                self.stats.bytes += len(chunk)
                if received > limit:
                    raise FetchError("TOO_MANY_BYTES", f"body exceeds limit {limit} bytes", url=url)
                chunks.append(chunk)
            return _Hop(body=b"".join(chunks))


def _gave_up(err: FetchError, attempts: int) -> FetchError:
    """err, restated to say how many attempts were made when it was retried."""
    if attempts == 1 or not err.transient:
        return err
    if err.reason == "TIMEOUT":
        detail = f"timed out after {attempts} attempts"
    else:
        detail = f"{err.detail} (gave up after {attempts} attempts)"
    return FetchError(
        err.reason, detail, url=err.url, status=err.status, transient=err.transient, retry_after=err.retry_after
    )
