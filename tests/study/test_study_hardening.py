"""Study app hardening: overflow values answer 400 (not 500), every form carries a CSRF token and a
POST without a valid one is refused, failed admin logins are rate-limited."""

from __future__ import annotations

import re

import pytest

from facebench.study import db, store
from facebench.study.app import create_app
from facebench.study.definition import load_study
from facebench.study.security import CSRF_COOKIE, AttemptLimiter
from study_helpers import study_data, write_study

TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
ITEM_RE = re.compile(r'name="item_id" value="(\d+)"')
SCORES = {"score_quality": "2.50", "score_id_fidelity": "4.25", "score_correspondence": "1.00"}


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def study(images, tmp_path):
    engine = db.make_engine(tmp_path / "h.db", create=True)
    secret, invites = store.create_study(engine, load_study(write_study(images, study_data())))
    clock = Clock()
    app = create_app(engine, login_limiter=AttemptLimiter(limit=3, window=60, global_limit=10, clock=clock))
    yield app, secret, {i.name: i.token for i in invites}, clock
    engine.dispose()


def _token(client, path: str) -> str:
    return TOKEN_RE.search(client.get(path).get_data(as_text=True)).group(1)


def _to_main(client, tok: str) -> str:
    """Tutorial read, practice rated; returns the first main page."""
    assert client.post(f"/r/{tok}/tutorial", data={"csrf_token": _token(client, f"/r/{tok}/tutorial")}).status_code == 303
    while True:
        page = client.get(f"/r/{tok}/rate").get_data(as_text=True)
        if "Practice" not in page.split("<main", 1)[0]:
            return page
        form = {"item_id": ITEM_RE.search(page).group(1), "csrf_token": TOKEN_RE.search(page).group(1), **SCORES}
        assert client.post(f"/r/{tok}/rate", data=form).status_code == 303


@pytest.mark.parametrize("field,value", [("elapsed_ms", "1e400"), ("elapsed_ms", "nan"), ("elapsed_ms", "-inf"),
                                         ("item_id", str(2**63)), ("item_id", str(2**64 + 5)),
                                         ("item_id", "-1"), ("item_id", "9" * 5000)])
def test_overflow_values_are_a_400(study, field, value):
    app, _, toks, _ = study
    client = app.test_client()
    page = _to_main(client, toks["alice"])
    form = {"item_id": ITEM_RE.search(page).group(1), "csrf_token": TOKEN_RE.search(page).group(1),
            "elapsed_ms": "1200", **SCORES, field: value}
    r = client.post(f"/r/{toks['alice']}/rate", data=form)
    assert r.status_code == 400, (field, value, r.status_code)
    assert ITEM_RE.search(client.get(f"/r/{toks['alice']}/rate").get_data(as_text=True))  # nothing stored


@pytest.mark.parametrize("path", ["/img/{big}/image", "/feedback/{big}"])
def test_ids_beyond_64_bits_in_urls_are_a_404(study, path):
    app, _, toks, _ = study
    r = app.test_client().get(f"/r/{toks['alice']}" + path.format(big=2**64))
    assert r.status_code == 404


def test_every_form_carries_a_csrf_token(study):
    app, _, toks, _ = study
    client = app.test_client()
    tok = toks["bob"]
    pages = [client.get(f"/r/{tok}/tutorial"), client.get("/admin")]
    _to_main(client, tok)
    pages.append(client.get(f"/r/{tok}/rate"))
    for r in pages:
        html = r.get_data(as_text=True)
        forms = html.count("<form")
        assert forms >= 1 and len(TOKEN_RE.findall(html)) == forms, r.request.path
    cookie = pages[0].headers["Set-Cookie"]
    assert cookie.startswith(CSRF_COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_posts_without_a_valid_token_are_refused(study):
    app, secret, toks, _ = study
    tok = toks["carol"]
    client = app.test_client()
    good = _token(client, f"/r/{tok}/tutorial")
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "0" * 64}, {"csrf_token": good[:-1] + "x"}):
        r = client.post(f"/r/{tok}/tutorial", data=data)
        assert r.status_code == 403 and "form has expired" in r.get_data(as_text=True)
    # a token is bound to its cookie: another browser's token does not work with this cookie
    other = app.test_client()
    foreign = _token(other, "/admin")
    assert client.post(f"/r/{tok}/tutorial", data={"csrf_token": foreign}).status_code == 403
    # and no cookie at all (a cross-site POST carries no SameSite=Strict cookie)
    bare = app.test_client(use_cookies=False)
    assert bare.post("/admin/login", data={"secret": secret, "csrf_token": good}).status_code == 403
    assert client.post("/admin/login", data={"secret": secret}).status_code == 403
    assert client.post("/admin/login", data={"secret": secret, "csrf_token": good}).status_code == 303
    assert client.post(f"/r/{tok}/tutorial", data={"csrf_token": good}).status_code == 303


def test_admin_login_attempts_are_rate_limited(study):
    app, secret, _, clock = study
    client = app.test_client()
    csrf = _token(client, "/admin")
    for _ in range(3):
        assert client.post("/admin/login", data={"secret": "guess", "csrf_token": csrf}).status_code == 403
    r = client.post("/admin/login", data={"secret": secret, "csrf_token": csrf})  # even the right one
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    assert "Too many failed attempts" in r.get_data(as_text=True)
    # Bearer guesses count too and are refused while limited
    assert client.get("/admin/progress.json", headers={"Authorization": f"Bearer {secret}"}).status_code == 429
    clock.t += 61
    assert client.post("/admin/login", data={"secret": secret, "csrf_token": csrf}).status_code == 303
    api = app.test_client(use_cookies=False)  # a script: no admin cookie
    for _ in range(3):
        assert api.get("/admin/progress.json", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert api.get("/admin/progress.json", headers={"Authorization": f"Bearer {secret}"}).status_code == 429


def test_global_limit_stops_guessing_from_many_addresses(study):
    app, secret, _, clock = study
    client = app.test_client()
    csrf = _token(client, "/admin")
    for i in range(10):
        env = {"REMOTE_ADDR": f"10.0.0.{i}"}
        assert client.post("/admin/login", data={"secret": "guess", "csrf_token": csrf},
                           environ_base=env).status_code == 403
    r = client.post("/admin/login", data={"secret": secret, "csrf_token": csrf}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert r.status_code == 429
    clock.t += 61
    assert client.post("/admin/login", data={"secret": secret, "csrf_token": csrf}).status_code == 303


def test_a_symlink_loop_in_a_study_file_is_one_line(images, tmp_path):
    import shutil

    from facebench.study.definition import StudyDefinitionError

    folder = tmp_path / "imgs"
    shutil.copytree(images, folder)
    (folder / "loop.png").symlink_to("loop.png")
    data = study_data()
    data["groups"]["B"][0]["image"] = "loop.png"
    with pytest.raises(StudyDefinitionError, match="loop.png"):
        load_study(write_study(folder, data))
