"""Study operations on the database: create a study, invite raters, serve items, record ratings.

Every function takes an engine from :mod:`facebench.study.db` and does its work in one transaction,
so a rating is committed (durably) before the rater's browser is told it was saved.

Rating policy: ratings are write-once. A rater submits all dimensions of an item at once; the
unique constraint on (rater, item, dimension) refuses a second submission of the same item
(double click, back button, two tabs) with :class:`AlreadyRated`, and nothing is overwritten.
Different raters never share a row, so concurrent raters cannot overwrite each other.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import random
import secrets
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import db
from .definition import Dimension, RaterSpec, StudyDefinition, file_sha256, validate_score
from ..base.errors import UserError

_UNKNOWN_LINK = ("unknown invite link: check that the whole link was copied, or ask the study "
                 "organiser for yours")


#: Largest id a database integer column holds (signed 64 bits); larger ids cannot exist.
MAX_ID = 2**63 - 1


class StudyError(UserError, ValueError):
    """A request the study refuses; ``status`` is the HTTP status the web app answers with."""

    status = 400


class NotFound(StudyError):
    """Unknown token or an item that is not in the rater's assignment."""

    status = 404


class AlreadyRated(StudyError):
    """The item was already rated by this rater (ratings are write-once)."""

    status = 409


class ImageChanged(StudyError):
    """An image file differs from the one hashed when the study was created (or is gone)."""

    status = 410


class WrongPhase(StudyError):
    """E.g. a main item before the tutorial and practice are finished."""

    status = 409


@dataclass(frozen=True)
class Invite:
    """A rater's invitation: the token is shown once (only its hash is stored)."""

    rater_id: int
    name: str
    group: str
    token: str

    def link(self, base_url: str) -> str:
        """The personal link for a server at ``base_url`` (e.g. ``http://127.0.0.1:8765``)."""
        return f"{base_url.rstrip('/')}/r/{self.token}"


@dataclass(frozen=True)
class Rater:
    """A rater as the web app sees it."""

    id: int
    name: str
    group_id: int
    group: str
    tutorial_done: bool


@dataclass(frozen=True)
class Task:
    """The next thing a rater has to rate: an item with its phase and presentation position."""

    item_id: int
    phase: str
    position: int
    done: int
    total: int
    prompt: str | None
    has_reference: bool
    has_ground_truth: bool


