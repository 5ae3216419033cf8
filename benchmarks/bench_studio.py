"""Studio latency: time from a slider change to the new picture, through the real server
(``facebench studio`` in a child process, offline editor, the 512x512 astronaut photo), with 1 and
4 clients at once. Prints p50/p95 in milliseconds.

Two ways of measuring, both with the page's own protocol (client id, sequence number, latest wins):

- ``browser``: headless Chromium pages (Debian's chromium + playwright); each page moves its happy
  slider to a new value, and the page itself times input event -> picture decoded and painted
  (``window.studio.latencies``: the 20 ms debounce included); the next change follows when the
  picture is on screen. Pages run their loops at the same time.
- ``http``: Python threads as clients: GET /api/render -> JPEG received and decoded, and after
  every 10th change the judge/identity read-out, as the page asks when a drag pauses.

Each change uses a new alpha (nothing is served from the render cache).

    python benchmarks/bench_studio.py [--changes 40] [--mode both|browser|http]
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import requests

from facebench.study.browser import headless_chromium
from facebench.study.server import ServerProcess

#: Runs inside a page: ``n`` slider changes, each waiting for the picture (CSP-safe: a function).
PAGE_LOOP = """([n, offset]) => {
  const S = window.studio, s = document.getElementById('s_happy');
  window.benchDone = false;
  (async () => {
    S.latencies.length = 0;
    for (let i = 0; i < n; i++) {
      const before = S.renders;
      const v = (0.05 + ((i * 0.37 + offset) % 1.4)).toFixed(2);
      s.value = v;
      s.dispatchEvent(new Event('input', { bubbles: true }));
      while (S.renders === before) await new Promise((r) => setTimeout(r, 2));
      await new Promise((r) => setTimeout(r, 40));
    }
    window.benchDone = true;
  })();
}"""


def _pct(xs: list[float]) -> tuple[float, float]:
    a = np.asarray(xs, float)
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def bench_browser(url: str, clients: int, changes: int) -> list[float]:
    """Per-change latencies (ms) measured in ``clients`` Chromium pages running at once."""
    with headless_chromium() as browser:
        pages = []
        for k in range(clients):
            page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
            page.goto(url)
            page.click("button.source[data-ref='sample:astronaut']")
            page.wait_for_function("() => window.studio.renders >= 1", timeout=120_000)
            pages.append(page)
        # warm-up: the face's action-unit fields are computed on the first renders
        for k, page in enumerate(pages):
            page.evaluate(PAGE_LOOP, [3, 0.013 * k + 0.5])
        for page in pages:
            page.wait_for_function("() => window.benchDone === true", timeout=120_000)
        for k, page in enumerate(pages):
            page.evaluate(PAGE_LOOP, [changes, 0.013 * k])
        out: list[float] = []
        for page in pages:
            page.wait_for_function("() => window.benchDone === true", timeout=600_000, polling=100)
            out += page.evaluate("() => window.studio.latencies.slice()")
    return out


def bench_http(url: str, clients: int, changes: int) -> list[float]:
    """Per-change latencies (ms): request -> JPEG decoded, ``clients`` threads at once."""
    from io import BytesIO

    from PIL import Image

    key = requests.post(url + "/api/open", data={"ref": "sample:astronaut"}, timeout=120).json()["key"]
    out: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    run = f"{time.time_ns():x}"  # a fresh client id per run (the server remembers sequence numbers)

    def client(k: int) -> None:
        s = requests.Session()
        mine = []
        start.wait()
        for i in range(changes + 3):
            v = 0.05 + ((i * 0.37 + 0.013 * k + 0.007) % 1.4)
            q = {"photo": key, "face": 0, "c": f"happy:{v:.3f}", "client": f"{run}-{k}", "seq": 2 * i}
            t0 = time.perf_counter()
            r = s.get(url + "/api/render", params=q, timeout=120)
            assert r.status_code == 200, (r.status_code, r.text[:200])
            Image.open(BytesIO(r.content)).load()
            if i >= 3:  # the first three warm the face's fields
                mine.append(1000 * (time.perf_counter() - t0))
            if i % 10 == 9:
                s.get(url + "/api/readout", params={**q, "seq": 2 * i + 1}, timeout=300)
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--changes", type=int, default=40, help="slider changes per client (default 40)")
    ap.add_argument("--mode", choices=("both", "browser", "http"), default="both")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    args = ap.parse_args()
    server = ServerProcess(command=["-m", "facebench.studio", "--port", "0", "--no-log", "--threads", "8"])
    url = server.start(timeout=120)
    rows = []
    try:
        requests.post(url + "/api/open", data={"ref": "sample:astronaut"}, timeout=120)
        modes = ("browser", "http") if args.mode == "both" else (args.mode,)
        for mode in modes:
            for n in args.clients:
                fn = bench_browser if mode == "browser" else bench_http
                lat = fn(url, n, args.changes)
                p50, p95 = _pct(lat)
                rows.append((mode, n, len(lat), p50, p95, max(lat)))
    finally:
        server.stop()
    print("facebench studio: slider change -> new picture, offline editor, astronaut 512x512, "
          "milliseconds")
    print("browser = input event -> decoded and painted in Chromium (debounce included); "
          "http = request -> JPEG decoded")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
          + f" on {os.cpu_count()} CPUs")
    print(f"{'mode':>8s} {'clients':>8s} {'changes':>8s} {'p50':>7s} {'p95':>7s} {'max':>7s}")
    for mode, n, k, p50, p95, mx in rows:
        print(f"{mode:>8s} {n:8d} {k:8d} {p50:7.1f} {p95:7.1f} {mx:7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
