"""Load on loopback: 50 simulated raters submit concurrently, the server is SIGKILLed and restarted,
they carry on; no acknowledged rating is lost, none is stored twice, replays are refused.
Latency percentiles are printed (run with -s to see them; `facebench study loadtest` does the same).
"""

from __future__ import annotations

import os

import pytest

from facebench.study.loadtest import run_loadtest
from study_helpers import fresh_postgres

#: Seconds before the restart (the issue asks for 30 on SQLite); PostgreSQL runs a shorter round.
SECONDS = {"sqlite": float(os.environ.get("FACEBENCH_STUDY_LOAD_SECONDS", 30)), "postgresql": 10.0}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_fifty_raters_and_a_crash_lose_nothing(backend, request, capsys):
    target = None
    if backend == "postgresql":
        target = fresh_postgres(request.getfixturevalue("postgres_admin_url"))
    res = run_loadtest(raters=50, seconds=SECONDS[backend], target=target)
    with capsys.disabled():
        print(f"\n[{backend}]\n{res.report()}")
    assert res.acknowledged > 100 and res.after_restart > 0
    assert res.lost == 0 and res.duplicated == 0 and res.errors == 0
    assert res.replays_refused > 0 and res.replays_accepted == 0
    # a request cut by the SIGKILL may have committed without its answer; never more than 50
    assert res.unacknowledged_stored <= 50
    assert len(res.post_ms) >= res.acknowledged
