"""``facebench study create|invite|serve|status|export|loadtest``: run a subjective rating study."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

from ..base.cli import add_out
from ..base.errors import EXIT_BAD_INPUT

DB_HELP = (
    "study database: a SQLite file path (default: $FACEBENCH_STUDY_DB or study.db) or a "
    "postgresql://user:pass@host/db URL"
)


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=os.environ.get("FACEBENCH_STUDY_DB", "study.db"), help=DB_HELP)


def _rater_specs(values: list[str] | None):
    from .definition import RaterSpec

    out = []
    for v in values or []:
        name, _, group = v.partition(":")
        out.append(RaterSpec(name.strip(), group.strip() or None))
    return out


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``facebench study`` and its subcommands."""
    p = sub.add_parser(
        "study",
        help="run a subjective rating study (F-Bench protocol): create, serve, status, export",
        description=(
            "Subjective studies following F-Bench (sections 3.2-3.3, appendix B): raters open a "
            "personal link, read a tutorial, rate practice items, then rate their group of images "
            "in their own random order on 0-5 sliders (two decimals) per dimension. Ratings are "
            "stored in SQLite (WAL) or PostgreSQL; export gives raw ratings and MOS with BT.500 "
            "screening and confidence intervals."
        ),
    )
    s = p.add_subparsers(dest="study_command", metavar="STEP")

    c = s.add_parser("create", help="build the study database from a YAML/JSON study file and "
                     "print the invite links", description=(
                         "Validate the study file (see facebench.study.definition for the "
                         "format), write its items into a new database, invite the raters (from "
                         "the file, --raters or --rater) and print each rater's personal link "
                         "and the admin secret. Only hashes of tokens are stored: keep the output."))
    c.add_argument("study_file", help="study definition (.yaml, .yml or .json)")
    _db_arg(c)
    c.add_argument("--raters", type=int, help="invite this many raters named rater001...")
    c.add_argument("--rater", action="append", metavar="NAME[:GROUP]",
                   help="invite a named rater, optionally into a group (repeatable)")
    c.add_argument("--base-url", default="http://127.0.0.1:8765",
                   help="server address used in the printed links (default: %(default)s)")
    c.add_argument("--invites", type=Path, help="also write rater,group,token,link to this CSV")
    c.add_argument("--admin-secret", help="use this admin secret instead of a random one")
    c.set_defaults(func=_create)

    i = s.add_parser("invite", help="invite more raters to an existing study")
    _db_arg(i)
    i.add_argument("--rater", action="append", metavar="NAME[:GROUP]", required=True,
                   help="rater to invite, optionally into a group (repeatable)")
    i.add_argument("--base-url", default="http://127.0.0.1:8765", help="server address for links")
    i.add_argument("--invites", type=Path, help="also append the invites to this CSV")
    i.set_defaults(func=_invite)

    v = s.add_parser("serve", help="serve the rating web app", description=(
        "Serve the study with waitress. Raters open /r/<token>; the admin page is /admin. "
        "Bind to 0.0.0.0 to serve a lab network (put it behind HTTPS for anything public)."))
    _db_arg(v)
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    v.add_argument("--port", type=int, default=8765, help="port (0 = any free port; default: %(default)s)")
    v.add_argument("--threads", type=int, default=8, help="worker threads (default: %(default)s)")
    v.set_defaults(func=_serve)

    t = s.add_parser("status", help="progress per rater and per group")
    _db_arg(t)
    t.add_argument("--json", action="store_true", help="print JSON instead of tables")
    t.set_defaults(func=_status)

    e = s.add_parser("export", help="write raw ratings and MOS tables", description=(
        "Write ratings.<fmt> (one row per rater, item and dimension), mos.<fmt> (MOS per "
        "dimension and item via facebench.metrics.mos: BT.500 screening, z-scores rescaled to "
        "0-100, confidence intervals) and mos_wide.<fmt> (one row per item)."))
    _db_arg(e)
    add_out(e, "output folder", required=True)
    e.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="fmt")
    e.add_argument("--screening", default="bt500", help="rater screening (default: %(default)s; "
                   "'none' keeps everyone)")
    e.add_argument("--reject-share", type=float, default=0.0,
                   help="share of outlying ratings to drop (F-Bench: 0.03; default: %(default)s)")
    e.add_argument("--level", type=float, default=0.95, help="confidence level (default: %(default)s)")
    e.add_argument("--include-practice", action="store_true",
                   help="also list practice ratings in ratings.<fmt> (never in MOS)")
    e.set_defaults(func=_export)

    lt = s.add_parser("loadtest", help="concurrent raters + a server crash/restart on loopback",
                      description=(
                          "Simulated raters submit concurrently to a real server process, which is "
                          "SIGKILLed and restarted mid-run; then the database is checked for lost "
                          "or duplicated ratings and latency percentiles are printed."))
    lt.add_argument("--raters", type=int, default=50, help="simulated raters (default: %(default)s)")
    lt.add_argument("--seconds", type=float, default=30.0, help="seconds before the restart "
                    "(default: %(default)s)")
    lt.add_argument("--after", type=float, help="seconds after the restart (default: a third)")
    lt.add_argument("--db", help="an EMPTY database to use (default: a temporary SQLite file)")
    lt.set_defaults(func=_loadtest)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _print_invites(invites, base_url: str, csv_path: Path | None, *, append: bool = False) -> None:
    print(f"{'rater':<16} {'group':<10} link")
    for inv in invites:
        print(f"{inv.name:<16} {inv.group:<10} {inv.link(base_url)}")
    if csv_path:
        new = not (append and csv_path.exists())
        fd = os.open(csv_path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC),
                     0o600)
        with os.fdopen(fd, "w", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(["rater", "group", "token", "link"])
            for inv in invites:
                w.writerow([inv.name, inv.group, inv.token, inv.link(base_url)])
        print(f"invites written to {csv_path}")


def _fail(msg: str) -> int:
    """One line on stderr; exit status 2 (a bad study file, database or argument)."""
    print(f"facebench study: error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _create(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from . import db, store
    from .definition import RaterSpec, StudyDefinitionError, load_study

    try:
        study = load_study(args.study_file)
    except StudyDefinitionError as exc:
        return _fail(str(exc))
    if args.raters is not None or args.rater:
        specs = [RaterSpec(f"rater{k + 1:03d}") for k in range(args.raters or 0)]
        specs += _rater_specs(args.rater)
        study = replace(study, raters=tuple(specs))
    try:
        engine = db.make_engine(args.db, create=True)
        secret, invites = store.create_study(engine, study, admin_secret=args.admin_secret,
                                              progress=not args.no_progress)
    except (store.StudyError, db.StudyDatabaseError) as exc:
        return _fail(str(exc))
    n_items = sum(len(v) for v in study.groups.values())
    print(f"study {study.name!r}: {len(study.dimensions)} dimensions, {len(study.groups)} groups, "
          f"{n_items} items, {len(study.tutorial)} tutorial examples, {len(study.practice)} "
          f"practice items -> {engine.url.render_as_string(hide_password=True)}")
    print(f"admin secret (shown once): {secret}")
    _print_invites(invites, args.base_url, args.invites)
    engine.dispose()
    return 0


def _invite(args: argparse.Namespace) -> int:
    from . import db, store

    try:
        engine = db.open_study_db(args.db)
        invites = store.add_raters(engine, _rater_specs(args.rater))
    except (store.StudyError, db.StudyDatabaseError) as exc:
        return _fail(str(exc))
    _print_invites(invites, args.base_url, args.invites, append=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .db import StudyDatabaseError
    from .server import serve

    try:
        serve(args.db, host=args.host, port=args.port, threads=args.threads)
    except StudyDatabaseError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc})")
    return 0


def _status(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import db, store

    try:
        engine = db.open_study_db(args.db)
    except db.StudyDatabaseError as exc:
        return _fail(str(exc))
    per_rater, per_group = store.progress(engine)
    if args.json:
        for r in per_rater:
            r["last_seen"] = r["last_seen"].isoformat() if r["last_seen"] else None
        print(json.dumps({"raters": per_rater, "groups": per_group}, indent=1))
        return 0
    print(f"study {store.study_info(engine)['name']!r}")
    print(pd.DataFrame(per_group).to_string(index=False) if per_group else "no groups")
    print()
    print(pd.DataFrame(per_rater).to_string(index=False) if per_rater else "no raters invited yet")
    return 0


def _export(args: argparse.Namespace) -> int:
    from . import db
    from .export import export_study

    try:
        engine = db.open_study_db(args.db)
        paths = export_study(engine, args.out, fmt=args.fmt, screening=args.screening,
                             reject_share=args.reject_share, level=args.level,
                             include_practice=args.include_practice)
    except (db.StudyDatabaseError, ValueError) as exc:
        return _fail(str(exc))
    for name, path in paths.items():
        print(f"{name:<9} {path}")
    if "mos" not in paths:
        print("no main-phase ratings yet: MOS not written")
    return 0


def _loadtest(args: argparse.Namespace) -> int:
    from .loadtest import run_loadtest

    res = run_loadtest(raters=args.raters, seconds=args.seconds, after_seconds=args.after,
                       target=args.db)
    ok = res.lost == 0 and res.duplicated == 0 and res.replays_accepted == 0
    print("OK: nothing lost or duplicated" if ok else "FAILED: ratings lost or duplicated")
    return 0 if ok else 1
