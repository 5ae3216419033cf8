"""The studio in a real headless Chromium (Debian's, driven by Playwright): open a bundled photo,
pick a face, move the happy slider with the keyboard and the mouse (the picture changes, the
judge's happy bar rises), blend two sliders, download the edit (its PNG carries the sliders), and
get one clear message for a bad upload while the page keeps working. Screenshots are saved in
$FACEBENCH_STUDIO_SHOTS (or the test's temporary folder)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from PIL import Image

from studio_helpers import identity_label, start_studio
from facebench.expressions import EXPRESSIONS
from facebench.study.browser import headless_chromium



@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as b:  # RuntimeError "chromium is not installed: ..." when missing
        yield b


def _shown(page) -> str:
    """SHA-256 of the picture as it is on screen (a screenshot of the <img> element)."""
    return hashlib.sha256(page.locator("#edited").screenshot(animations="disabled")).hexdigest()


def _settled(page, c: str) -> None:
    """Wait until the picture and the judge's bars both show the sliders ``c``."""
    page.wait_for_function("c => document.getElementById('edited').dataset.c === c", arg=c, timeout=60_000)
    page.wait_for_function("c => document.body.dataset.readoutC === c", arg=c, timeout=300_000)


def _bar(page, e: str) -> float:
    return float(page.locator(f"#bars .barrow[data-e={e}]").get_attribute("data-score"))


