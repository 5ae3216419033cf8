"""A small client for OpenAI-compatible HTTP endpoints (chat with images, image edits).

Used by the VLM judge (``/chat/completions``) and the HTTP editor (``/images/edits``), so that both
behave the same way under trouble:

- every attempt has a total deadline of ``timeout`` seconds for connecting, sending and receiving
  the whole response (not a per-read timeout: a server that drips one byte at a time is cut off
  at the deadline);
- every response body is capped at ``max_response_bytes`` (checked against ``Content-Length`` and
  while reading); a bigger one fails at once without being read whole;
- transient failures -- timeouts, refused or dropped connections, bodies cut short, HTTP 408, 429
  and 5xx -- are retried up to ``max_retries`` times with exponential backoff
  ``backoff * 2**attempt`` (capped at ``max_backoff``), or after the server's ``Retry-After``
  (seconds or an HTTP date; a value that is neither, e.g. ``nan``, is ignored), also capped;
- other HTTP errors (400, 401, 404...) fail at once: retrying would not help;
- JSON responses with a key given twice are rejected (:func:`loads_unique`), never "last one wins";
- a rate limit (``rate_limit`` requests per second, shared by all threads using the client)
  spaces request starts evenly;
- the proxy named by ``http_proxy``/``https_proxy`` is used unless ``no_proxy`` excludes the host;
  GET follows up to 3 redirects.

Standard library only (http.client), so nothing extra to install. Errors are :class:`HttpError` with one
line naming the URL, the status and the number of attempts.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import os
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

#: HTTP statuses worth retrying.
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
#: Default cap on a response body (bytes): a chat answer or an edited image fits easily.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_CHUNK = 64 * 1024
_MAX_REDIRECTS = 3


class HttpError(RuntimeError):
    """A request failed for good; ``status`` is the last HTTP status (None: no response)."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class _Transient(Exception):
    """One attempt failed in a way worth retrying; ``str`` says how."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _Fatal(Exception):
    """One attempt failed in a way retrying cannot fix (HTTP 4xx, oversized body)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"key {k!r} is given twice")
        out[k] = v
    return out