def token_hash(token: str) -> str:
    """SHA-256 (hex) of an invite token or admin secret: what the database stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """An unguessable invite token (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


# ---------------------------------------------------------------------------------------- create


def create_study(
    engine: Engine,
    study: StudyDefinition,
    *,
    admin_secret: str | None = None,
    progress: bool = False,
) -> tuple[str, list[Invite]]:
    """Write a study (dimensions, groups, items with file hashes) into an empty database.

    Invites the study's raters (:func:`add_raters`). Returns ``(admin_secret, invites)``; both
    are shown once: the database keeps only their SHA-256. Raises :class:`StudyError` when the
    database already holds a study. ``progress`` shows a bar while image files are hashed.
    """
    from tqdm import tqdm

    db.migrate(engine)
    secret = admin_secret or secrets.token_urlsafe(24)
    with db.write(engine) as conn:
        if conn.execute(sa.select(db.study_meta.c.key).limit(1)).first() is not None:
            raise StudyError(f"{engine.url.render_as_string(hide_password=True)}: already holds a study")
        meta = {
            "name": study.name,
            "seed": str(study.seed),
            "instructions": study.instructions,
            "definition": study.to_json(),
            "source": study.source,
            "admin_sha256": token_hash(secret),
            "created_at": db.now().isoformat(),
        }
        conn.execute(db.study_meta.insert(), [{"key": k, "value": v} for k, v in meta.items()])
        conn.execute(
            db.dimensions.insert(),
            [
                {"name": d.name, "position": i, "label": d.label, "description": d.description,
                 "stimulus": d.stimulus, "show_prompt": d.show_prompt}
                for i, d in enumerate(study.dimensions)
            ],
        )
        gid: dict[str, int] = {}
        for g in study.groups:
            gid[g] = conn.execute(db.groups.insert().values(name=g)).inserted_primary_key[0]
        rows: list[dict[str, Any]] = []
        parts = [("tutorial", None, study.tutorial), ("practice", None, study.practice)]
        parts += [("main", gid[g], its) for g, its in study.groups.items()]
        bar = tqdm(total=sum(len(p[2]) for p in parts), desc="hashing images", unit="item",
                   disable=not progress)
        for phase, group_id, its in parts:
            for pos, it in enumerate(its):
                bar.update()
                rows.append(
                    {
                        "key": it.key, "phase": phase, "group_id": group_id, "position": pos,
                        "image_path": str(it.image), "image_sha256": file_sha256(it.image),
                        "reference_path": str(it.reference) if it.reference else None,
                        "reference_sha256": file_sha256(it.reference) if it.reference else None,
                        "ground_truth_path": str(it.ground_truth) if it.ground_truth else None,
                        "ground_truth_sha256": (
                            file_sha256(it.ground_truth) if it.ground_truth else None
                        ),
                        "prompt": it.prompt, "note": it.note,
                        "expert_scores": json.dumps(it.scores) if it.scores else None,
                    }
                )
        bar.close()
        if rows:
            conn.execute(db.items.insert(), rows)
    return secret, add_raters(engine, study.raters)


def _group_ids(conn: Connection) -> dict[str, int]:
    return {r.name: r.id for r in conn.execute(sa.select(db.groups.c.name, db.groups.c.id))}


def add_raters(engine: Engine, specs: tuple[RaterSpec, ...] | list[RaterSpec]) -> list[Invite]:
    """Invite raters: each gets a token and a group (the given one, else the least-staffed group,
    ties broken by group order), plus a presentation order of the practice items and of their
    group's items shuffled with ``random.Random(f"{seed}:{rater_id}:{phase}")`` and stored.
    """
    invites: list[Invite] = []
    with db.write(engine) as conn:
        seed = _meta(conn, "seed")
        gids = _group_ids(conn)
        if not gids:
            raise StudyError("the database holds no study groups (run `facebench study create`)")
        counts = {g: 0 for g in gids}
        for name, n in conn.execute(
            sa.select(db.groups.c.name, sa.func.count(db.raters.c.id))
            .select_from(db.groups.outerjoin(db.raters, db.raters.c.group_id == db.groups.c.id))
            .group_by(db.groups.c.name)
        ):
            counts[name] = int(n)
        practice = [
            r.id for r in conn.execute(
                sa.select(db.items.c.id).where(db.items.c.phase == "practice")
                .order_by(db.items.c.position)
            )
        ]
        taken = {r.name for r in conn.execute(sa.select(db.raters.c.name))}
        for spec in specs:
            if spec.name in taken:
                raise StudyError(f"rater {spec.name!r} already exists")
            if spec.group is not None and spec.group not in gids:
                raise StudyError(f"rater {spec.name!r}: no group {spec.group!r} (have {list(gids)})")
            group = spec.group or min(gids, key=lambda g: (counts[g], list(gids).index(g)))
            counts[group] += 1
            token = new_token()
            rid = conn.execute(
                db.raters.insert().values(
                    name=spec.name, token_sha256=token_hash(token), group_id=gids[group],
                    created_at=db.now(),
                )
            ).inserted_primary_key[0]
            main = [
                r.id for r in conn.execute(
                    sa.select(db.items.c.id)
                    .where(db.items.c.phase == "main", db.items.c.group_id == gids[group])
                    .order_by(db.items.c.position)
                )
            ]
            rows = []
            for phase, ids in (("practice", practice), ("main", main)):
                order = list(ids)
                random.Random(f"{seed}:{rid}:{phase}").shuffle(order)
                rows += [
                    {"rater_id": rid, "item_id": i, "phase": phase, "position": p}
                    for p, i in enumerate(order)
                ]
            if rows:
                conn.execute(db.assignments.insert(), rows)
            taken.add(spec.name)
            invites.append(Invite(rid, spec.name, group, token))
    return invites


# ------------------------------------------------------------------------------------------ read


def _meta(conn: Connection, key: str) -> str:
    v = conn.execute(sa.select(db.study_meta.c.value).where(db.study_meta.c.key == key)).scalar()
    if v is None:
        raise StudyError(f"study setting {key!r} missing: not a study database")
    return str(v)


def study_info(engine: Engine) -> dict[str, str]:
    """Study-wide settings: name, seed, instructions, definition, created_at, source."""
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(db.study_meta.c.key, db.study_meta.c.value)).all()
    return {k: v for k, v in rows if k != "admin_sha256"}


def admin_hash(engine: Engine) -> str:
    """The stored SHA-256 of the admin secret."""
    with db.read(engine) as conn:
        return _meta(conn, "admin_sha256")


