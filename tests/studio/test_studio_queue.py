"""Queue mode (``--editor pixelsmile``) on the tiny random PixelSmile pipeline: jobs run one at a
time, a client's newer request supersedes its queued one, progress is reported, the result is
served and downloads reuse it. (The tiny pipeline's pictures are noise: this checks the queue,
not PixelSmile's quality.)"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import requests
from PIL import Image

from studio_helpers import decode, open_sample, start_studio


def _wait(url: str, job: int, timeout: float = 300) -> dict:
    end = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < end:
        p = requests.get(f"{url}/api/jobs/{job}", timeout=30).json()
        seen.add(p["status"])
        if p["status"] in ("done", "failed", "superseded"):
            p["seen"] = seen
            return p
        time.sleep(0.05)
    raise AssertionError(f"job {job} did not finish")


def test_queue_mode_with_tiny_pixelsmile(tiny_pixelsmile, tmp_path):
    server = start_studio([*tiny_pixelsmile, "--no-log"])
    url = server.url
    try:
        page = requests.get(url + "/", timeout=30).text
        assert 'data-mode="queue"' in page and 'id="dl-strip"' not in page
        photo = open_sample(url, "astronaut")
        form = {"photo": photo["key"], "face": 0, "client": "q"}
        jobs = [requests.post(url + "/api/jobs", data={**form, "c": c}, timeout=30).json()
                for c in ("happy:1", "sad:0.5", "surprised:1.5")]
        assert jobs[1]["status"] == "queued" and jobs[1]["ahead"] == 1  # behind the first
        first, second, third = (_wait(url, j["id"]) for j in jobs)
        assert first["status"] == "done" and second["status"] == "superseded" and third["status"] == "done"
        assert first["error"] is None and first["elapsed_s"] > 0 and third["estimate_s"] > 0
        img = requests.get(f"{url}/api/jobs/{jobs[2]['id']}.jpg", timeout=30)
        assert img.status_code == 200
        out = decode(img.content)
        src = decode(requests.get(f"{url}/api/photo/{photo['key']}.jpg", timeout=30).content)
        assert out.shape == src.shape and np.abs(out.astype(int) - src.astype(int)).max() > 20
        # a superseded job has no picture; an unknown job is a 404; the live-only strip says so
        assert requests.get(f"{url}/api/jobs/{jobs[1]['id']}.jpg", timeout=30).status_code == 409
        assert requests.get(f"{url}/api/jobs/999.jpg", timeout=30).json()["error"] == "no job 999"
        strip = requests.get(url + "/api/strip", params={"photo": photo["key"], "e": "happy"}, timeout=30)
        assert strip.status_code == 409 and "queue mode" in strip.json()["error"]
        # the download is the finished job's picture (no second run), with the control embedded
        t0 = time.monotonic()
        png = requests.get(url + "/api/download.png", params={"photo": photo["key"], "face": 0,
                                                               "c": "surprised:1.5"}, timeout=300)
        assert time.monotonic() - t0 < 5
        im = Image.open(io.BytesIO(png.content))
        assert json.loads(im.text["facebench"])["editor"] == "pixelsmile"
        assert np.abs(np.asarray(im.convert("RGB")).astype(int) - out.astype(int)).mean() < 3  # JPEG vs PNG
    finally:
        server.stop()
