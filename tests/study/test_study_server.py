"""The web app over real HTTP (``facebench study serve`` in a child process on a loopback port):
tampering is refused, nothing is injected, a crash + restart loses nothing, concurrent posts do
not overwrite each other."""

from __future__ import annotations

import html
import re
import threading

import markupsafe
import pytest
import sqlalchemy as sa

from facebench.study import db, store
from facebench.study.app import create_app
from facebench.study.definition import RaterSpec, load_study
from facebench.study.server import ServerProcess
from study_helpers import INJECTED, fetch, item_ids, study_data, write_study

ITEM_RE = re.compile(r'name="item_id" value="(\d+)"')
TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SCORES = {"score_quality": "2.50", "score_id_fidelity": "4.25", "score_correspondence": "1.00"}


def _start_main(url: str, token: str) -> None:
    """Tutorial read and practice items rated, over HTTP."""
    assert fetch("POST", f"{url}/r/{token}/tutorial", "")[0] == 303
    while True:
        st, _, page = fetch("GET", f"{url}/r/{token}/rate")
        assert st == 200
        if "Practice" not in page.split("<main", 1)[0]:
            return
        iid = ITEM_RE.search(page).group(1)
        assert fetch("POST", f"{url}/r/{token}/rate", {"item_id": iid, **SCORES})[0] == 303


@pytest.fixture(scope="module")
def served(images, tmp_path_factory):
    """One SQLite study served for the whole module: (url, engine, secret, invites)."""
    target = str(tmp_path_factory.mktemp("served") / "study.db")
    engine = db.make_engine(target, create=True)
    secret, invites = store.create_study(engine, load_study(write_study(images, study_data())))
    invites += store.add_raters(engine, [RaterSpec('<b onmouseover="x()">eve</b>', "A")])
    server = ServerProcess(target)
    url = server.start()
    yield url, engine, secret, {i.name: i for i in invites}
    server.stop()
    engine.dispose()


def test_unknown_and_forged_tokens_get_404(served):
    url, _, _, inv = served
    forged = store.new_token()
    for path in ("", "/tutorial", "/rate", "/pause", "/img/1/image", "/feedback/1"):
        assert fetch("GET", f"{url}/r/{forged}{path}")[0] == 404
    status, _, body = fetch("POST", f"{url}/r/{forged}/rate", {"item_id": "1", **SCORES})
    assert status == 404 and "alice" not in body
    assert fetch("GET", f"{url}/r/{inv['alice'].token[:-1]}")[0] == 404


def test_rater_cannot_see_or_rate_another_groups_items(served):
    url, engine, _, inv = served
    ids = item_ids(engine)
    carol_item = ids["feat_happy"]
    alice = inv["alice"].token
    _start_main(url, alice)
    assert fetch("GET", f"{url}/r/{alice}/img/{carol_item}/image")[0] == 404
    assert fetch("GET", f"{url}/r/{inv['carol'].token}/img/{carol_item}/image")[0] == 200
    status, _, body = fetch("POST", f"{url}/r/{alice}/rate", {"item_id": carol_item, **SCORES})
    assert status == 404 and "not in your assignment" in body
    with db.read(engine) as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(db.ratings)
                         .where(db.ratings.c.item_id == carol_item)).scalar()
    assert n == 0


@pytest.mark.parametrize(
    "form, status, text",
    [
        ({**SCORES, "score_quality": "7"}, 400, "outside [0, 5]"),
        ({**SCORES, "score_quality": "-0.5"}, 400, "outside [0, 5]"),
        ({**SCORES, "score_quality": "nan"}, 400, "not a finite number"),
        ({k: v for k, v in SCORES.items() if k != "score_correspondence"}, 400, "missing score"),
        ({**SCORES, "score_beauty": "3"}, 400, "unknown dimension"),
    ],
)
def test_invalid_scores_are_refused(served, form, status, text):
    url, engine, _, inv = served
    bob = inv["bob"].token
    _start_main(url, bob)  # idempotent: reads the tutorial, rates practice items if any are left
    st, _, page = fetch("GET", f"{url}/r/{bob}/rate")
    iid = ITEM_RE.search(page).group(1)
    got, _, body = fetch("POST", f"{url}/r/{bob}/rate", {"item_id": iid, **form})
    assert got == status and html.escape(text, quote=False) in body
    rater = store.rater_by_token(engine, bob)
    assert store.rater_scores(engine, rater, int(iid)) == {}


