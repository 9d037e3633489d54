"""Server-side console sessions: an opaque id in an HttpOnly cookie, the API token kept on the server.

Every visitor gets a session on the first page (anonymous until sign-in), so
that every form, the sign-in form and the quiz included, carries a CSRF token
bound to it. Signing in replaces the session id (no fixation) and keeps the
token only here; the browser never sees it. Sessions live in this process's
memory and expire after `ttl_s` idle: a restart of the console signs everyone
out, which is the safe direction.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

COOKIE = "tf_session"


@dataclass
class Session:
    id: str
    csrf: str
    token: str | None = None  # the user's API token, forwarded on every gRPC call
    name: str = ""
    role: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    data: dict = field(default_factory=dict)  # e.g. the quiz's running score

    @property
    def signed_in(self) -> bool:
        return self.token is not None

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given, self.csrf)


class SessionStore:
    def __init__(self, ttl_s: float = 12 * 3600, max_sessions: int = 100_000):
        self.ttl_s = ttl_s
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if time.monotonic() - session.last_seen > self.ttl_s:
                del self._sessions[session_id]
                return None
            session.last_seen = time.monotonic()
            return session

    def new(self) -> Session:
        session = Session(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32))
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                self._evict()
            self._sessions[session.id] = session
        return session

    def sign_in(self, old: Session, token: str, name: str, role: str) -> Session:
        """A new session (new id, new CSRF token) holding the token; the old one is dropped."""
        fresh = self.new()
        fresh.token, fresh.name, fresh.role = token, name, role
        fresh.data = dict(old.data)
        self.drop(old)
        return fresh

    def drop(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def _evict(self) -> None:
        now = time.monotonic()
        for sid in [s for s, v in self._sessions.items() if now - v.last_seen > self.ttl_s]:
            del self._sessions[sid]
        if len(self._sessions) >= self.max_sessions:  # still full: the least recently seen go
            for sid, _ in sorted(self._sessions.items(), key=lambda kv: kv[1].last_seen)[: self.max_sessions // 10]:
                del self._sessions[sid]
