"""Load test on loopback: many simulated raters submit at once, the server is killed and restarted,
then they carry on; afterwards every acknowledged rating must be in the database exactly once.

Each simulated rater is a thread with its own keep-alive HTTP connection that does what a browser
does: GET the rating page, read the item id from it, POST the scores (and, on its first item and every tenth after,
POSTs the same item again like a double click, which must be refused with 409). The server runs in
its own process (``facebench study serve``); the restart is a SIGKILL, the harshest case: only what
was committed survives, and a rating counts as acknowledged only once its 303 answer arrived.
"""

from __future__ import annotations

import http.client
import random
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import numpy as np
import sqlalchemy as sa

from . import db, store
from .definition import parse_study
from .server import ServerProcess

_ITEM_RE = re.compile(r'name="item_id" value="(\d+)"')
_CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
_DIM_RE = re.compile(r'name="score_([a-z0-9_]+)"')


@dataclass
class LoadResult:
    """What a load test measured and verified."""

    raters: int
    seconds: float
    acknowledged: int = 0            # items whose POST got a 303
    replays_refused: int = 0         # double submissions answered 409
    replays_accepted: int = 0        # double submissions wrongly accepted (must be 0)
    errors: int = 0                  # failed requests while the server was up (must be 0)
    errors_while_down: int = 0       # connection refused etc. between the kill and the restart
    lost: int = 0                    # acknowledged but missing or changed in the database
    duplicated: int = 0              # (rater, item, dimension) rows stored more than once
    unacknowledged_stored: int = 0   # committed but the answer never arrived (killed mid-request)
    after_restart: int = 0           # items acknowledged after the restart
    post_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)

    def percentiles(self) -> dict[str, dict[str, float]]:
        """p50 / p90 / p99 / max latency in ms of the GET (page) and POST (rating) requests."""
        out = {}
        for name, xs in (("GET rate page", self.get_ms), ("POST rating", self.post_ms)):
            a = np.asarray(xs) if xs else np.asarray([np.nan])
            out[name] = {"n": float(len(xs)), "p50": float(np.nanpercentile(a, 50)),
                         "p90": float(np.nanpercentile(a, 90)), "p99": float(np.nanpercentile(a, 99)),
                         "max": float(np.nanmax(a))}
        return out

    def report(self) -> str:
        """A small table for the terminal."""
        lines = [
            f"raters {self.raters}, {self.seconds:.0f} s + restart + more: "
            f"{self.acknowledged} items acknowledged ({self.after_restart} after the restart), "
            f"{self.acknowledged / max(self.seconds, 1e-9):.1f} items/s",
            f"lost {self.lost}, duplicated {self.duplicated}, replays refused "
            f"{self.replays_refused} / accepted {self.replays_accepted}, failed requests "
            f"{self.errors} (+{self.errors_while_down} while restarting), stored but "
            f"unacknowledged {self.unacknowledged_stored}",
            f"{'request':<14} {'n':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}",
        ]
        for name, p in self.percentiles().items():
            lines.append(f"{name:<14} {p['n']:>7.0f} {p['p50']:>8.1f} {p['p90']:>8.1f} "
                         f"{p['p99']:>8.1f} {p['max']:>8.1f}")
        return "\n".join(lines)


def make_load_study(folder: Path, *, raters: int, items_per_group: int, groups: int = 5):
    """A two-dimension study (quality + correspondence) over one small sample photo."""
    from PIL import Image

    from ..samples import astronaut_path

    folder.mkdir(parents=True, exist_ok=True)
    img = folder / "face.jpg"
    Image.open(astronaut_path()).convert("RGB").resize((96, 96)).save(img, quality=90)
    data = {
        "name": "load test",
        "seed": 1,
        "dimensions": ["quality", "correspondence"],
        "practice": [{"key": "practice-1", "image": img.name, "prompt": "an astronaut"}],
        "groups": {
            f"g{g}": [{"key": f"g{g}-{i}", "image": img.name, "prompt": f"portrait {i}"}
                      for i in range(items_per_group)]
            for g in range(groups)
        },
        "raters": raters,
    }
    return parse_study(data, folder, str(folder / "load.yaml"))


