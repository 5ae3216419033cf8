"""``facebench demo`` end to end (a small variant), its cached rerun, and its HTML report in chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facebench.cli import main

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SMALL = ["--samples", "feat_happy,astronaut", "--expressions", "happy,surprised,confused", "--alphas", "0:1:3",
         "--no-progress"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["demo", "--out", str(out), *SMALL])
    return rc, buf.getvalue(), out


def test_demo_prints_the_leaderboard_and_where_the_report_is(demo):
    rc, text, out = demo
    assert rc == 0
    assert "| offline | offline | linear |" in text and "not judged" in text
    assert f"report: {(out / 'report.html').resolve()}" in text
    for name in ("report.html", "leaderboard.md", "leaderboard.csv", "leaderboard.json", "results.parquet",
                 "cache.sqlite", "per_expression.csv", "curve.csv"):
        assert (out / name).is_file(), name
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["rows"][0]["edits"] == 2 * 3 * 3 and board["rows"][0]["failed"] == 0


def test_demo_rerun_uses_the_cache(demo, capsys):
    rc, text, out = demo
    assert main(["demo", "--out", str(out), *SMALL]) == 0
    assert "computed {'edits': 0, 'judgements': 0, 'identity': 0}" in capsys.readouterr().out


def test_demo_drops_what_other_component_versions_cached(demo, capsys):
    """An upgrade changes the editor's (or judge's) fingerprint: the old records and their images
    are never read again, so a rerun deletes them instead of letting the cache grow."""
    from facebench.base import imagecodec
    from facebench.base.imageio import image_hash
    from facebench.base.store import Store

    rc, text, out = demo
    st = Store(out / "cache.sqlite")
    old = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    st.put_edit("older-editor", {"hash": image_hash(old), "seconds": 0.1, "info": {},
                                 "component": '["editor", "offline", {}, "0.0.1", null]'}, imagecodec.encode(old))
    st.put("judgement", "older-judge", {"scores": {}, "info": {}, "seconds": 0.1,
                                        "component": '["judge", "offline", {}, null, "offline:v0"]'})
    other = '["editor", "pixelsmile", {}, "0.0.1", null]'  # another editor's run in the same cache
    st.put_edit("other-editor", {"hash": image_hash(old[::-1]), "seconds": 0.1, "info": {}, "component": other},
                imagecodec.encode(np.ascontiguousarray(old[::-1])))
    edits = st.count("edit")
    assert main(["demo", "--out", str(out), *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "dropped 2 cached records of other component versions (edit 1, judgement 1)" in printed
    assert st.get("edit", "older-editor") is None and not st.has_image(image_hash(old))
    assert st.count("edit") == edits - 1 and st.get("judgement", "older-judge") is None
    assert st.get("edit", "other-editor") is not None  # other components' records are not the demo's to drop
    assert "computed {'edits': 0, 'judgements': 0, 'identity': 0}" in printed  # the current ones all stayed


def test_report_renders_in_headless_chromium(demo, tmp_path):
    rc, text, out = demo
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto((out / "report.html").resolve().as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate("[...document.images].map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
        sections = page.evaluate("[...document.querySelectorAll('h2')].map(h => h.id)")
        board = page.locator("#leaderboard ~ div.scroll table").first.inner_text()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert [r for r in requests if not r.startswith("file:") and not r.startswith("data:")] == []  # self-contained
    assert len(images) >= 4 and all(ok and w > 100 and h > 100 for _, ok, w, h in images), images
    assert {"slider strips of offline", "confusion heatmap", "ID similarity vs expression score"} <= {a for a, *_ in images}
    assert sections == ["leaderboard", "expressions", "confusion", "curves", "strips", "agreement", "failures"]
    assert "offline" in board and "not judged" in board
    assert overflow <= 0  # wide tables scroll inside their box, the page does not
    shot = np.asarray(Image.open(tmp_path / "report.png").convert("L"), dtype=np.float64)
    assert shot.shape[1] == 1280 and shot.shape[0] > 3000 and shot.std() > 20