def loads_unique(text: str | bytes) -> Any:
    """``json.loads`` that rejects an object with a key given twice (:class:`ValueError`; RFC 8259
    leaves duplicate names undefined, so an answer that has them is ambiguous, not "last wins")."""
    return json.loads(text, object_pairs_hook=_reject_duplicates)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (RFC 9110 sec. 10.2.3: delay-seconds or an
    HTTP date); None when absent or neither a finite non-negative number nor a date."""
    if not value:
        return None
    v = value.strip()
    try:
        sec = float(v)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        sec = when.timestamp() - (time.time() if now is None else now)
        return max(sec, 0.0)
    return sec if math.isfinite(sec) and sec >= 0 else None


def _connection(parts: urllib.parse.SplitResult, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for ``parts`` and the request target, through the proxy the environment names
    (``http_proxy``/``https_proxy``, ``no_proxy``), as urllib would: an http URL is requested in
    absolute form from the proxy, an https one through a CONNECT tunnel."""
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    https = parts.scheme == "https"
    cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        pu = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        conn = cls(pu.hostname, pu.port, timeout=timeout)
        if https:  # TLS to the target inside the proxy's tunnel
            conn.set_tunnel(parts.hostname, parts.port)
            return conn, path
        return conn, parts.geturl()
    return cls(parts.hostname, parts.port, timeout=timeout), path


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
    """POST JSON or multipart to ``base_url`` with a total deadline per attempt (``timeout``), a cap
    on the response size (``max_response_bytes``), retries with backoff and a rate limit.

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
    max_response_bytes: int = MAX_RESPONSE_BYTES
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
        if self.max_response_bytes <= 0:
            raise ValueError(f"max_response_bytes must be positive, got {self.max_response_bytes!r}")
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
        return self._with_retries(url, lambda: self._open("GET", url, None, {}))

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
        raw = self._with_retries(url, lambda: self._open("POST", url, body, headers))
        try:
            out = loads_unique(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise HttpError(f"POST {url}: response is not valid JSON ({exc}): {raw[:120]!r}") from None
        if not isinstance(out, dict):
            raise HttpError(f"POST {url}: response is JSON but not an object: {raw[:120]!r}")
        return out

    def _open(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str]) -> bytes:
        """One attempt (following up to 3 redirects of a GET): the body of a 2xx response, or
        :class:`_Transient` / :class:`_Fatal`. The whole attempt ends by ``timeout`` seconds."""
        self._limiter.wait(self.sleep)
        with self._count_lock:
            self.requests_sent += 1
        deadline = time.monotonic() + self.timeout
        for _ in range(_MAX_REDIRECTS + 1):
            status, reason, hdrs, data = self._exchange(method, url, body, headers, deadline)
            location = hdrs.get("location")
            if method == "GET" and status in (301, 302, 303, 307, 308) and location:
                url = urllib.parse.urljoin(url, location)
                continue
            break
        if 200 <= status < 300:
            return data
        detail = data[:200].decode("utf-8", "replace").strip().replace("\n", " ")
        last = f"HTTP {status} {reason}" + (f": {detail}" if detail else "")
        if status in RETRY_STATUS:
            raise _Transient(last, status=status, retry_after=hdrs.get("retry-after"))
        raise _Fatal(last, status=status)

    def _exchange(self, method: str, url: str, body: bytes | None, headers: Mapping[str, str],
                  deadline: float) -> tuple[int, str, dict[str, str], bytes]:
        """Send one request and read the response by ``deadline`` (a watchdog shuts the socket at
        the deadline, so no single slow read can stretch it) and within the size cap."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _Fatal(f"not an http(s) URL: {url!r}")
        timed_out = f"timed out after {self.timeout:g} s"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Transient(timed_out)
        conn, target = _connection(parts, remaining)
        fired = threading.Event()
        timer: threading.Timer | None = None

        def cut() -> None:
            fired.set()
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        try:
            timer = threading.Timer(remaining, cut)
            timer.daemon = True
            timer.start()
            conn.request(method, target, body=body, headers=dict(headers))
            resp = conn.getresponse()
            ok = 200 <= resp.status < 300
            cap = self.max_response_bytes if ok else 4096
            length = resp.getheader("Content-Length")
            if ok and length and length.strip().isdigit() and int(length) > cap:
                raise _Fatal(f"response of {int(length)} bytes exceeds the limit of {cap} bytes")
            data = bytearray()
            while True:
                chunk = resp.read1(_CHUNK)
                if not chunk:
                    break
                data += chunk
                if len(data) > cap:
                    if ok:
                        raise _Fatal(f"response exceeds the limit of {cap} bytes")
                    del data[cap:]
                    break
                if fired.is_set():
                    raise _Transient(timed_out)
            if fired.is_set() or time.monotonic() > deadline:
                raise _Transient(timed_out)
            if ok and resp.length:  # Content-Length promised more than arrived
                raise _Transient(f"response cut short ({len(data)} bytes, {resp.length} missing)")
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, resp.reason, hdrs, bytes(data)
        except (_Transient, _Fatal):
            raise
        except ssl.SSLCertVerificationError as exc:
            raise _Fatal(f"TLS certificate not accepted ({exc.reason})") from None
        except (socket.timeout, TimeoutError):
            raise _Transient(timed_out) from None
        except http.client.HTTPException as exc:
            if fired.is_set():
                raise _Transient(timed_out) from None
            raise _Transient(f"bad or cut-short response ({type(exc).__name__}: {exc})") from None
        except ConnectionRefusedError as exc:
            raise _Transient(f"cannot connect ({exc})") from None
        except OSError as exc:  # reset mid-response, broken pipe, name resolution
            if fired.is_set():
                raise _Transient(timed_out) from None
            raise _Transient(f"connection failed ({exc})") from None
        finally:
            if timer is not None:
                timer.cancel()
            conn.close()

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to sleep before retry ``attempt + 1``: the server's ``Retry-After`` when it is
        usable, else ``backoff * 2**attempt``; at most ``max_backoff`` either way."""
        sec = retry_after_seconds(retry_after)
        if sec is None:
            sec = self.backoff * (2 ** attempt)
        return min(max(sec, 0.0), self.max_backoff)

    def _with_retries(self, url: str, once: Callable[[], bytes]) -> bytes:
        last = ""
        status: int | None = None
        for attempt in range(self.max_retries + 1):
            try:
                return once()
            except _Fatal as exc:
                raise HttpError(f"{url}: {exc}", status=exc.status, attempts=attempt + 1) from None
            except _Transient as exc:
                status, last, retry_after = exc.status, str(exc), exc.retry_after
            if attempt < self.max_retries:
                self.sleep(self._delay(attempt, retry_after))
        n = self.max_retries + 1
        raise HttpError(f"{url}: {last} (gave up after {n} attempt{'s' if n > 1 else ''})",
                        status=status, attempts=n)
