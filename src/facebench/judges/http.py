"""A small client for OpenAI-compatible HTTP endpoints (chat with images, image edits).

Used by the VLM judge (``/chat/completions``) and the HTTP editor (``/images/edits``), so that both
behave the same way under trouble:

- every request has a timeout (seconds, connect + read);
- transient failures -- timeouts, refused connections, HTTP 408, 429 and 5xx -- are retried up to
  ``max_retries`` times with exponential backoff ``backoff * 2**attempt`` (capped at
  ``max_backoff``), or after the server's ``Retry-After`` seconds when it sends one;
- other HTTP errors (400, 401, 404...) fail at once: retrying would not help;
- a rate limit (``rate_limit`` requests per second, shared by all threads using the client)
  spaces request starts evenly.

Standard library only (urllib), so nothing extra to install. Errors are :class:`HttpError` with one
line naming the URL, the status and the number of attempts.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

#: HTTP statuses worth retrying.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class HttpError(RuntimeError):
    """A request failed for good; ``status`` is the last HTTP status (None: no response)."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class RateLimiter:
    """At most ``per_second`` request starts per second, shared across threads (None: no limit)."""

    def __init__(self, per_second: float | None) -> None:
        if per_second is not None and not per_second > 0:
            raise ValueError(f"rate_limit must be a positive number of requests per second, got {per_second!r}")
        self.interval = 0.0 if per_second is None else 1.0 / float(per_second)
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until the next request may start."""
        if self.interval == 0.0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            sleep(start - now)


@dataclass
class HttpClient:
    """POST JSON or multipart to ``base_url`` with timeouts, retries with backoff and a rate limit.

    ``api_key`` is sent as ``Authorization: Bearer``; when it is None the environment variable
    named by ``api_key_env`` is used if set (keys never go into caches or reports).
    """

    base_url: str
    api_key: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout: float = 60.0
    max_retries: int = 3
    backoff: float = 1.0
    max_backoff: float = 30.0
    rate_limit: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    requests_sent: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.base_url or "://" not in self.base_url:
            raise ValueError(f"base_url {self.base_url!r} is not an http(s) URL (e.g. http://localhost:8000/v1)")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout!r}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries!r}")
        self._limiter = RateLimiter(self.rate_limit)
        self._count_lock = threading.Lock()

    # -- public ---------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        """``base_url`` joined with ``path``."""
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def post_json(self, path: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``payload`` as JSON and return the decoded JSON response."""
        body = json.dumps(payload).encode()
        return self._request(path, body, "application/json")

    def post_multipart(self, path: str, fields: Mapping[str, str],
                       files: Mapping[str, tuple[str, bytes, str]]) -> dict[str, Any]:
        """POST a ``multipart/form-data`` body: text ``fields`` and ``files`` name -> (filename,
        bytes, content type); return the decoded JSON response."""
        boundary = "facebench-" + uuid.uuid4().hex
        parts: list[bytes] = []
        for k, v in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        for k, (fname, data, ctype) in files.items():
            head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{fname}"\r\n'
                    f"Content-Type: {ctype}\r\n\r\n")
            parts.append(head.encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self._request(path, b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def get_bytes(self, url: str) -> bytes:
        """GET ``url`` (e.g. an image URL an endpoint returned) with the same timeout and retries."""
        return self._with_retries(url, lambda: self._open(urllib.request.Request(url, method="GET")))

    # -- internals ------------------------------------------------------------------------------
    def _key(self) -> str | None:
        if self.api_key:
            return self.api_key
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def _request(self, path: str, body: bytes, ctype: str) -> dict[str, Any]:
        url = self.url(path)
        headers = {"Content-Type": ctype, "Accept": "application/json", **dict(self.headers)}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"

        def once() -> bytes:
            req = urllib.request.Request(url, data=body, headers=headers, method="POST")
            return self._open(req)

        raw = self._with_retries(url, once)
        try:
            out = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(f"POST {url}: response is not JSON ({exc}): {raw[:120]!r}") from None
        if not isinstance(out, dict):
            raise HttpError(f"POST {url}: response is JSON but not an object: {raw[:120]!r}")
        return out

    def _open(self, req: urllib.request.Request) -> bytes:
        self._limiter.wait(self.sleep)
        with self._count_lock:
            self.requests_sent += 1
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - user's endpoint
            return resp.read()

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), self.max_backoff)
            except ValueError:
                pass  # an HTTP date: fall back to exponential backoff
        return min(self.backoff * (2 ** attempt), self.max_backoff)

    def _with_retries(self, url: str, once: Callable[[], bytes]) -> bytes:
        last = ""
        status: int | None = None
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                return once()
            except urllib.error.HTTPError as exc:
                status = exc.code
                detail = exc.read()[:200].decode("utf-8", "replace").strip().replace("\n", " ")
                last = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
                if exc.code not in RETRY_STATUS:
                    raise HttpError(f"{url}: {last}", status=exc.code, attempts=attempt + 1) from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
            except (socket.timeout, TimeoutError):
                status, last = None, f"timed out after {self.timeout:g} s"
            except urllib.error.URLError as exc:
                status = None
                reason = exc.reason
                last = (f"timed out after {self.timeout:g} s" if isinstance(reason, (socket.timeout, TimeoutError))
                        else f"cannot connect ({reason})")
            except (ConnectionError, OSError) as exc:  # reset mid-response, broken pipe
                status, last = None, f"connection failed ({exc})"
            if attempt < self.max_retries:
                self.sleep(self._delay(attempt, retry_after))
        n = self.max_retries + 1
        raise HttpError(f"{url}: {last} (gave up after {n} attempt{'s' if n > 1 else ''})",
                        status=status, attempts=n)