def test_prompt_and_names_are_escaped_and_images_served_by_id(served, images):
    url, engine, _, inv = served
    eve = inv['<b onmouseover="x()">eve</b>'].token
    _, headers, page = fetch("GET", f"{url}/r/{eve}/tutorial")
    assert "&lt;b onmouseover=&#34;x()&#34;&gt;eve&lt;/b&gt;" in page and "<b onmouseover" not in page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    _start_main(url, eve)
    seen_injected = False
    ids = {v: k for k, v in item_ids(engine).items()}
    while True:
        st, _, page = fetch("GET", f"{url}/r/{eve}/rate")
        assert st == 200 and "<script>document.title" not in page and "<img src=x" not in page
        m = ITEM_RE.search(page)
        if m is None:
            break
        iid = int(m.group(1))
        if ids[iid] == "feat_anger":
            assert str(markupsafe.escape(INJECTED)) in page  # escaped exactly once
            seen_injected = True
        # the image comes by item id, byte for byte; no file path appears in the page
        st, h, _ = fetch("GET", f"{url}/r/{eve}/img/{iid}/image")
        assert st == 200 and h["Content-Type"].startswith("image/")
        assert str(images) not in page and "_out.jpg" not in page
        assert fetch("POST", f"{url}/r/{eve}/rate", {"item_id": iid, **SCORES})[0] == 303
    assert seen_injected
    for bad in ("/img/1/../../../etc/passwd", "/img/1/secret", "/img/abc/image"):
        assert fetch("GET", f"{url}/r/{eve}{bad}")[0] == 404


def test_admin_needs_its_secret(served):
    url, _, secret, _ = served
    st, _, body = fetch("GET", f"{url}/admin")
    assert st == 401 and "alice" not in body
    assert fetch("GET", f"{url}/admin/progress.json")[0] == 403
    assert fetch("GET", f"{url}/admin/progress.json", headers={"Authorization": "Bearer nope"})[0] == 403
    assert fetch("POST", f"{url}/admin/login", {"secret": secret + "x"})[0] == 403
    assert fetch("GET", f"{url}/admin", headers={"Cookie": "facebench_admin=forged"})[0] == 401
    st, headers, _ = fetch("POST", f"{url}/admin/login", {"secret": secret})
    assert st == 303
    cookie = headers["Set-Cookie"].split(";")[0]
    assert secret not in cookie and "HttpOnly" in headers["Set-Cookie"]
    st, _, body = fetch("GET", f"{url}/admin", headers={"Cookie": cookie})
    assert st == 200 and "alice" in body and "carol" in body and "&lt;b onmouseover" in body
    assert "<td>A</td><td>3</td>" in body and "<td>B</td><td>2</td>" in body  # items per group
    st, _, body = fetch("GET", f"{url}/admin/progress.json",
                        headers={"Authorization": f"Bearer {secret}"})
    assert st == 200 and '"rater":"carol"' in body.replace(" ", "")


def test_double_submission_is_refused_without_change(served):
    url, engine, _, inv = served
    carol = inv["carol"].token
    _start_main(url, carol)
    iid = ITEM_RE.search(fetch("GET", f"{url}/r/{carol}/rate")[2]).group(1)
    assert fetch("POST", f"{url}/r/{carol}/rate", {"item_id": iid, **SCORES})[0] == 303
    st, _, body = fetch("POST", f"{url}/r/{carol}/rate",
                        {"item_id": iid, **SCORES, "score_quality": "0.00"})
    assert st == 409 and "already rated" in body and "Continue rating" in body
    rater = store.rater_by_token(engine, carol)
    assert store.rater_scores(engine, rater, int(iid))["quality"] == 2.5


