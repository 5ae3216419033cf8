"""Fixtures for the study tests: small images made from the bundled sample photos, study files,
databases (SQLite, and PostgreSQL when one can be started or is given), HTTP helpers.

PostgreSQL: set FACEBENCH_TEST_POSTGRES_URL (a server where the user may CREATE DATABASE), or
have Debian's ``postgresql`` package installed: a throwaway cluster is then started in a
temporary folder on a free port. Without either, the PostgreSQL variants are skipped with that
reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from facebench.samples import portrait_paths
from facebench.study import db, store
from facebench.study.definition import load_study
from study_helpers import NAMES, fresh_postgres, study_data, write_study


@pytest.fixture(scope="session")
def images(tmp_path_factory) -> Path:
    """Per portrait: ``<name>_ref.png`` (thumbnail, the reference) and ``<name>_out.jpg``
    (blurred and JPEG-compressed copy, the image to rate), both at most 160 px."""
    d = tmp_path_factory.mktemp("study-images")
    paths = portrait_paths()
    for i, n in enumerate(NAMES):
        im = Image.open(paths[n]).convert("RGB")
        im.thumbnail((160, 160))
        im.save(d / f"{n}_ref.png")
        im.filter(ImageFilter.GaussianBlur(1 + i % 3)).save(d / f"{n}_out.jpg", quality=30 + 10 * i)
    return d


# ------------------------------------------------------------------------------------ databases


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_admin_url():
    """A PostgreSQL server URL (given, or a throwaway cluster), or a skip with the reason."""
    given = os.environ.get("FACEBENCH_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    initdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdb:
        pytest.skip("PostgreSQL tests skipped: no server (set FACEBENCH_TEST_POSTGRES_URL or "
                    "apt-get install postgresql)")
    bindir = Path(initdb[-1]).parent
    tmp = Path(tempfile.mkdtemp(prefix="facebench-pg-"))
    data = tmp / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: use the package's system user
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("PostgreSQL tests skipped: running as root and no 'postgres' user")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(run_as + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U",
                             "facebench", "--no-sync"], check=True, capture_output=True)
    subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"), "-w",
                             "-o", f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 "
                             "-c fsync=off -c full_page_writes=off -c max_connections=300", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://facebench@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path) -> str:
    """An empty database: a SQLite file, then (same tests) a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "study.db")
    return fresh_postgres(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def created(images, db_target):
    """A created study: ``(engine, admin_secret, {name: Invite}, study_definition)``."""
    study = load_study(write_study(images, study_data()))
    engine = db.make_engine(db_target, create=True)
    secret, invites = store.create_study(engine, study)
    yield engine, secret, {i.name: i for i in invites}, study
    engine.dispose()
