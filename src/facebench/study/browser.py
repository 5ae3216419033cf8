"""Headless Chromium for facebench's browser tests and benchmarks: Debian's ``chromium`` driven
by Playwright (``playwright`` is a test dependency; nothing is downloaded)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

#: The browser binary (Debian's package; ``make browser`` installs it).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Headless, no sandbox (containers), nothing fetched in the background.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def headless_chromium() -> Iterator[Any]:
    """A launched Playwright ``Browser``; ``RuntimeError`` (one line) when chromium is missing."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError("chromium is not installed: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