class _Client:
    """One simulated rater (one keep-alive connection)."""

    def __init__(self, host: str, port: int, token: str, seed: int) -> None:
        self.host, self.port, self.token = host, port, token
        self.rng = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None
        self.acked: dict[int, dict[str, float]] = {}
        self.after_restart = 0
        self.cookie = ""  # the CSRF cookie, sent back like a browser does

    def _request(self, method: str, path: str, body: str | None = None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
            set_cookie = resp.getheader("Set-Cookie")
            if set_cookie:
                self.cookie = set_cookie.split(";", 1)[0]
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return resp.status, data


def run_loadtest(
    *,
    raters: int = 50,
    seconds: float = 30.0,
    after_seconds: float | None = None,
    target: str | None = None,
    threads: int = 16,
    out: TextIO | None = sys.stdout,
) -> LoadResult:
    """Run the load test: ``raters`` clients for ``seconds``, SIGKILL + restart of the server,
    ``after_seconds`` more (default a third of ``seconds``), then verify the database.

    ``target`` is an empty database (a PostgreSQL URL, say); by default a SQLite file in a
    temporary folder. Returns a :class:`LoadResult`; ``lost`` and ``duplicated`` must be 0.
    """
    after = seconds / 3 if after_seconds is None else after_seconds
    with tempfile.TemporaryDirectory(prefix="facebench-load-") as tmp:
        tmpd = Path(tmp)
        per_group = max(20, int(seconds + after) * 8)
        study = make_load_study(tmpd / "images", raters=raters, items_per_group=per_group)
        target = target or str(tmpd / "load.db")
        engine = db.make_engine(target, create=True)
        try:
            _secret, invites = store.create_study(engine, study)
        finally:
            engine.dispose()
        server = ServerProcess(target, threads=threads)
        url = server.start()
        host, port = urlsplit(url).hostname or "127.0.0.1", server.port
        result = LoadResult(raters=raters, seconds=seconds + after)
        lock = threading.Lock()
        phase = {"restarted": False, "down": False}
        stop = threading.Event()
        clients = [_Client(host, port, inv.token, i) for i, inv in enumerate(invites)]

        def work(c: _Client) -> None:
            posted_tutorial = False
            while not stop.is_set():
                try:
                    if not posted_tutorial:
                        _st, page = c._request("GET", f"/r/{c.token}/tutorial")
                        tok = _CSRF_RE.search(page)
                        st, _ = c._request("POST", f"/r/{c.token}/tutorial",
                                           f"csrf_token={tok.group(1) if tok else ''}")
                        posted_tutorial = st == 303
                        continue
                    c.port = server.port
                    t0 = time.perf_counter()
                    st, page = c._request("GET", f"/r/{c.token}/rate")
                    with lock:
                        result.get_ms.append((time.perf_counter() - t0) * 1000)
                    m = _ITEM_RE.search(page)
                    if st != 200 or m is None:
                        if "Thank you" in page:
                            return
                        raise OSError(f"GET status {st}")
                    iid = int(m.group(1))
                    scores = {d: round(c.rng.uniform(0, 5), 2) for d in _DIM_RE.findall(page)}
                    tok = _CSRF_RE.search(page)
                    body = "&".join([f"item_id={iid}", "elapsed_ms=1200", f"csrf_token={tok.group(1) if tok else ''}"]
                                    + [f"score_{d}={v:.2f}" for d, v in scores.items()])
                    t0 = time.perf_counter()
                    st, _ = c._request("POST", f"/r/{c.token}/rate", body)
                    with lock:
                        result.post_ms.append((time.perf_counter() - t0) * 1000)
                    if st == 303:
                        c.acked[iid] = scores
                        if phase["restarted"]:
                            c.after_restart += 1
                        # a double click: on each rater's first acknowledged rating (so every
                        # rater tries one however slow the machine), then on every tenth
                        if len(c.acked) % 10 == 1:
                            st2, _ = c._request("POST", f"/r/{c.token}/rate", body)
                            with lock:
                                if st2 == 409:
                                    result.replays_refused += 1
                                elif st2 == 303:
                                    result.replays_accepted += 1
                    elif st != 409:
                        raise OSError(f"POST status {st}")
                except (OSError, http.client.HTTPException):
                    with lock:
                        if phase["down"]:
                            result.errors_while_down += 1
                        else:
                            result.errors += 1
                    time.sleep(0.05)

        workers = [threading.Thread(target=work, args=(c,), daemon=True) for c in clients]
        for w in workers:
            w.start()
        time.sleep(seconds)
        phase["down"] = True
        server.kill()
        phase["restarted"] = True
        server.port = port
        url = server.start()
        time.sleep(1.0)  # requests that failed just before the restart finish their back-off
        phase["down"] = False
        time.sleep(after)
        stop.set()
        for w in workers:
            w.join(60)
        server.stop()
        _verify(target, invites, clients, result)
    if out is not None:
        print(result.report(), file=out, flush=True)
    return result


def _verify(target: str, invites: list[store.Invite], clients: list[_Client],
            result: LoadResult) -> None:
    engine = db.make_engine(target)
    try:
        with db.read(engine) as conn:
            rows = conn.execute(
                sa.select(db.ratings.c.rater_id, db.ratings.c.item_id, db.ratings.c.dimension,
                          db.ratings.c.score)
            ).all()
            dup = conn.execute(
                sa.select(sa.func.count()).select_from(
                    sa.select(db.ratings.c.rater_id).group_by(
                        db.ratings.c.rater_id, db.ratings.c.item_id, db.ratings.c.dimension
                    ).having(sa.func.count() > 1).subquery()
                )
            ).scalar()
    finally:
        engine.dispose()
    stored: dict[tuple[int, int], dict[str, float]] = {}
    for rid, iid, dim, score in rows:
        stored.setdefault((rid, iid), {})[dim] = float(score)
    result.duplicated = int(dup or 0)
    acked_keys = set()
    for inv, c in zip(invites, clients):
        for iid, scores in c.acked.items():
            acked_keys.add((inv.rater_id, iid))
            got = stored.get((inv.rater_id, iid))
            if got is None or any(abs(got.get(d, -1) - v) > 1e-9 for d, v in scores.items()):
                result.lost += 1
        result.acknowledged += len(c.acked)
        result.after_restart += c.after_restart
    result.unacknowledged_stored = len(set(stored) - acked_keys)