def check_admin(engine: Engine, secret: str | None) -> bool:
    """Whether ``secret`` is the study's admin secret (constant-time comparison)."""
    if not secret:
        return False
    return hmac.compare_digest(admin_hash(engine), token_hash(secret))


def study_dimensions(engine: Engine) -> list[Dimension]:
    """The study's dimensions in slider order."""
    with db.read(engine) as conn:
        rows = conn.execute(sa.select(db.dimensions).order_by(db.dimensions.c.position)).all()
    return [Dimension(r.name, r.label, r.description, r.stimulus, bool(r.show_prompt)) for r in rows]


def rater_by_token(engine: Engine, token: str) -> Rater:
    """The rater holding ``token``; raises :class:`NotFound` for any other string."""
    if not token or len(token) > 200:
        raise NotFound(_UNKNOWN_LINK)
    with db.read(engine) as conn:
        r = conn.execute(
            sa.select(db.raters.c.id, db.raters.c.name, db.raters.c.group_id,
                      db.groups.c.name.label("group"), db.raters.c.tutorial_done_at)
            .select_from(db.raters.join(db.groups))
            .where(db.raters.c.token_sha256 == token_hash(token))
        ).first()
    if r is None:
        raise NotFound(_UNKNOWN_LINK)
    return Rater(r.id, r.name, r.group_id, r.group, r.tutorial_done_at is not None)


def tutorial_items(engine: Engine) -> list[dict[str, Any]]:
    """Tutorial examples in file order, each with id, prompt, note, expert scores and companions."""
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(db.items).where(db.items.c.phase == "tutorial").order_by(db.items.c.position)
        ).all()
    return [
        {
            "id": r.id, "prompt": r.prompt, "note": r.note,
            "scores": json.loads(r.expert_scores) if r.expert_scores else {},
            "has_reference": r.reference_path is not None,
            "has_ground_truth": r.ground_truth_path is not None,
        }
        for r in rows
    ]


def finish_tutorial(engine: Engine, rater: Rater) -> None:
    """Record that the rater has read the tutorial (idempotent)."""
    with db.write(engine) as conn:
        conn.execute(
            db.raters.update()
            .where(db.raters.c.id == rater.id, db.raters.c.tutorial_done_at.is_(None))
            .values(tutorial_done_at=db.now(), last_seen_at=db.now())
        )


def _rated_items(rater_id: int) -> sa.Select:
    return sa.select(db.ratings.c.item_id).where(db.ratings.c.rater_id == rater_id).distinct()


def phase_counts(engine: Engine, rater: Rater) -> dict[str, tuple[int, int]]:
    """``{phase: (rated, assigned)}`` for practice and main."""
    with db.read(engine) as conn:
        return _phase_counts(conn, rater.id)


def _phase_counts(conn: Connection, rater_id: int) -> dict[str, tuple[int, int]]:
    a = db.assignments
    rated = _rated_items(rater_id).subquery()
    out = {"practice": (0, 0), "main": (0, 0)}
    for phase, total, done in conn.execute(
        sa.select(a.c.phase, sa.func.count(), sa.func.count(rated.c.item_id))
        .select_from(a.outerjoin(rated, rated.c.item_id == a.c.item_id))
        .where(a.c.rater_id == rater_id)
        .group_by(a.c.phase)
    ):
        out[phase] = (int(done), int(total))
    return out


def next_task(engine: Engine, rater: Rater) -> Task | None:
    """The first unrated item in the rater's stored order (practice before main), or None when
    everything is rated. The first time an item is shown its ``first_shown_at`` is recorded.
    """
    a, it = db.assignments, db.items
    with db.read(engine) as conn:
        rated = _rated_items(rater.id)
        row = conn.execute(
            sa.select(a.c.item_id, a.c.phase, a.c.position, a.c.first_shown_at, it.c.prompt,
                      it.c.reference_path, it.c.ground_truth_path)
            .select_from(a.join(it, it.c.id == a.c.item_id))
            .where(a.c.rater_id == rater.id, a.c.item_id.not_in(rated))
            .order_by(sa.case((a.c.phase == "practice", 0), else_=1), a.c.position)
            .limit(1)
        ).first()
        if row is None:
            return None
        done, total = _phase_counts(conn, rater.id)[row.phase]
    if row.first_shown_at is None:
        with db.write(engine) as conn:
            conn.execute(
                a.update()
                .where(a.c.rater_id == rater.id, a.c.item_id == row.item_id,
                       a.c.first_shown_at.is_(None))
                .values(first_shown_at=db.now())
            )
    return Task(row.item_id, row.phase, row.position, done, total, row.prompt,
                row.reference_path is not None, row.ground_truth_path is not None)


