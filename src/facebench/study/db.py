"""The one data layer of a study: SQLAlchemy Core tables, engines and ordered migrations.

SQLite is the default (a file path or ``sqlite:///study.db``) and runs in WAL mode with full
synchronous commits, foreign keys on and ``BEGIN IMMEDIATE`` for writes, so concurrent writers
queue instead of failing; PostgreSQL is used when given a ``postgresql://`` URL (driver: psycopg).

Migrations: the ``schema_version`` table records every applied step; :data:`MIGRATIONS` lists the
steps in order and :func:`migrate` applies the missing ones, each in its own transaction. A
database written by a newer facebench (a version above the last step) is refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Callable, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..base.errors import UserError

metadata = sa.MetaData()

#: One row per applied migration step.
schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

#: Study-wide settings (name, seed, definition snapshot, admin secret hash) as key/value rows.
study_meta = sa.Table(
    "study_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

dimensions = sa.Table(
    "dimensions",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("stimulus", sa.String(10), nullable=False),
    sa.Column("show_prompt", sa.Boolean, nullable=False),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
)

#: Every image shown: phase is 'tutorial', 'practice' or 'main' (main items belong to a group).
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(500), nullable=False, unique=True),
    sa.Column("phase", sa.String(10), nullable=False),
    sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id"), nullable=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("image_path", sa.Text, nullable=False),
    sa.Column("image_sha256", sa.String(64), nullable=False),
    sa.Column("reference_path", sa.Text, nullable=True),
    sa.Column("reference_sha256", sa.String(64), nullable=True),
    sa.Column("ground_truth_path", sa.Text, nullable=True),
    sa.Column("ground_truth_sha256", sa.String(64), nullable=True),
    sa.Column("prompt", sa.Text, nullable=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("expert_scores", sa.Text, nullable=True),  # JSON {dimension: score}
)

#: Raters: only a SHA-256 of the invite token is stored.
raters = sa.Table(
    "raters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("group_id", sa.Integer, sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("tutorial_done_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
)

#: The presentation order of each rater's practice and main items (randomised per rater, stored).
assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), primary_key=True),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), primary_key=True),
    sa.Column("phase", sa.String(10), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("first_shown_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("rater_id", "phase", "position", name="uq_assignment_position"),
)

#: One row per (rater, item, dimension); write-once (a second submission is refused).
ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), nullable=False),
    sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id"), nullable=False),
    sa.Column("dimension", sa.String(40), sa.ForeignKey("dimensions.name"), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("phase", sa.String(10), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("shown_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("elapsed_ms", sa.Integer, nullable=True),
    sa.UniqueConstraint("rater_id", "item_id", "dimension", name="uq_rating_once"),
)


def _step1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[study_meta, dimensions, groups, items, raters, assignments,
                                      ratings])


def _step2(conn: Connection) -> None:
    # Progress pages count ratings per item; index those lookups. Plain DDL on purpose: a step
    # must not change the table objects that step 1 creates.
    conn.exec_driver_sql("CREATE INDEX ix_ratings_item ON ratings (item_id)")
    conn.exec_driver_sql("CREATE INDEX ix_assignments_item ON assignments (item_id)")


#: Ordered migration steps: (version, description, function(connection)). Append, never edit.
MIGRATIONS: tuple[tuple[int, str, Callable[[Connection], None]], ...] = (
    (1, "study tables: meta, dimensions, groups, items, raters, assignments, ratings", _step1),
    (2, "indexes on ratings.item_id and assignments.item_id", _step2),
)

LATEST_VERSION = MIGRATIONS[-1][0]


class StudyDatabaseError(UserError, RuntimeError):
    """The database cannot be used (missing, too new, not a study); one-line message."""


def now() -> dt.datetime:
    """The current time, timezone-aware UTC (every stored timestamp)."""
    return dt.datetime.now(dt.timezone.utc)


def as_utc(t: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes: read them as UTC."""
    if t is None or t.tzinfo is not None:
        return t
    return t.replace(tzinfo=dt.timezone.utc)


def database_url(target: str | Path) -> str:
    """A SQLAlchemy URL from a URL or a plain file path (-> SQLite file)."""
    s = str(target)
    if "://" in s:
        if s.startswith("postgres://"):
            s = "postgresql://" + s[len("postgres://"):]
        if s.startswith("postgresql://"):
            s = "postgresql+psycopg://" + s[len("postgresql://"):]
        return s
    return f"sqlite:///{Path(s).expanduser().resolve()}"


def _sqlite_begin_listeners(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def make_engine(target: str | Path, *, create: bool = False) -> Engine:
    """An engine for a study database; ``create`` allows a new SQLite file to be made.

    Raises :class:`StudyDatabaseError` when a SQLite file is missing and ``create`` is False.
    """
    url = database_url(target)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            if not create and not Path(path).is_file():
                raise StudyDatabaseError(f"{path}: no study database here (run `facebench study create`)")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=16,
            max_overflow=16,
        )
        _sqlite_begin_listeners(engine)
        return engine
    try:
        return sa.create_engine(url, pool_size=16, max_overflow=16, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StudyDatabaseError(f"{url}: cannot open ({exc})") from None


@contextlib.contextmanager
def write(engine: Engine) -> Iterator[Connection]:
    """A write transaction (``BEGIN IMMEDIATE`` on SQLite): commits on exit, rolls back on error."""
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction."""
    with engine.connect() as conn:
        with conn.begin():
            yield conn


def current_version(engine: Engine) -> int:
    """The highest applied migration (0 for an empty database)."""
    if not sa.inspect(engine).has_table("schema_version"):
        return 0
    with read(engine) as conn:
        v = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    return int(v or 0)


def migrate(engine: Engine) -> list[int]:
    """Apply the missing migration steps in order; returns the versions applied (maybe none)."""
    with write(engine) as conn:
        schema_version.create(conn, checkfirst=True)
    have = current_version(engine)
    if have > LATEST_VERSION:
        raise StudyDatabaseError(
            f"{engine.url.render_as_string(hide_password=True)}: schema version {have} is newer "
            f"than this facebench ({LATEST_VERSION}); upgrade facebench"
        )
    done: list[int] = []
    for version, description, step in MIGRATIONS:
        if version <= have:
            continue
        with write(engine) as conn:
            step(conn)
            conn.execute(
                schema_version.insert().values(
                    version=version, description=description, applied_at=now()
                )
            )
        done.append(version)
    return done


def open_study_db(target: str | Path) -> Engine:
    """Open an existing study database, migrating it to the latest schema.

    Raises :class:`StudyDatabaseError` when there is no study in it.
    """
    engine = make_engine(target)
    migrate(engine)
    with read(engine) as conn:
        has = conn.execute(sa.select(study_meta.c.value).where(study_meta.c.key == "name")).first()
    if has is None:
        raise StudyDatabaseError(
            f"{engine.url.render_as_string(hide_password=True)}: holds no study "
            "(run `facebench study create`)"
        )
    return engine
