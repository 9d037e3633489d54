"""Spacing requests to the same host.

Tile servers and the PastVu API ask clients to stay under a request rate, and
ban those that do not. The limiter hands out start times at a fixed interval
per host: each caller reserves the next free slot, then sleeps until it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class HostRateLimiter:
    """At most `requests_per_second` request starts per host; 0 means unlimited.

    Safe for any number of concurrent asyncio tasks: a slot is reserved with
    no await between reading and advancing the host's next free time, so two
    tasks never get the same slot. A task cancelled while it sleeps leaves its
    slot unused, which only makes the spacing larger.
    """

    # Forgetting hosts idle for a while keeps a job over many hosts from growing the table.
    _PRUNE_ABOVE = 1024

    def __init__(
        self,
        requests_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        if requests_per_second < 0:
            raise ValueError(f"requests_per_second must be >= 0, got {requests_per_second}")
        self._interval = 1.0 / requests_per_second if requests_per_second else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next_free: dict[str, float] = {}

    async def wait(self, host: str) -> None:
        """Returns when a request to host may start."""
        if not self._interval:
            return
        now = self._clock()
        slot = max(now, self._next_free.get(host, now))
        self._next_free[host] = slot + self._interval
        if len(self._next_free) > self._PRUNE_ABOVE:
            self._next_free = {h: t for h, t in self._next_free.items() if t > now}
        if slot > now:
            await self._sleep(slot - now)