def item_image_path(engine: Engine, rater: Rater, item_id: int, role: str) -> tuple[str, str]:
    """``(path, sha256)`` of an image the rater may see: any tutorial item, or an item in their own
    assignment. ``role`` is ``image``, ``reference`` or ``ground_truth``. Raises :class:`NotFound`.
    """
    if role not in ("image", "reference", "ground_truth"):
        raise NotFound(f"no image role {role!r}")
    it, a = db.items, db.assignments
    with db.read(engine) as conn:
        row = conn.execute(
            sa.select(it.c[f"{role}_path"], it.c[f"{role}_sha256"], it.c.phase).where(it.c.id == item_id)
        ).first()
        if row is None or row[0] is None:
            raise NotFound(f"no image for item {item_id}")
        if row.phase != "tutorial":
            mine = conn.execute(
                sa.select(a.c.item_id).where(a.c.rater_id == rater.id, a.c.item_id == item_id)
            ).first()
            if mine is None:
                raise NotFound(f"item {item_id} is not in your assignment")
    return str(row[0]), str(row[1])


def expert_scores(engine: Engine, item_id: int) -> dict[str, float]:
    """Expert scores of a tutorial or practice item (empty when none were given)."""
    with db.read(engine) as conn:
        v = conn.execute(sa.select(db.items.c.expert_scores).where(db.items.c.id == item_id)).scalar()
    return json.loads(v) if v else {}


def rater_scores(engine: Engine, rater: Rater, item_id: int) -> dict[str, float]:
    """What the rater gave an item, per dimension."""
    with db.read(engine) as conn:
        rows = conn.execute(
            sa.select(db.ratings.c.dimension, db.ratings.c.score)
            .where(db.ratings.c.rater_id == rater.id, db.ratings.c.item_id == item_id)
        ).all()
    return {d: s for d, s in rows}


# ----------------------------------------------------------------------------------------- write


def submit_rating(
    engine: Engine,
    rater: Rater,
    item_id: Any,
    scores: Mapping[str, Any],
    *,
    elapsed_ms: Any = None,
    dimensions: list[str] | None = None,
) -> str:
    """Validate and store one item's scores (all dimensions, one transaction); returns its phase.

    Server-side checks: the item id is an integer in the rater's own assignment; the dimensions
    are exactly the study's; every score is a number in [0, 5] (rounded to 2 decimals); main items
    only after the tutorial and all practice items; each (rater, item, dimension) at most once.
    Raises :class:`StudyError` (400), :class:`NotFound` (404), :class:`AlreadyRated` or
    :class:`WrongPhase` (409). ``dimensions`` (the study's names, in order) saves a lookup.
    """
    try:
        iid = int(str(item_id)[:40])
    except ValueError:
        raise StudyError(f"item id {str(item_id)[:40]!r} is not an integer") from None
    if not 0 <= iid <= MAX_ID:
        raise StudyError(f"item id {iid} is out of range")
    dims = dimensions or [d.name for d in study_dimensions(engine)]
    extra = sorted(set(scores) - set(dims))
    if extra:
        raise StudyError(f"unknown dimension(s) {extra[:5]} (study rates {dims})")
    missing = [d for d in dims if d not in scores]
    if missing:
        raise StudyError(f"missing score(s) for {missing}")
    values = {}
    for d in dims:
        try:
            values[d] = validate_score(scores[d])
        except ValueError as exc:
            raise StudyError(f"{d}: {exc}") from None
    ms: int | None = None
    if elapsed_ms not in (None, ""):
        try:
            f = float(str(elapsed_ms)[:40])
        except ValueError:
            raise StudyError(f"elapsed_ms {str(elapsed_ms)[:40]!r} is not a number") from None
        if not math.isfinite(f):
            raise StudyError(f"elapsed_ms {str(elapsed_ms)[:40]!r} is not a finite number")
        ms = max(0, min(int(f), 7 * 24 * 3600 * 1000))
    a = db.assignments
    with db.write(engine) as conn:
        row = conn.execute(
            sa.select(a.c.phase, a.c.position, a.c.first_shown_at)
            .where(a.c.rater_id == rater.id, a.c.item_id == iid)
        ).first()
        if row is None:
            raise NotFound(f"item {iid} is not in your assignment")
        if row.phase == "main":
            tut = conn.execute(
                sa.select(db.raters.c.tutorial_done_at).where(db.raters.c.id == rater.id)
            ).scalar()
            done, total = _phase_counts(conn, rater.id)["practice"]
            if tut is None or done < total:
                raise WrongPhase("finish the tutorial and the practice items first")
        stamp = db.now()
        try:  # the unique constraint decides; on a clash the whole transaction rolls back
            conn.execute(
                db.ratings.insert(),
                [
                    {"rater_id": rater.id, "item_id": iid, "dimension": d, "score": v,
                     "phase": row.phase, "position": row.position,
                     "shown_at": row.first_shown_at, "submitted_at": stamp, "elapsed_ms": ms}
                    for d, v in values.items()
                ],
            )
        except sa.exc.IntegrityError:
            raise AlreadyRated(f"item {iid} is already rated (ratings cannot be changed)") from None
        conn.execute(db.raters.update().where(db.raters.c.id == rater.id).values(last_seen_at=stamp))
    return str(row.phase)


