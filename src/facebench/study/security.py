"""Web-form defences for facebench's Flask apps, reusable by any of them: CSRF tokens on every form
and a limit on failed login attempts.

- :class:`Csrf` (double-submit, signed): the first page a browser gets sets a random session id in
  the cookie ``facebench_csrf`` (HttpOnly, SameSite=Strict); every form carries the hidden field
  ``csrf_token`` = HMAC-SHA256(key, session id) (templates call ``csrf_token()``). Every POST, PUT,
  PATCH or DELETE must send both, matching (constant-time compare), or it is refused before the
  view runs. Another site can neither read the cookie nor compute the HMAC without the key. With a
  key derived from a stored secret, forms stay valid across server restarts.
- :class:`AttemptLimiter`: at most ``limit`` failed attempts per ``window`` seconds per client
  (and ``global_limit`` over all clients, against guessing from many addresses); further attempts
  are refused until the oldest counted one is older than the window, whatever the secret tried.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from typing import Any, Callable

from flask import Flask, Response, g, request

CSRF_COOKIE = "facebench_csrf"
CSRF_FIELD = "csrf_token"
_SID_RE = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Csrf:
    """CSRF protection of a Flask app (see module doc). ``key``: bytes that stay secret;
    ``on_fail()`` builds the response to a refused request (default: plain 403)."""

    def __init__(self, key: bytes, *, on_fail: Callable[[], Any] | None = None,
                 cookie: str = CSRF_COOKIE, field: str = CSRF_FIELD) -> None:
        if len(key) < 16:
            raise ValueError("the CSRF key must have at least 16 bytes")
        self.key, self.cookie, self.field = key, cookie, field
        self.on_fail = on_fail or (lambda: ("Forbidden: missing or invalid form token; reload the page.", 403))

    def init_app(self, app: Flask) -> "Csrf":
        """Check every unsafe request, offer ``csrf_token()`` to templates, set the cookie."""
        app.before_request(self._check)
        app.after_request(self._set_cookie)
        app.context_processor(lambda: {"csrf_token": self.token, "csrf_field": self.field})
        return self

    def sign(self, sid: str) -> str:
        """The form token of session id ``sid``: HMAC-SHA256(key, sid), hex."""
        return hmac.new(self.key, b"csrf:" + sid.encode(), hashlib.sha256).hexdigest()

    def _sid(self) -> str:
        sid = g.get("_csrf_sid")
        if sid is None:
            sent = request.cookies.get(self.cookie, "")
            sid = sent if _SID_RE.match(sent) else secrets.token_hex(32)
            g._csrf_sid, g._csrf_new = sid, sid != sent
        return sid

    def token(self) -> str:
        """The token to put in this response's forms (sets the cookie when the browser has none)."""
        return self.sign(self._sid())

    def valid(self) -> bool:
        """Whether this request carries a cookie and a matching form token."""
        sid = request.cookies.get(self.cookie, "")
        sent = request.form.get(self.field, "")
        return bool(_SID_RE.match(sid)) and bool(sent) and hmac.compare_digest(sent, self.sign(sid))

    def _check(self) -> Any:
        if request.method in _UNSAFE and not self.valid():
            return self.on_fail()
        return None

    def _set_cookie(self, resp: Response) -> Response:
        if g.get("_csrf_new"):
            resp.set_cookie(self.cookie, g._csrf_sid, httponly=True, samesite="Strict",
                            secure=request.is_secure, path="/")
        return resp


class AttemptLimiter:
    """Counts failed attempts per client in a sliding window (see module doc); thread-safe.
    ``clock`` is injectable for tests."""

    def __init__(self, limit: int = 5, window: float = 60.0, global_limit: int = 30,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        if limit < 1 or global_limit < 1 or window <= 0:
            raise ValueError("limit and global_limit must be >= 1 and window > 0")
        self.limit, self.window, self.global_limit = limit, float(window), global_limit
        self.clock, self.max_clients = clock, max_clients
        self._per: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def _prune(self, q: deque[float], now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def retry_after(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            self._prune(self._all, now)
            q = self._per.get(client)
            if q is not None:
                self._prune(q, now)
            wait = 0.0
            if q is not None and len(q) >= self.limit:
                wait = q[0] + self.window - now
            if len(self._all) >= self.global_limit:
                wait = max(wait, self._all[0] + self.window - now)
            return max(wait, 0.0)

    def failed(self, client: str) -> None:
        """Count one failed attempt of ``client``."""
        now = self.clock()
        with self._lock:
            if client not in self._per and len(self._per) >= self.max_clients:
                for k in [k for k, q in self._per.items() if not q or q[-1] <= now - self.window]:
                    del self._per[k]
                if len(self._per) >= self.max_clients:  # still full: forget the oldest client
                    del self._per[next(iter(self._per))]
            self._per.setdefault(client, deque()).append(now)
            self._all.append(now)
