"""What every servicer is built with: settings and the shared clients."""

from __future__ import annotations

from dataclasses import dataclass

from shared.auth import TokenStore
from shared.config import Settings
from shared.db import Database
from shared.jobs.dispatch import Dispatcher
from shared.jobs.listener import JobEventListener
from shared.jobs.store import JobStore


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    jobs: JobStore
    dispatcher: Dispatcher
    listener: JobEventListener
    tokens: TokenStore

    def page_size(self, requested: int) -> int:
        from shared.errors import InvalidArgument

        limits = self.settings.limits
        if requested < 0:
            raise InvalidArgument(f"page_size must not be negative, got {requested}")
        if requested > limits.max_page_size:
            raise InvalidArgument(f"page_size {requested} is above the limit of {limits.max_page_size}")
        return requested or limits.default_page_size