# -------------------------------------------------------------------------------------- progress


def progress(engine: Engine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Progress tables ``(per_rater, per_group)`` for the admin page and ``study status``.

    Per rater: name, group, tutorial done, practice and main items rated / assigned, last seen.
    Per group: items, raters, ratings done / expected (items x raters x dimensions), and the least
    number of raters that have finished any one item.
    """
    r, g, a, it = db.raters, db.groups, db.assignments, db.items
    with db.read(engine) as conn:
        n_dims = conn.execute(sa.select(sa.func.count()).select_from(db.dimensions)).scalar() or 0
        rated = (
            sa.select(db.ratings.c.rater_id, db.ratings.c.item_id)
            .distinct()
            .subquery()
        )
        counts = conn.execute(
            sa.select(a.c.rater_id, a.c.phase, sa.func.count(), sa.func.count(rated.c.item_id))
            .select_from(a.outerjoin(rated, sa.and_(rated.c.rater_id == a.c.rater_id,
                                                    rated.c.item_id == a.c.item_id)))
            .group_by(a.c.rater_id, a.c.phase)
        ).all()
        per: dict[tuple[int, str], tuple[int, int]] = {
            (rid, ph): (int(done), int(tot)) for rid, ph, tot, done in counts
        }
        raters_rows = conn.execute(
            sa.select(r.c.id, r.c.name, g.c.name.label("group"), r.c.tutorial_done_at,
                      r.c.last_seen_at)
            .select_from(r.join(g)).order_by(g.c.name, r.c.name)
        ).all()
        group_rows = conn.execute(
            sa.select(g.c.id, g.c.name, sa.func.count(it.c.id))
            .select_from(g.outerjoin(it, sa.and_(it.c.group_id == g.c.id, it.c.phase == "main")))
            .group_by(g.c.id, g.c.name).order_by(g.c.name)
        ).all()
        per_item = conn.execute(
            sa.select(it.c.group_id, it.c.id, sa.func.count(rated.c.rater_id))
            .select_from(it.outerjoin(rated, rated.c.item_id == it.c.id))
            .where(it.c.phase == "main")
            .group_by(it.c.group_id, it.c.id)
        ).all()
    raters_out = []
    for row in raters_rows:
        pd_, pt = per.get((row.id, "practice"), (0, 0))
        md, mt = per.get((row.id, "main"), (0, 0))
        raters_out.append(
            {
                "rater": row.name, "group": row.group, "tutorial": row.tutorial_done_at is not None,
                "practice_done": pd_, "practice_total": pt, "main_done": md, "main_total": mt,
                "finished": row.tutorial_done_at is not None and pd_ == pt and md == mt,
                "last_seen": db.as_utc(row.last_seen_at),
            }
        )
    groups_out = []
    for gid, name, n_items in group_rows:
        members = [x for x in raters_out if x["group"] == name]
        done = sum(x["main_done"] for x in members)
        cover = [c for grp, _iid, c in per_item if grp == gid]
        groups_out.append(
            {
                "group": name, "items": int(n_items), "raters": len(members),
                "finished_raters": sum(x["finished"] for x in members),
                "ratings_done": done * n_dims, "ratings_expected": int(n_items) * len(members) * n_dims,
                "min_raters_per_item": min(cover) if cover else 0,
            }
        )
    return raters_out, groups_out
