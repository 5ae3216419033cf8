"""``facebench edit``: change the expression of a face in a photo, one image or a series.

Everything is checked before anything is written (expression names, alphas, blend string, the
image, the face); images are written under temporary names and renamed when complete, so an
error never leaves a half-written output. Errors are one line on stderr with a non-zero status.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

_EPILOG = """\
expressions: happy sad angry fear surprised disgust confused contempt confident shy sleepy anxious

examples:
  facebench edit photo.jpg --expression happy --intensity 0.7 -o out/
  facebench edit photo.jpg --expression surprised --sweep 0,0.25,...,1.5 -o out/
  facebench edit photo.jpg --expression happy --intensity 0.5 --blend surprised=0.5 -o out/
  facebench edit group.jpg --expression sad --all-faces -o out/

alpha: 0 <= alpha <= 3. For the offline editor alpha = 0 returns the photo unchanged, 1 is the full
expression and values above 1 exaggerate it. With --sweep, every weight (--intensity and --blend)
is multiplied by each sweep value; '...' continues the step of the two values before it.
Output: one PNG per edit (<image>_f<face>_<weights>.png), a contact sheet <image>_sheet.png and
edits.csv (one row per written image). Exit status: 0 ok, 1 no face / unreadable image, 2 bad
arguments.
"""

_SLUG = re.compile(r"[^A-Za-z0-9.+-]+")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``edit`` subcommand."""
    p = subparsers.add_parser(
        "edit",
        help="change a face's expression with a continuous intensity (offline, CPU)",
        description="Edit the expression of the largest face (or the chosen faces) of IMAGE and "
        "write the results plus a labelled contact sheet to OUTDIR.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("image", metavar="IMAGE", help="photo to edit")
    p.add_argument("--expression", "-e", help="target expression (one of the 12 listed below)")
    p.add_argument("--intensity", "-a", type=float, default=None, metavar="ALPHA",
                   help="intensity of --expression (default 1.0)")
    p.add_argument("--blend", metavar="NAME=ALPHA,...",
                   help="more expressions mixed in, e.g. 'sad=0.3' or 'happy=0.5,surprised=0.5'")
    p.add_argument("--sweep", metavar="A,B,...",
                   help="a series of multipliers, e.g. '0,0.25,...,1.5' (one image each)")
    faces = p.add_mutually_exclusive_group()
    faces.add_argument("--face-index", type=int, default=None, metavar="N",
                       help="edit the N-th largest face (0 = largest, the default)")
    faces.add_argument("--all-faces", action="store_true", help="edit every face found")
    p.add_argument("--editor", default="offline", help="registered editor name (default: offline)")
    p.add_argument("-o", "--outdir", required=True, metavar="OUTDIR", help="folder for the results")
    p.add_argument("--cell", type=int, default=256, metavar="PX",
                   help="width of one contact-sheet cell in pixels (default 256)")
    p.set_defaults(func=run)


def parse_sweep(text: str) -> list[float]:
    """``"0,0.25,...,1"`` -> ``[0, 0.25, 0.5, 0.75, 1]``; a plain list is returned as is.

    Raises ``ValueError`` (one line) for an item that is not a number or a '...' that cannot
    be continued."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"empty --sweep {text!r}; expected e.g. '0,0.5,1'")
    out: list[float] = []
    i = 0
    while i < len(items):
        t = items[i]
        if t in ("...", "\u2026"):
            if len(out) < 2 or i + 1 >= len(items):
                raise ValueError(f"'...' in --sweep {text!r} needs two values before it and one after")
            step = out[-1] - out[-2]
            end = _number(items[i + 1], text)
            if step <= 0 or end < out[-1]:
                raise ValueError(f"'...' in --sweep {text!r} needs increasing values")
            k = 1
            while out[-1] + step * 1.0000001 < end + 1e-12 and k < 10000:
                out.append(round(out[-1] + step, 10))
                k += 1
            if abs(out[-1] - end) > 1e-9:
                out.append(end)
            i += 2
            continue
        out.append(_number(t, text))
        i += 1
    return out


def _number(t: str, text: str) -> float:
    try:
        return float(t)
    except ValueError:
        raise ValueError(f"{t!r} in --sweep {text!r} is not a number") from None


def _slug(label: str) -> str:
    return _SLUG.sub("-", label.replace("=", "")).strip("-")


def _controls(args: argparse.Namespace) -> tuple[Any, list[float] | None]:
    """The control at multiplier 1 and the sweep multipliers (None without --sweep)."""
    from .base import ExpressionControl

    if not args.expression and not args.blend:
        raise ValueError("give --expression NAME (and optionally --intensity, --blend) or --blend")
    weights: list[tuple[str, float]] = []
    if args.expression:
        weights.append((args.expression, 1.0 if args.intensity is None else args.intensity))
    elif args.intensity is not None:
        raise ValueError("--intensity needs --expression")
    if args.blend:
        weights.extend(ExpressionControl.parse_blend(args.blend).weights)
    base = ExpressionControl.blend(weights)
    if not args.sweep:
        return base, None
    values = parse_sweep(args.sweep)
    for v in values:
        base.scaled(v)  # validates every alpha before any work is done
    return base, values


def _write_png_atomic(img: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        img.save(tmp, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def run(args: argparse.Namespace) -> int:
    """Entry point of ``facebench edit``; returns the exit status."""
    from ..base.imageio import ImageError, load_image

    def fail(msg: str, code: int) -> int:
        print(f"facebench edit: {msg}", file=sys.stderr)
        return code

    try:
        base, values = _controls(args)
        if args.cell < 32:
            raise ValueError(f"--cell {args.cell} is too small (at least 32)")
        from .base import get_editor

        editor = get_editor(args.editor)
    except (ValueError, KeyError) as exc:
        return fail(str(exc), 2)
    try:
        image = load_image(args.image)
    except ImageError as exc:
        return fail(str(exc), 1)
    from .base import NoFaceError

    try:
        outputs, boxes = _edit_all(editor, image, base, values, args)
    except NoFaceError as exc:
        return fail(str(exc) if exc.source == str(args.image) else f"{args.image}: {exc}", 1)
    except ValueError as exc:  # e.g. an alpha above this editor's own range
        return fail(f"{args.image}: {exc}", 2)
    return _write(args, image, outputs, boxes)


def _edit_all(editor: Any, image: Any, base: Any, values: list[float] | None, args: argparse.Namespace):
    """Run every edit in memory: [(control, face indices, image, infos)], face boxes."""
    from ..face import analyze
    from .base import NoFaceError

    faces = analyze(image, parts=("detection", "mesh", "mask"))
    if not faces:
        raise NoFaceError(str(args.image))
    if args.all_faces:
        chosen = list(range(len(faces)))
    else:
        idx = 0 if args.face_index is None else args.face_index
        if not 0 <= idx < len(faces):
            raise NoFaceError(str(args.image), f"--face-index {idx} is out of range: {len(faces)} face(s) found "
                              f"(0..{len(faces) - 1})")
        chosen = [idx]
    # several faces: edit them one after the other into the same picture
    series: list[list[Any]] = []
    current = [image] * (len(values) if values else 1)
    for i in chosen:
        if values is None:
            res = [editor.edit(current[0], base, face=faces[i])]
        elif len(chosen) == 1:  # the editor shares its set-up over the sweep
            res = editor.sweep(image, base, values, face=faces[i])
        else:
            res = [editor.edit(cur, base.scaled(v), face=faces[i]) for cur, v in zip(current, values)]
        current = [r.image for r in res]
        series.append(res)
    results = []
    for k, img in enumerate(current):
        infos = [s[k].info for s in series]
        results.append((series[0][k].control, chosen, img, infos))
    boxes = [faces[i].detection.box for i in chosen]
    return results, boxes


def _write(args: argparse.Namespace, image: Any, results: list, boxes: list) -> int:
    from PIL import Image

    from .sheet import contact_sheet, face_crop_box

    out = Path(args.outdir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"facebench edit: {out}: cannot create the output folder ({exc.strerror or exc})", file=sys.stderr)
        return 1
    stem = Path(args.image).stem
    rows = []
    for control, chosen, img, infos in results:
        faces_tag = "all" if args.all_faces else str(chosen[0])
        path = out / f"{stem}_f{faces_tag}_{_slug(control.label())}.png"
        _write_png_atomic(Image.fromarray(img), path)
        rows.append({"file": path.name, "faces": " ".join(map(str, chosen)), "weights": control.label(),
                     "editor": args.editor,
                     "clamped_vertices": sum(int(i.get("clamped_vertices", 0)) for i in infos)})
    crop = face_crop_box(boxes, image.shape[:2])
    sheet = contact_sheet([image] + [r[2] for r in results], ["input"] + [r[0].label() for r in results],
                          crop=crop, cell=args.cell, title=f"{Path(args.image).name} - editor {args.editor}")
    sheet_path = out / f"{stem}_sheet.png"
    _write_png_atomic(sheet, sheet_path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=out)
    with os.fdopen(fd, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, out / "edits.csv")
    print(f"wrote {len(rows)} image(s), {sheet_path} and {out / 'edits.csv'}")
    return 0
