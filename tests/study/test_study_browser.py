"""End to end in a real headless Chromium (Debian's, driven by Playwright): a rater reads the
tutorial, rates the practice items (with feedback), pauses, resumes and rates their group with the
keyboard; the export holds exactly the ratings typed, and its MOS equals the metrics module's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from facebench.study.__main__ import main as study_main
from facebench.metrics.mos import mos_table
from facebench.study import db, store
from facebench.study.definition import load_study
from facebench.study.browser import headless_chromium
from facebench.study.server import ServerProcess
from study_helpers import INJECTED, fetch, item_ids, study_data, write_study

DIMS = ["quality", "id_fidelity", "correspondence"]

#: What alice types, per item key (main items) -- two decimals, all different.
ALICE = {
    "feat_anger": {"quality": 1.37, "id_fidelity": 4.02, "correspondence": 2.5},
    "feat_disgust": {"quality": 3.91, "id_fidelity": 0.45, "correspondence": 4.76},
    "astronaut": {"quality": 2.08, "id_fidelity": 3.3, "correspondence": 0.99},
}
PRACTICE = {
    "practice-surprise": {"quality": 2.2, "id_fidelity": 3.15, "correspondence": 4.0},
    "practice-happy": {"quality": 0.5, "id_fidelity": 1.75, "correspondence": 3.33},
}
#: What bob (same group, over plain HTTP) and carol (group B) give.
BOB = {"feat_anger": [2.0, 3.5, 1.25], "feat_disgust": [4.4, 1.0, 3.8], "astronaut": [3.1, 2.6, 0.3]}
CAROL = {"feat_happy": [1.0, 2.0, 3.0], "feat_surprise": [4.0, 2.5, 0.5]}


def _type_value(page, value: float) -> None:
    """Set the focused slider with keys only: Home, the whole digit, tenths, Shift+hundredths."""
    cents = round(value * 100)
    page.keyboard.press("Home")
    page.keyboard.press(str(cents // 100))
    for _ in range(cents % 100 // 10):
        page.keyboard.press("ArrowRight")
    for _ in range(cents % 10):
        page.keyboard.press("Shift+ArrowRight")


def _rate_current(page, ids: dict[int, str], table: dict, shots: Path | None = None) -> str:
    """Rate the item on screen with the keyboard (Tab between sliders, Enter submits)."""
    key = ids[int(page.locator("input[name=item_id]").get_attribute("value"))]
    assert page.evaluate("document.activeElement.id") == "s_quality"  # autofocus
    for k, dim in enumerate(DIMS):
        if k:
            page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"s_{dim}"
        _type_value(page, table[key][dim])
        assert page.locator(f"#o_{dim}").inner_text() == f"{table[key][dim]:.2f}"
        # the reference shows only for ID fidelity, the prompt only for correspondence
        assert page.locator("figure.extra").is_visible() == (dim == "id_fidelity")
        assert page.locator("#prompt").is_visible() == (dim == "correspondence")
        if shots is not None and dim == "id_fidelity":
            page.screenshot(path=str(shots / "rate-id-fidelity.png"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return key


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as b:  # RuntimeError "chromium is not installed: ..." when missing
        yield b


def test_rater_completes_study_in_chromium_and_export_matches(browser, images, tmp_path):
    target = str(tmp_path / "study.db")
    engine = db.make_engine(target, create=True)
    _, invites = store.create_study(engine, load_study(write_study(images, study_data())))
    inv = {i.name: i for i in invites}
    ids = {v: k for k, v in item_ids(engine).items()}
    shots = Path(os.environ.get("FACEBENCH_STUDY_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(target)
    url = server.start()
    try:
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        page = ctx.new_page()
        page.goto(inv["alice"].link(url))
        assert page.url.endswith("/tutorial")
        assert page.get_by_text("Blurred but clearly the same person.").is_visible()
        page.screenshot(path=str(shots / "tutorial.png"), full_page=True)
        page.click("#start")

        # practice 1: Enter with a slider unset is refused on the page, focus goes to it
        assert "Practice" in page.locator("header").inner_text()
        first_url = page.url
        key = ids[int(page.locator("input[name=item_id]").get_attribute("value"))]
        _type_value(page, PRACTICE[key]["quality"])
        page.keyboard.press("Enter")
        assert page.url == first_url and "Please set" in page.locator("#message").inner_text()
        assert page.evaluate("document.activeElement.id") == "s_id_fidelity"
        page.reload()
        for _ in PRACTICE:
            key = _rate_current(page, ids, PRACTICE)
            if key == "practice-surprise":  # has expert scores: feedback page
                assert "/feedback/" in page.url
                fb = page.locator("#feedback").inner_text()
                assert "2.20" in fb and "2.00" in fb  # yours and the expert's quality
                with page.expect_navigation():
                    page.keyboard.press("Enter")      # "Continue" has the focus

        # first group item, checked at original resolution, then pause and come back later
        img = page.locator("#candidate")
        natural = img.evaluate("i => [i.naturalWidth, i.naturalHeight, i.width, i.height]")
        assert natural[0] == natural[2] and natural[1] == natural[3] and natural[0] > 0
        page.screenshot(path=str(shots / "rate.png"))
        done_keys = [_rate_current(page, ids, ALICE, shots)]
        page.click("a.pause")
        assert "saved" in page.locator("main").inner_text()
        ctx.close()

        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        page = ctx.new_page()
        page.goto(inv["alice"].link(url))
        assert page.url.endswith("/rate") and "1 of 3 done" in page.locator("header").inner_text()
        while page.locator("input[name=item_id]").count():
            if ids[int(page.locator("input[name=item_id]").get_attribute("value"))] == "feat_anger":
                assert page.locator("#prompt").text_content() == "Prompt: " + INJECTED
                assert page.title() != "pwned" and page.locator("#prompt script").count() == 0
            done_keys.append(_rate_current(page, ids, ALICE))
        assert page.locator("#done").is_visible()
        assert sorted(done_keys) == sorted(ALICE)
        ctx.close()

        # bob and carol rate over plain HTTP
        for name, table in (("bob", BOB), ("carol", CAROL)):
            tok = inv[name].token
            assert fetch("POST", f"{url}/r/{tok}/tutorial", "")[0] == 303
            while (m := _item_on(url, tok)) is not None:
                k = ids[m]
                vals = table.get(k, [1.0, 2.0, 3.0])  # practice items: any valid scores
                form = {"item_id": m, **{f"score_{d}": f"{v:.2f}" for d, v in zip(DIMS, vals)}}
                assert fetch("POST", f"{url}/r/{tok}/rate", form)[0] == 303
    finally:
        server.stop()

    out = tmp_path / "export"
    assert study_main(["export", "--db", target, "--out", str(out)]) == 0
    raw = pd.read_csv(out / "ratings.csv")
    assert set(raw["phase"]) == {"main"}  # practice stays out by default
    got = {(r.rater, r.item, r.dimension): r.score for r in raw.itertuples()}
    expected = {("alice", k, d): v for k, dv in ALICE.items() for d, v in dv.items()}
    expected |= {("bob", k, d): v for k, vs in BOB.items() for d, v in zip(DIMS, vs)}
    expected |= {("carol", k, d): v for k, vs in CAROL.items() for d, v in zip(DIMS, vs)}
    assert got == pytest.approx(expected) and len(raw) == len(expected)
    alice_rows = raw[raw.rater == "alice"]
    assert sorted(alice_rows.position.unique()) == [0, 1, 2]
    assert alice_rows.submitted_at.notna().all() and alice_rows.shown_at.notna().all()
    assert (alice_rows.elapsed_ms > 0).all()

    # MOS: what the metrics module gives for the ratings we typed
    groups = {"alice": "A", "bob": "A", "carol": "B"}
    truth = pd.DataFrame([{"subject": s, "item": k, "group": groups[s], "dimension": d,
                           "score": v} for (s, k, d), v in expected.items()])
    ref = mos_table(truth, screening="bt500").set_index(["dimension", "item"]).sort_index()
    exported = pd.read_csv(out / "mos.csv")
    mos = exported.set_index(["dimension", "key"]).sort_index()
    assert list(mos.index) == list(ref.index) and len(mos) == 3 * 5
    for col in ("mos", "std", "se", "ci_low", "ci_high", "n_ratings"):
        assert mos[col].to_numpy() == pytest.approx(ref[col].to_numpy(), rel=1e-12, nan_ok=True)
    assert list(mos["group"]) == list(ref["group"])
    assert (mos["item"] == mos["image"]).all() and mos["image"].str.endswith("_out.jpg").all()
    wide = pd.read_csv(out / "mos_wide.csv")
    assert set(wide.columns) >= {"key", "group", "image", "mos_quality", "mos_id_fidelity",
                                 "mos_correspondence"} and len(wide) == 5

    # ready for `facebench quality correlate`: its loader and join pair every MOS with a score
    from facebench.quality.correlate import join, load_mos, load_scores

    scores = pd.DataFrame({"image": sorted(set(exported["image"])), "metric": "sharpness",
                           "value": range(5)})
    joined = join(load_scores(scores), load_mos(out / "mos.csv"))
    assert len(joined) == 3 * 5 and set(joined["dimension"]) == set(DIMS)


def _item_on(url: str, token: str) -> int | None:
    import re

    page = fetch("GET", f"{url}/r/{token}/rate")[2]
    m = re.search(r'name="item_id" value="(\d+)"', page)
    return int(m.group(1)) if m else None