def test_changed_image_file_is_refused(images, tmp_path):
    import shutil

    data = study_data()
    shutil.copy(images / "feat_anger_out.jpg", tmp_path / "copy.jpg")
    data["groups"]["A"][0]["image"] = str(tmp_path / "copy.jpg")
    engine = db.make_engine(tmp_path / "c.db", create=True)
    _, invites = store.create_study(engine, load_study(write_study(images, data, "c.yaml")))
    client = create_app(engine).test_client()
    iid = item_ids(engine)["feat_anger"]
    tok = invites[0].token  # alice, group A
    assert client.get(f"/r/{tok}/img/{iid}/image").status_code == 200
    (tmp_path / "copy.jpg").write_bytes((images / "feat_disgust_out.jpg").read_bytes())
    resp = client.get(f"/r/{tok}/img/{iid}/image")
    assert resp.status_code == 410 and b"changed or vanished" in resp.data


def test_restart_mid_study_loses_nothing(images, db_target):
    engine = db.make_engine(db_target, create=True)
    _, invites = store.create_study(engine, load_study(write_study(images, study_data())))
    tok = invites[0].token
    server = ServerProcess(db_target)
    url = server.start()
    try:
        _start_main(url, tok)
        first = ITEM_RE.search(fetch("GET", f"{url}/r/{tok}/rate")[2]).group(1)
        assert fetch("POST", f"{url}/r/{tok}/rate", {"item_id": first, **SCORES})[0] == 303
        server.kill()  # a crash, not a clean stop
        url = server.start()
        st, headers, _ = fetch("GET", f"{url}/r/{tok}")
        assert st == 303 and headers["Location"].endswith("/rate")  # tutorial remembered
        st, _, page = fetch("GET", f"{url}/r/{tok}/rate")
        assert "1 of 3 done" in page
        rest = []
        while (m := ITEM_RE.search(fetch("GET", f"{url}/r/{tok}/rate")[2])) is not None:
            rest.append(m.group(1))
            assert fetch("POST", f"{url}/r/{tok}/rate", {"item_id": rest[-1], **SCORES})[0] == 303
        assert first not in rest and len(rest) == 2
        assert "Thank you" in fetch("GET", f"{url}/r/{tok}/rate")[2]
    finally:
        server.stop()
    rater = store.rater_by_token(engine, tok)
    assert store.phase_counts(engine, rater) == {"practice": (2, 2), "main": (3, 3)}
    engine.dispose()


