"""Serve a study with waitress (a multi-threaded, pure-Python WSGI server), in this process
(:func:`serve`) or as a child process on a loopback port (:class:`ServerProcess`, for tests).
:func:`serve_wsgi` and :class:`ServerProcess` serve other facebench web apps too (the studio)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence, TextIO
from urllib.parse import urlsplit

from .app import create_app
from .db import open_study_db


def serve(
    target: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    threads: int = 8,
    out: TextIO = sys.stdout,
) -> None:
    """Open the study database (migrating it) and serve the rating app until interrupted.

    Prints ``facebench study: serving http://HOST:PORT`` (with the real port when ``port`` is 0)
    once the socket listens. SIGTERM stops the server like Ctrl-C; every rating was already
    committed when its request returned, so stopping loses nothing.
    """
    engine = open_study_db(target)
    try:
        serve_wsgi(create_app(engine), name="facebench study", host=host, port=port, threads=threads,
                   notes=("admin page at /admin (Ctrl-C stops)",), out=out)
    finally:
        engine.dispose()


def serve_wsgi(
    app: Any,
    *,
    name: str,
    host: str = "127.0.0.1",
    port: int = 8765,
    threads: int = 8,
    notes: Sequence[str] = (),
    out: TextIO = sys.stdout,
) -> None:
    """Serve a WSGI ``app`` with waitress until Ctrl-C or SIGTERM (shared by the study and the
    studio). Prints ``NAME: serving http://HOST:PORT`` (the real port when ``port`` is 0) once
    the socket listens, then each of ``notes``, and ``NAME: stopped`` at the end."""
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads, ident=name.replace(" ", "-"))
    shown = "[" + host + "]" if ":" in host else host
    print(f"{name}: serving http://{shown}:{server.effective_port}", file=out, flush=True)
    for note in notes:
        print(f"{name}: {note}", file=out, flush=True)

    def _stop(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop) if main else None
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if main:
            signal.signal(signal.SIGTERM, previous)
        server.close()
        print(f"{name}: stopped", file=out, flush=True)


class ServerProcess:
    """``facebench study serve`` in a child process on a free loopback port, or any other
    command that prints ``serving http://...`` when it listens (``command``: the arguments after
    the Python executable, e.g. ``["-m", "facebench", "studio", "--port", "0"]``)."""

    def __init__(self, target: str = "", port: int = 0, threads: int = 16,
                 command: Sequence[str] | None = None) -> None:
        self.target, self.port, self.threads = target, port, threads
        self.command = list(command) if command is not None else None
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout: float = 60.0) -> str:
        """Start the server and wait for its "serving" line; returns the base URL."""
        cmd = [sys.executable] + (self.command or [
            "-m", "facebench.study", "serve", "--db", self.target,
            "--port", str(self.port), "--threads", str(self.threads)])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        seen = []
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            m = re.search(r"serving (http://\S+)", line)
            if m:
                self.url = m.group(1)
                self.port = urlsplit(self.url).port or self.port
                threading.Thread(target=self._drain, daemon=True).start()
                return self.url
        self.kill()
        raise RuntimeError("server did not start: " + "".join(seen)[-2000:])

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:  # kept (last 200 lines) for tests that read the server's log
            self.output.append(line)
            del self.output[:-200]

    def kill(self) -> None:
        """SIGKILL (a crash: nothing is flushed that was not committed)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM (a clean stop)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