def test_studio_in_chromium(browser, tmp_path):
    shots = Path(os.environ.get("FACEBENCH_STUDIO_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    server = start_studio(["--log", str(tmp_path / "log.jsonl")])
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page = ctx.new_page()
        failed: list[tuple[str, int]] = []
        page.on("response", lambda r: failed.append((r.url.split("/", 3)[3], r.status)) if r.status >= 400 else None)
        page.goto(server.url)
        assert page.title() == "facebench studio"
        # open the group photo, pick its smallest face (the least smiling one)
        page.click("button.source[data-ref='sample:feat_group']")
        page.wait_for_function("() => document.body.dataset.renders >= 1", timeout=120_000)
        faces = page.locator("#faces button.face")
        assert faces.count() == 5 and "5 face(s)" in page.locator("#message").inner_text()
        faces.nth(4).click()
        assert "current" in faces.nth(4).get_attribute("class")
        _settled(page, "")
        neutral_img, happy0 = _shown(page), _bar(page, "happy")
        assert page.locator("#bars .barrow[data-e=confused] .val").inner_text() == "not judged"
        assert page.locator("#id-label").inner_text() == identity_label()
        page.screenshot(path=str(shots / "studio-neutral.png"))

        # keyboard: focus happy, ten ArrowRight steps of 0.05 -> 0.5
        page.focus("#s_happy")
        for _ in range(10):
            page.keyboard.press("ArrowRight")
        assert page.locator("#o_happy").inner_text() == "0.50"
        _settled(page, "happy:0.5")
        kb_img, happy_kb = _shown(page), _bar(page, "happy")
        assert kb_img != neutral_img and happy_kb > happy0, (happy0, happy_kb)
        assert "happy" in page.locator("#strip-expr").inner_text()
        assert page.locator("#strip").evaluate("i => i.complete && i.naturalWidth") > 0

        # mouse: click on the happy slider's track at about a third (alpha ~1)
        box = page.locator("#s_happy").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
        v = float(page.locator("#s_happy").input_value())
        assert 0.8 <= v <= 1.2, v
        _settled(page, f"happy:{v:g}")
        mouse_img, happy_mouse = _shown(page), _bar(page, "happy")
        assert mouse_img not in (neutral_img, kb_img) and happy_mouse > happy0 + 0.2, (happy0, happy_mouse)
        page.screenshot(path=str(shots / "studio-happy.png"))

        # mouse drag: the picture follows while dragging, and requests never pile up
        sent0, shown0 = page.evaluate("() => [window.studio.renderRequests, window.studio.renders]")
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] / 3, y)
        page.mouse.down()
        for k in range(1, 13):
            page.mouse.move(box["x"] + box["width"] * (1 / 3 - k / 60), y)
            page.wait_for_timeout(80)
        page.mouse.up()
        v = float(page.locator("#s_happy").input_value())
        assert 0.25 <= v <= 0.55, v
        _settled(page, f"happy:{v:g}")
        sent, shown = page.evaluate("() => [window.studio.renderRequests, window.studio.renders]")
        assert shown - shown0 >= 3, (shown0, shown)  # several pictures while the mouse moved
        # at most one render request per move (+ the settle): requests never pile up. Read-outs
        # are not counted: a loaded machine leaves gaps > 150 ms between moves, each may start one
        assert sent - sent0 <= 12 + 1, (sent0, sent)
        assert 0 < _bar(page, "happy") and _shown(page) not in (neutral_img, kb_img, mouse_img)
        v_drag = v

        # a blend: surprised too (keyboard, PageUp = +0.5 steps in Chromium's range input)
        page.focus("#s_surprised")
        for _ in range(12):
            page.keyboard.press("ArrowRight")
        c = f"happy:{v_drag:g},surprised:0.6"
        _settled(page, c)
        assert _shown(page) not in (neutral_img, kb_img, mouse_img)
        assert page.locator("#strip-expr").inner_text() == "surprised"
        page.screenshot(path=str(shots / "studio-blend.png"), full_page=True)

        # download: the PNG carries exactly the sliders on the page
        sliders = {e: float(page.locator(f"#s_{e}").input_value()) for e in EXPRESSIONS}
        with page.expect_download() as dl:
            page.click("#dl-png")
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        assert path.suffix == ".png"
        meta = json.loads(Image.open(path).text["facebench"])
        assert meta["sliders"] == sliders and meta["face"] == 4 and meta["c"] == c

        # neutral reset brings the original back
        page.click("#reset")
        _settled(page, "")
        assert _shown(page) == neutral_img

        # a bad upload: one clear message, and the page still works afterwards
        bad = tmp_path / "report.png"
        bad.write_text("this is not a picture")
        page.set_input_files("#upload", str(bad))
        page.wait_for_function("() => document.getElementById('message').classList.contains('error')")
        assert page.locator("#message").inner_text() == "report.png: not an image (Pillow cannot identify the format)"
        page.screenshot(path=str(shots / "studio-bad-upload.png"))
        page.click("button.source[data-ref='sample:astronaut']")
        page.wait_for_function("() => document.getElementById('message').textContent.startsWith('astronaut.png')")
        page.focus("#s_sad")
        page.keyboard.press("End")
        _settled(page, "sad:3")
        assert not page.locator("#message").evaluate("m => m.classList.contains('error')")
        assert [f for f in failed if f[0] != "favicon.ico"] == [("api/upload", 400)], failed
        ctx.close()
    finally:
        server.stop()


def test_queue_mode_page_shows_progress_and_the_result(browser, tiny_pixelsmile, tmp_path):
    shots = Path(os.environ.get("FACEBENCH_STUDIO_SHOTS", tmp_path))
    server = start_studio([*tiny_pixelsmile, "--no-log"])
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(server.url)
        assert page.locator("#editor-name").inner_text() == "pixelsmile"
        page.click("button.source[data-ref='sample:astronaut']")
        page.wait_for_function("() => document.body.dataset.job === 'done'", timeout=300_000)
        first = _shown(page)
        page.focus("#s_happy")
        page.keyboard.press("End")
        page.wait_for_function("() => document.getElementById('edited').dataset.c === 'happy:3'", timeout=300_000)
        assert page.locator("#queue").is_visible() and page.locator("#job-status").inner_text() == "done"
        assert page.locator("#job-progress").evaluate("p => p.value") == 1
        assert _shown(page) != first
        page.wait_for_function("() => document.body.dataset.readoutC === 'happy:3'", timeout=300_000)
        page.screenshot(path=str(shots / "studio-queue.png"))
    finally:
        server.stop()
