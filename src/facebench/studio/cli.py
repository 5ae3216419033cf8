"""``facebench studio [PHOTO_OR_FOLDER]``: edit expressions live in the browser (see :mod:`.app`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..base.cli import add_out
from ..base.registry import parse_options

if TYPE_CHECKING:  # the command imports nothing heavy until it runs
    from .photos import Photos


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``facebench studio``."""
    p = sub.add_parser(
        "studio",
        help="edit facial expressions live in the browser, with the judge and identity beside the picture",
        description=(
            "A local web app: open a photo (the bundled samples, a folder's images or an upload), "
            "pick a face, drag one slider per expression (blends mix), and read what facebench's "
            "instruments say about the edit: the judge's scores, the identity score against the "
            "source, the sweep strip. Downloads carry the controls (PNG metadata + JSON); every "
            "request is logged so a session can be replayed (--replay)."),
    )
    p.add_argument("photos", nargs="?", help="a photo or a folder of photos (default: the bundled samples); "
                   "nothing outside it is served")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, local only)")
    p.add_argument("--port", type=int, default=8770, help="port (0 = any free port; default: %(default)s)")
    p.add_argument("--threads", type=int, default=8, help="server threads (default: %(default)s)")
    p.add_argument("--editor", default="offline", help="editor from the registry: offline (live, default) "
                   "or pixelsmile (queued; needs --editor-opt model=PATH)")
    p.add_argument("--editor-opt", action="append", metavar="KEY=VALUE",
                   help="editor option, e.g. model=/models/qwen-edit lora=pixelsmile.safetensors (repeatable)")
    p.add_argument("--judge", default="offline", help="judge from the registry (default: %(default)s)")
    p.add_argument("--judge-opt", action="append", metavar="KEY=VALUE", help="judge option (repeatable)")
    p.add_argument("--max-side", type=int, default=1024, help="working size: long side in pixels (default: %(default)s)")
    p.add_argument("--max-pixels", type=int, default=40_000_000,
                   help="refuse images with more pixels (default: %(default)s)")
    p.add_argument("--max-upload-mb", type=float, default=32.0, help="upload size limit (default: %(default)s)")
    p.add_argument("--log", type=Path, default=Path("facebench-studio.jsonl"),
                   help="request log, JSON lines (default: %(default)s); uploads are kept in LOG.uploads/")
    p.add_argument("--no-log", action="store_true", help="keep no request log")
    p.add_argument("--replay", type=Path, metavar="LOG", help="instead of serving, render a log's edits again into --out")
    add_out(p, "folder for --replay (default: %(default)s)", default=Path("studio-replay"))
    p.set_defaults(func=_run)


def _photos(args: argparse.Namespace) -> "tuple[Photos, str | None]":
    """The photo source for the positional argument, and the ref to open first (one photo)."""
    from .photos import Photos


    kw = {"max_pixels": args.max_pixels, "max_side": args.max_side}
    if args.photos is None:
        return Photos(None, **kw), None
    path = Path(args.photos)
    if path.is_dir():
        return Photos(path, **kw), None
    if path.is_file():
        return Photos(path.parent, only=path, **kw), f"file:{path.name}"
    raise ValueError(f"{args.photos}: no such photo or folder")


def _run(args: argparse.Namespace) -> int:
    from ..edit import get_editor
    from ..judges import get_judge
    from ..base.registry import UnknownNameError

    try:
        if args.max_side < 64 or args.max_pixels < 1 or args.max_upload_mb <= 0:
            raise ValueError("--max-side must be >= 64, --max-pixels and --max-upload-mb positive")
        photos, initial = _photos(args)
        editor = get_editor(args.editor, **parse_options(args.editor_opt, "--editor-opt"))
        if args.replay is not None:
            from .log import replay

            if not args.replay.is_file():
                raise ValueError(f"{args.replay}: no such log file")
            files = replay(args.replay, args.out, editor, photos)
            print(f"facebench studio: replayed {len(files)} edit(s) into {args.out}")
            return 0
        judge = get_judge(args.judge, **parse_options(args.judge_opt, "--judge-opt"))
    except (ValueError, TypeError, UnknownNameError, RuntimeError, OSError) as exc:
        print(f"facebench studio: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 2
    from ..study.server import serve_wsgi
    from .app import create_app
    from .log import RequestLog

    log = RequestLog(None if args.no_log else args.log)
    app = create_app(editor, photos, judge, log=log, editor_name=args.editor,
                     max_upload_mb=args.max_upload_mb, initial=initial)
    notes = [f"editor {args.editor}, judge {args.judge}; photos: {args.photos or 'bundled samples'}"]
    if log.path is not None:
        notes.append(f"request log {log.path}")
    serve_wsgi(app, name="facebench studio", host=args.host, port=args.port, threads=args.threads, notes=notes)
    return 0