def test_concurrent_posts_never_overwrite(images, db_target):
    data = study_data()
    data["raters"] = 6
    engine = db.make_engine(db_target, create=True)
    _, invites = store.create_study(engine, load_study(write_study(images, data, "conc.yaml")))
    server = ServerProcess(db_target)
    url = server.start()
    try:
        for inv in invites:
            _start_main(url, inv.token)
        # (1) twelve simultaneous submissions of the same item by one rater: one wins
        tok = invites[0].token
        iid = ITEM_RE.search(fetch("GET", f"{url}/r/{tok}/rate")[2]).group(1)
        barrier = threading.Barrier(12)
        results: dict[int, int] = {}

        def same_item(k: int) -> None:
            barrier.wait()
            results[k] = fetch("POST", f"{url}/r/{tok}/rate",
                               {"item_id": iid, **SCORES, "score_quality": f"{k * 0.25:.2f}"})[0]

        threads = [threading.Thread(target=same_item, args=(k,)) for k in range(12)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert sorted(results.values()) == [303] + [409] * 11
        winner = next(k for k, s in results.items() if s == 303)
        rater = store.rater_by_token(engine, tok)
        assert store.rater_scores(engine, rater, int(iid))["quality"] == winner * 0.25

        # (2) every rater posts all remaining items at once from its own thread
        expected: dict[tuple[str, int], float] = {}
        lock = threading.Lock()
        failures: list[int] = []
        barrier2 = threading.Barrier(len(invites))

        def rate_all(inv) -> None:
            barrier2.wait()
            while (m := ITEM_RE.search(fetch("GET", f"{url}/r/{inv.token}/rate")[2])) is not None:
                q = (int(m.group(1)) * 37 + inv.rater_id) % 500 / 100
                st = fetch("POST", f"{url}/r/{inv.token}/rate",
                           {"item_id": m.group(1), **SCORES, "score_quality": f"{q:.2f}"})[0]
                with lock:
                    if st == 303:
                        expected[(inv.name, int(m.group(1)))] = q
                    else:
                        failures.append(st)
                        return

        threads = [threading.Thread(target=rate_all, args=(inv,)) for inv in invites]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert failures == []
    finally:
        server.stop()
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(db.raters.c.name, db.ratings.c.item_id, db.ratings.c.score)
            .select_from(db.ratings.join(db.raters))
            .where(db.ratings.c.phase == "main", db.ratings.c.dimension == "quality")
        ).all()
    stored = {(n, i): s for n, i, s in rows}
    assert len(rows) == len(stored) == sum(len(data["groups"][i.group]) for i in invites)
    for key, q in expected.items():
        assert stored[key] == pytest.approx(q)
    engine.dispose()


def test_multi_stimulus_shows_lq_input_and_ground_truth(images, tmp_path):
    data = {
        "dimensions": ["quality", {"name": "id_fidelity", "stimulus": "multi"}],
        "groups": {"R": [
            {"key": "synthetic", "image": "astronaut_out.jpg", "reference": "feat_anger_out.jpg",
             "ground_truth": "astronaut_ref.png"},
            {"key": "real-world", "image": "feat_happy_out.jpg", "reference": "feat_happy_ref.png"},
        ]},
        "raters": 1,
    }
    engine = db.make_engine(tmp_path / "m.db", create=True)
    _, (inv,) = store.create_study(engine, load_study(write_study(images, data, "multi.yaml")))
    client = create_app(engine).test_client()
    tok = inv.token
    csrf = TOKEN_RE.search(client.get(f"/r/{tok}/tutorial").get_data(as_text=True)).group(1)
    assert client.post(f"/r/{tok}/tutorial").status_code == 403  # no form token
    assert client.post(f"/r/{tok}/tutorial", data={"csrf_token": csrf}).status_code == 303
    seen = set()
    for _ in range(2):
        page = client.get(f"/r/{tok}/rate").get_data(as_text=True)
        iid = int(ITEM_RE.search(page).group(1))
        key = {v: k for k, v in item_ids(engine).items()}[iid]
        figures = re.findall(r'<figure class="extra" data-for="([^"]*)">.*?<figcaption>([^<]*)<',
                             page, re.S)
        if key == "synthetic":
            assert figures == [("id_fidelity", "Low-quality input"), ("id_fidelity", "Ground truth")]
            gt = client.get(f"/r/{tok}/img/{iid}/ground_truth")
            assert gt.data == (images / "astronaut_ref.png").read_bytes()
        else:  # no ground truth: double stimulus
            assert figures == [("id_fidelity", "Low-quality input")]
            assert client.get(f"/r/{tok}/img/{iid}/ground_truth").status_code == 404
        assert 'id="prompt"' not in page  # no dimension shows a prompt
        seen.add(key)
        form = {"item_id": iid, "score_quality": "1", "score_id_fidelity": "2",
                "csrf_token": TOKEN_RE.search(page).group(1)}
        assert client.post(f"/r/{tok}/rate", data=form).status_code == 303
    assert seen == {"synthetic", "real-world"}
    engine.dispose()
